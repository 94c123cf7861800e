// What the local Nix database knows about store paths, via `nix path-info --json`.
//
// Nix 2.8 up to 2.18 print an array of `{path, narHash, narSize, references, ...}` (hashes as
// SRI or `sha256:`, references as full paths, an invalid path as `{path, valid: false}`); newer
// versions print an object keyed by path, with `null` for an invalid path. Both are accepted.
import { realpath } from "node:fs/promises";
import { z } from "zod";
import { formatHashNix32, type Hash, parseHash } from "../nix/hash.js";
import { DEFAULT_STORE_DIR, parseStorePath } from "../nix/store-path.js";
import { NixcacheError } from "../util/errors.js";
import { runNix } from "./nix-command.js";

export interface PathInfo {
  /** Full store path. */
  path: string;
  narHash: Hash;
  narSize: number;
  /** Full store paths, sorted; may include the path itself. */
  references: string[];
  /** Full path of the deriver, when known. */
  deriver?: string;
  signatures: string[];
  /** Content address (`fixed:r:sha256:...`, `text:sha256:...`), when the path has one. */
  ca?: string;
}

export class PathInfoError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("failed", message, options);
  }
}

const entrySchema = z.object({
  path: z.string().optional(),
  valid: z.boolean().optional(),
  narHash: z.string().optional(),
  narSize: z.number().int().nonnegative().optional(),
  references: z.array(z.string()).optional(),
  deriver: z.string().nullable().optional(),
  signatures: z.array(z.string()).nullable().optional(),
  // Newest Nix may write the content address as an object; older ones as the text form.
  ca: z.union([z.string(), z.null(), z.record(z.string(), z.unknown())]).optional(),
});

type Entry = z.infer<typeof entrySchema>;

const oldShape = z.array(entrySchema);
const newShape = z.record(z.string(), entrySchema.nullable());

/**
 * Parses `nix path-info --json` output of any Nix version. Invalid (unknown) paths are reported
 * in `invalid`; everything that is valid must be complete, or this throws naming the path.
 */
export function parsePathInfoJson(
  text: string,
  storeDir = DEFAULT_STORE_DIR,
): { infos: PathInfo[]; invalid: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PathInfoError(`nix path-info printed invalid JSON: ${(e as Error).message}`);
  }
  const pairs: Array<[string, Entry | null]> = [];
  if (Array.isArray(json)) {
    const r = oldShape.safeParse(json);
    if (!r.success) throw new PathInfoError(`unexpected nix path-info JSON: ${z.prettifyError(r.error)}`);
    for (const e of r.data) {
      if (!e.path) throw new PathInfoError("nix path-info JSON has an entry without a path");
      pairs.push([e.path, e]);
    }
  } else {
    const r = newShape.safeParse(json);
    if (!r.success) throw new PathInfoError(`unexpected nix path-info JSON: ${z.prettifyError(r.error)}`);
    pairs.push(...Object.entries(r.data));
  }
  const infos: PathInfo[] = [];
  const invalid: string[] = [];
  for (const [path, e] of pairs) {
    if (e === null || e.valid === false) {
      invalid.push(path);
      continue;
    }
    infos.push(toPathInfo(path, e, storeDir));
  }
  return { infos, invalid };
}

function toPathInfo(path: string, e: Entry, storeDir: string): PathInfo {
  const where = `nix path-info for ${path}`;
  try {
    parseStorePath(path, storeDir);
    if (e.narHash === undefined || e.narSize === undefined)
      throw new PathInfoError("lacks narHash or narSize");
    const info: PathInfo = {
      path,
      narHash: parseHash(e.narHash),
      narSize: e.narSize,
      references: (e.references ?? []).map((r) => parseStorePath(r, storeDir).path).sort(),
      signatures: e.signatures ?? [],
    };
    if (e.deriver) info.deriver = parseStorePath(e.deriver, storeDir).path;
    const ca = formatCa(e.ca);
    if (ca) info.ca = ca;
    return info;
  } catch (err) {
    throw new PathInfoError(`${where}: ${(err as Error).message}`);
  }
}

/** The narinfo text form of a content address, from either JSON form. */
function formatCa(ca: Entry["ca"]): string | undefined {
  if (ca === undefined || ca === null) return undefined;
  if (typeof ca === "string") return ca;
  // Structured form of newer Nix: {method: "nar"|"flat"|"text", hash: "<SRI or algo:...>"}.
  const method = ca.method;
  const hash = ca.hash;
  if (typeof method !== "string" || typeof hash !== "string")
    throw new PathInfoError(`unrecognised content address ${JSON.stringify(ca)}`);
  const h = parseHash(hash);
  if (method === "text") return `text:${formatHashNix32(h)}`;
  if (method === "nar") return `fixed:r:${formatHashNix32(h)}`;
  if (method === "flat") return `fixed:${formatHashNix32(h)}`;
  throw new PathInfoError(`unrecognised content-address method ${JSON.stringify(method)}`);
}

/**
 * Path infos for `paths`, and with `recursive` for their whole runtime closures. A path the
 * store does not have is an error naming it.
 */
export async function queryPathInfos(
  paths: readonly string[],
  opts: { recursive?: boolean; storeDir?: string } = {},
): Promise<PathInfo[]> {
  if (paths.length === 0) return [];
  const args = ["path-info", "--json"];
  if (opts.recursive) args.push("--recursive");
  // `--` so that a path starting with a dash is not taken for a flag.
  const out = await runNix([...args, "--", ...paths]);
  const { infos, invalid } = parsePathInfoJson(out, opts.storeDir);
  if (invalid.length > 0) throw new PathInfoError(`not valid in the local Nix store: ${invalid.join(", ")}`);
  return infos;
}

/**
 * The store path an argument names: a store path, a path inside one, or a symlink to one (such
 * as `./result`). Throws naming the argument when it leads outside the store.
 */
export async function resolveStorePath(arg: string, storeDir = DEFAULT_STORE_DIR): Promise<string> {
  let real = arg;
  if (!arg.startsWith(`${storeDir}/`) || arg.slice(storeDir.length + 1).includes("/")) {
    try {
      real = await realpath(arg);
    } catch (e) {
      throw new PathInfoError(
        `${arg}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`,
      );
    }
  }
  if (!real.startsWith(`${storeDir}/`))
    throw new PathInfoError(`${arg} is not in the Nix store (${storeDir})`);
  const top = real.slice(storeDir.length + 1).split("/")[0] ?? "";
  try {
    return parseStorePath(`${storeDir}/${top}`, storeDir).path;
  } catch (e) {
    throw new PathInfoError(`${arg}: ${(e as Error).message}`);
  }
}
