// Flake references: what the user typed, turned into what `builtins.getFlake` takes (local paths
// resolved like the `nix` CLI does), and their `?dir=` subdirectory. No evaluation here.
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { NixcacheError } from "../util/errors.js";

/** A flake that cannot be read: a bad reference, a missing directory, or an evaluation error. */
export class FlakeEvalError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", message, options);
  }
}

/** A flake reference ready for `builtins.getFlake`, and its directory when it is local. */
export interface FlakeSource {
  /** What the user gave. */
  input: string;
  /** The reference passed to `builtins.getFlake` (local paths become `git+file:` or `path:` URLs). */
  ref: string;
  /** The directory holding flake.nix, for local flakes. */
  localDir?: string;
}

function findGitRoot(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, ".git"))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * Turns what the user typed into a getFlake reference. Local paths are resolved like the `nix` CLI
 * does: inside a Git work tree they become `git+file:` (so untracked files stay out), else `path:`.
 * Returns undefined for a local directory without flake.nix (Garnix builds nothing then).
 */
export function resolveFlakeRef(input: string, cwd = process.cwd()): FlakeSource | undefined {
  const found = locateFlake(input, cwd);
  return found.hasFlake ? found.flake : undefined;
}

/**
 * resolveFlakeRef, also for a local directory without flake.nix (a repository whose flake is in a
 * subdirectory, Garnix's `flakeDir`): `hasFlake` says whether there is one. A reference that is
 * not a local path is assumed to have one.
 */
export function locateFlake(input: string, cwd = process.cwd()): { flake: FlakeSource; hasFlake: boolean } {
  if (input.includes("#")) {
    throw new FlakeEvalError(
      `flake reference ${JSON.stringify(input)} must not name an attribute (drop "#...")`,
    );
  }
  // Like the nix CLI, a reference without a scheme that names an existing directory is a path
  // (`examples/demo-flake` as well as `./examples/demo-flake`).
  const isPath =
    input.startsWith(".") ||
    input.startsWith("/") ||
    input.startsWith("path:") ||
    (!input.includes(":") && existsSync(path.resolve(cwd, input)));
  if (!isPath) return { flake: { input, ref: input }, hasFlake: true };
  const dir = path.resolve(cwd, input.startsWith("path:") ? input.slice(5) : input);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FlakeEvalError(`flake directory ${JSON.stringify(dir)} does not exist`);
  }
  const hasFlake = existsSync(path.join(dir, "flake.nix"));
  const root = input.startsWith("path:") ? undefined : findGitRoot(dir);
  if (root === undefined) return { flake: { input, ref: `path:${dir}`, localDir: dir }, hasFlake };
  const sub = path.relative(root, dir);
  const ref = `git+file://${root}${sub ? `?dir=${encodeURIComponent(sub)}` : ""}`;
  return { flake: { input, ref, localDir: dir }, hasFlake };
}

function splitQuery(ref: string): [string, URLSearchParams] {
  const q = ref.indexOf("?");
  return q < 0 ? [ref, new URLSearchParams()] : [ref.slice(0, q), new URLSearchParams(ref.slice(q + 1))];
}

/** The `dir` parameter of a flake reference: the flake's subdirectory of its source tree ("" = the top). */
export function flakeRefDir(ref: string): string {
  return splitQuery(ref)[1].get("dir") ?? "";
}

/**
 * The flake reference for subdirectory `sub` (relative, already checked) of the flake `ref` names:
 * `?dir=` joined onto the dir it already has (`github:o/r?dir=a` + `b` = `github:o/r?dir=a/b`).
 */
export function withFlakeDir(ref: string, sub: string): string {
  const [base, params] = splitQuery(ref);
  const dir = path.posix.normalize(path.posix.join(params.get("dir") || ".", sub));
  if (dir === ".") params.delete("dir");
  else params.set("dir", dir);
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}
