// Derivations as `nix derivation show` prints them, in every shape a Nix has printed (test/
// fixtures/nix-versions/ holds each, naming its version and source):
// - Nix up to 2.31 and Lix: an object keyed by full `.drv` path; outputs `{path}` with full paths
//   (`nix show-derivation` before 2.15; from 2.15 entries also carry `name`);
// - Nix 2.32: keyed by base name, entries with `version: 3`, output paths as base names and
//   fixed outputs without a path (`hash` in hex beside `hashAlgo`);
// - Nix 2.33+ (derivation JSON version 4): `{version: 4, derivations: {<base name>: ...}}`, inputs
//   under `inputs`, fixed outputs' `hash` in SRI form (rl-2.33 "Derivation JSON format changes").
// nixcache's own evaluation (eval-targets.nix) already knows each target's outputs; this is for
// derivations it did not evaluate itself.
import { z } from "zod";
import { parseHash } from "../nix/hash.js";
import { DEFAULT_STORE_DIR, makeFixedOutputPath, parseStorePath } from "../nix/store-path.js";
import { NixcacheError } from "../util/errors.js";
import { nixVersion, runNixForms } from "./nix-command.js";
import { derivationShowForms } from "./nix-version.js";

export interface DerivationInfo {
  /** Full path of the `.drv`. */
  path: string;
  name: string;
  system: string;
  /** Output name → full store path; null when only the build decides (floating CA, deferred). */
  outputs: Record<string, string | null>;
}

export class DerivationShowError extends NixcacheError {
  constructor(message: string) {
    super("invalid", message);
  }
}

const outputSchema = z.object({
  path: z.string().optional(),
  hash: z.string().optional(),
  hashAlgo: z.string().optional(),
  method: z.string().optional(),
});

const drvSchema = z.object({
  name: z.string().optional(),
  system: z.string(),
  outputs: z.record(z.string(), outputSchema),
  env: z.record(z.string(), z.string()).optional(),
  version: z.number().int().optional(),
});

type Drv = z.infer<typeof drvSchema>;

const keyed = z.record(z.string(), drvSchema);
const wrapped = z.object({ version: z.number().int(), derivations: keyed });

export type DerivationShowShape = "keyed-by-path" | "keyed-by-base-name" | "wrapped";

/** Parses `nix derivation show` / `nix show-derivation` output of any version (pure). */
export function parseDerivationShowJson(
  text: string,
  storeDir = DEFAULT_STORE_DIR,
): { derivations: DerivationInfo[]; shape: DerivationShowShape } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DerivationShowError(`nix derivation show printed invalid JSON: ${(e as Error).message}`);
  }
  const fail = (error: z.ZodError) =>
    new DerivationShowError(`unexpected nix derivation show JSON: ${z.prettifyError(error)}`);
  let entries: Array<[string, Drv]>;
  let shape: DerivationShowShape;
  if (json !== null && typeof json === "object" && "derivations" in json && "version" in json) {
    const r = wrapped.safeParse(json);
    if (!r.success) throw fail(r.error);
    if (r.data.version < 4)
      throw new DerivationShowError(`unexpected derivation JSON version ${r.data.version}`);
    shape = "wrapped";
    entries = Object.entries(r.data.derivations);
  } else {
    const r = keyed.safeParse(json);
    if (!r.success) throw fail(r.error);
    entries = Object.entries(r.data);
    shape = entries.every(([k]) => k.startsWith("/")) ? "keyed-by-path" : "keyed-by-base-name";
  }
  const full = (p: string) => parseStorePath(p.startsWith("/") ? p : `${storeDir}/${p}`, storeDir);
  const derivations = entries.map(([key, d]): DerivationInfo => {
    const drv = full(key);
    const name = d.name ?? d.env?.name ?? drv.name.replace(/\.drv$/, "");
    const outputs: Record<string, string | null> = {};
    for (const [out, o] of Object.entries(d.outputs)) outputs[out] = outputPath(name, out, o, storeDir, full);
    return { path: drv.path, name, system: d.system, outputs };
  });
  return { derivations, shape };
}

function outputPath(
  name: string,
  output: string,
  o: z.infer<typeof outputSchema>,
  storeDir: string,
  full: (p: string) => { path: string },
): string | null {
  if (o.path) return full(o.path).path;
  // A fixed output (2.32+ leave its path out): computed as Nix computes it. Before 2.24 the
  // method was a prefix of hashAlgo ("r:sha256" for NAR, "sha256" for flat).
  if (o.hash === undefined) return null;
  const algo = o.hashAlgo?.replace(/^r:/, "");
  const method = o.method ?? (o.hashAlgo?.startsWith("r:") ? "nar" : "flat");
  if (method !== "nar" && method !== "flat") return null;
  const hash = parseHash(o.hash, algo as Parameters<typeof parseHash>[1]);
  return makeFixedOutputPath(
    { recursive: method === "nar", hash, name: output === "out" ? name : `${name}-${output}` },
    storeDir,
  ).path;
}

/** The derivations at `drvPaths` (`.drv` store paths), as the local Nix reads them. */
export async function showDerivations(
  drvPaths: readonly string[],
  storeDir = DEFAULT_STORE_DIR,
): Promise<DerivationInfo[]> {
  if (drvPaths.length === 0) return [];
  const { out } = await runNixForms(derivationShowForms(await nixVersion()), ["--", ...drvPaths]);
  return parseDerivationShowJson(out, storeDir).derivations;
}
