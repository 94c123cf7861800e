// A flake's `nixConfig`: the settings Nix offers to apply when the flake is used.
//
// `nixConfig` is not an output, so `nix eval FLAKE#...` cannot reach it, and `builtins.getFlake`
// returns the outputs (plus sourceInfo), not the flake's top-level attribute set. What works alike
// on Nix 2.8 and every newer Nix (and Lix) is to import `flake.nix` as the plain Nix file it is and
// take `.nixConfig`: evaluation is lazy, so `inputs` and `outputs` are never forced (no input is
// fetched, no lock file is read). That needs `--impure` to import a path outside the store. A
// remote flake's `flake.nix` is first read through `builtins.getFlake` (readFlakeFile) and imported
// from a private temporary copy.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { evalImpureJson, readFlakeFile } from "./flake-eval.js";
import { FlakeEvalError, type FlakeSource } from "./flake-ref.js";
import { listOf } from "./nix-config.js";

export interface FlakeNixConfig {
  /** The local `flake.nix` (absolute), or null for a remote flake. */
  file: string | null;
  /** The text of `flake.nix`, for pointing at the lines to edit. */
  text: string;
  substituters: string[];
  extraSubstituters: string[];
  trustedPublicKeys: string[];
  extraTrustedPublicKeys: string[];
  /** Every `nixConfig` setting as Nix evaluated it. */
  raw: Record<string, unknown>;
}

const EXPR = 'let f = import (/. + builtins.getEnv "NIXCACHE_FLAKE_NIX"); in f.nixConfig or {}';

/** Evaluates `flake.nix`'s `nixConfig` with the real Nix (nothing else of the flake is evaluated). */
export async function readFlakeNixConfig(flake: FlakeSource): Promise<FlakeNixConfig> {
  let file: string | null = null;
  let text: string;
  let tmp: string | undefined;
  if (flake.localDir !== undefined) {
    file = path.join(flake.localDir, "flake.nix");
    text = await readFile(file, "utf8");
  } else {
    const remote = await readFlakeFile(flake, "flake.nix");
    if (remote === null) throw new FlakeEvalError(`flake ${flake.input} has no flake.nix`);
    text = remote;
    tmp = await mkdtemp(path.join(tmpdir(), "nixcache-flake-"));
    await writeFile(path.join(tmp, "flake.nix"), text, { mode: 0o600 });
  }
  try {
    const evaluated = file ?? path.join(tmp as string, "flake.nix");
    const raw = await evalImpureJson(
      EXPR,
      { NIXCACHE_FLAKE_NIX: evaluated },
      (why) => new FlakeEvalError(`cannot evaluate nixConfig of ${flake.input}: ${why}`),
    );
    if (raw === null || typeof raw !== "object" || Array.isArray(raw))
      throw new FlakeEvalError(`nixConfig of ${flake.input} is not an attribute set`);
    const r = raw as Record<string, unknown>;
    return {
      file,
      text,
      substituters: listOf(r.substituters),
      extraSubstituters: listOf(r["extra-substituters"]),
      trustedPublicKeys: listOf(r["trusted-public-keys"]),
      extraTrustedPublicKeys: listOf(r["extra-trusted-public-keys"]),
      raw: r,
    };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
