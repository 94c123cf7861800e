// What the local Nix database knows about store paths, via `nix path-info --json`.
//
// Every shape a Nix has printed is read into one PathInfo (test/fixtures/nix-versions/ holds each,
// naming its version and source):
// - Nix up to 2.18 and Lix: an array of `{path, narHash, narSize, references, ...}`, an invalid
//   path as `{path, valid: false}`;
// - Nix 2.19 to 2.32: an object keyed by full path, `null` for an invalid path (rl-2.19);
// - Nix 2.33+ `--json-format 1`: the same with `version: 1` and `storeDir` in each entry;
// - `--json-format 2` (2.33+): `{version: 2, storeDir, info: {<base name>: entry | null}}`, with
//   base names for references and deriver and a structured `ca` (`{method, hash}`);
// - `--json-format 3` (2.35+): format 2 with signatures as `{keyName, sig}` objects.
// Hashes are SRI (`sha256-...`) or `sha256:<nix32>` strings in every released version.
import { realpath } from "node:fs/promises";
import { z } from "zod";
import { formatHashNix32, type Hash, parseHash } from "../nix/hash.js";
import { DEFAULT_STORE_DIR, parseStorePath } from "../nix/store-path.js";
import { NixcacheError } from "../util/errors.js";
import { nixVersion, runNixForms } from "./nix-command.js";
import { pathInfoJsonForms } from "./nix-version.js";

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

const signatureSchema = z.union([z.string(), z.object({ keyName: z.string(), sig: z.string() })]);

const entrySchema = z.object({
  path: z.string().optional(),
  valid: z.boolean().optional(),
  narHash: z.string().optional(),
  narSize: z.number().int().nonnegative().optional(),
  references: z.array(z.string()).optional(),
  deriver: z.string().nullable().optional(),
  signatures: z.array(signatureSchema).nullable().optional(),
  // Format 2+ writes the content address as an object; older ones as the text form.
  ca: z.union([z.string(), z.null(), z.record(z.string(), z.unknown())]).optional(),
  storeDir: z.string().optional(),
});

type Entry = z.infer<typeof entrySchema>;

const arrayShape = z.array(entrySchema);
const keyedShape = z.record(z.string(), entrySchema.nullable());
const wrappedShape = z.object({
  version: z.number().int(),
  storeDir: z.string(),
  info: z.record(z.string(), entrySchema.nullable()),
});

/** Which shape `nix path-info --json` printed (for messages and tests). */
export type PathInfoShape = "array" | "keyed" | "wrapped";

/**
 * Parses `nix path-info --json` output of any Nix version. Invalid (unknown) paths are reported
 * in `invalid`; everything that is valid must be complete, or this throws naming the path.
 */
export function parsePathInfoJson(
  text: string,
  storeDir = DEFAULT_STORE_DIR,
): { infos: PathInfo[]; invalid: string[]; shape: PathInfoShape } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PathInfoError(`nix path-info printed invalid JSON: ${(e as Error).message}`);
  }
  const fail = (error: z.ZodError) =>
    new PathInfoError(`unexpected nix path-info JSON: ${z.prettifyError(error)}`);
  const pairs: Array<[string, Entry | null]> = [];
  let shape: PathInfoShape;
  // Base names (format 2+) are resolved against the store directory the output names.
  let baseDir: string | undefined;
  if (Array.isArray(json)) {
    shape = "array";
    const r = arrayShape.safeParse(json);
    if (!r.success) throw fail(r.error);
    for (const e of r.data) {
      if (!e.path) throw new PathInfoError("nix path-info JSON has an entry without a path");
      pairs.push([e.path, e]);
    }
  } else if (json !== null && typeof json === "object" && "info" in json && "version" in json) {
    shape = "wrapped";
    const r = wrappedShape.safeParse(json);
    if (!r.success) throw fail(r.error);
    if (r.data.version < 2)
      throw new PathInfoError(`unexpected nix path-info JSON version ${r.data.version}`);
    baseDir = r.data.storeDir;
    for (const [base, e] of Object.entries(r.data.info)) pairs.push([`${baseDir}/${base}`, e]);
  } else {
    shape = "keyed";
    const r = keyedShape.safeParse(json);
    if (!r.success) throw fail(r.error);
    pairs.push(...Object.entries(r.data));
  }
  if (baseDir !== undefined && baseDir !== storeDir)
    throw new PathInfoError(`nix path-info speaks of store ${baseDir}, not ${storeDir}`);
  const infos: PathInfo[] = [];
  const invalid: string[] = [];
  for (const [path, e] of pairs) {
    if (e === null || e.valid === false) {
      invalid.push(path);
      continue;
    }
    infos.push(toPathInfo(path, e, storeDir, baseDir !== undefined));
  }
  return { infos, invalid, shape };
}

function toPathInfo(path: string, e: Entry, storeDir: string, baseNames: boolean): PathInfo {
  const where = `nix path-info for ${path}`;
  const full = (p: string) => parseStorePath(baseNames ? `${storeDir}/${p}` : p, storeDir).path;
  try {
    parseStorePath(path, storeDir);
    if (e.narHash === undefined || e.narSize === undefined)
      throw new PathInfoError("lacks narHash or narSize");
    const info: PathInfo = {
      path,
      narHash: parseHash(e.narHash),
      narSize: e.narSize,
      references: (e.references ?? []).map(full).sort(),
      signatures: (e.signatures ?? []).map((s) => (typeof s === "string" ? s : `${s.keyName}:${s.sig}`)),
    };
    if (e.deriver) info.deriver = full(e.deriver);
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
  // Structured form (format 2+): {method: "nar"|"flat"|"text"|"git", hash: "<SRI>"}.
  const method = ca.method;
  const hash = ca.hash;
  if (typeof method !== "string" || typeof hash !== "string")
    throw new PathInfoError(`unrecognised content address ${JSON.stringify(ca)}`);
  const h = parseHash(hash);
  const text = formatHashNix32(h);
  if (method === "text") return `text:${text}`;
  if (method === "nar") return `fixed:r:${text}`;
  if (method === "flat") return `fixed:${text}`;
  if (method === "git") return `fixed:git:${text}`;
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
  const forms = pathInfoJsonForms(await nixVersion()).map((f) => ["path-info", ...f]);
  // `--` so that a path starting with a dash is not taken for a flag.
  const rest = [...(opts.recursive ? ["--recursive"] : []), "--", ...paths];
  const { out } = await runNixForms(forms, rest);
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
