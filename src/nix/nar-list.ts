// Reading what a NAR holds: listings (`nix nar ls`, with --json) and one file's contents (`nix nar
// cat`), on the streaming decoder.

import { NixcacheError } from "../util/errors.js";

const te = new TextDecoder("utf-8");

import { type NarEntry, parseNar } from "./nar-decode.js";

/** The raw segments of an inner path written "/a/b", "a/b" or "./a/b" ("" or "/" is the root). */
export function splitInnerPath(path: string): Buffer[] {
  return path
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .map((s) => Buffer.from(s));
}

/** An inner path that names nothing, or not the kind of node the caller needs. */
export class NarLookupError extends NixcacheError {
  constructor(message: string) {
    super("notFound", message);
  }
}

/** An entry without its contents, as `ls` shows it. */
export interface NarListEntry {
  readonly type: NarEntry["type"];
  readonly path: string;
  readonly segments: readonly Buffer[];
  /** Path relative to the listed path ("" for the listed node itself). */
  readonly relativePath: string;
  readonly executable?: boolean;
  readonly size?: number;
  readonly contentsOffset?: number;
  readonly target?: Buffer;
}

function startsWith(segments: readonly Buffer[], prefix: readonly Buffer[]): boolean {
  if (segments.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++)
    if (!(segments[i] as Buffer).equals(prefix[i] as Buffer)) return false;
  return true;
}

function displayInner(segments: readonly Buffer[]): string {
  return `/${segments.map((s) => te.decode(s)).join("/")}`;
}

/**
 * Lists the node at `path` (default the root) and, when it is a directory, its children (all
 * descendants with `recursive`), in archive order. Parses the whole archive, so a malformed one
 * throws rather than listing partially; throws NarLookupError when `path` does not exist.
 */
export async function listNar(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  opts: { path?: string; recursive?: boolean } = {},
): Promise<NarListEntry[]> {
  const base = splitInnerPath(opts.path ?? "/");
  const out: NarListEntry[] = [];
  for await (const e of parseNar(source)) {
    if (!startsWith(e.segments, base)) continue;
    const depth = e.segments.length - base.length;
    if (depth > 1 && !opts.recursive) continue;
    const relativePath = e.segments
      .slice(base.length)
      .map((s) => te.decode(s))
      .join("/");
    const common = { type: e.type, path: e.path, segments: e.segments, relativePath };
    if (e.type === "regular") {
      out.push({ ...common, executable: e.executable, size: e.size, contentsOffset: e.contentsOffset });
    } else if (e.type === "symlink") {
      out.push({ ...common, target: e.target });
    } else {
      out.push(common);
    }
  }
  if (out.length === 0)
    throw new NarLookupError(`path '${displayInner(base)}' does not exist in the archive`);
  return out;
}

/** The listing in the JSON shape of `nix nar ls --json` (entries nested under "entries"). */
export interface NarListingJson {
  type: NarEntry["type"];
  size?: number;
  executable?: boolean;
  narOffset?: number;
  target?: string;
  entries?: Record<string, NarListingJson>;
}

/**
 * Nests a `listNar` result like `nix nar ls --json`. Unlike Nix, children of a non-recursive
 * listing keep their type, size and target; only their own entries are left out.
 */
export function narListingJson(entries: readonly NarListEntry[], recursive = false): NarListingJson {
  const first = entries[0];
  if (!first) throw new NarLookupError("empty listing");
  const baseLen = first.segments.length;
  const nodes = new Map<string, NarListingJson>();
  let root: NarListingJson | undefined;
  for (const e of entries) {
    const node: NarListingJson = { type: e.type };
    if (e.type === "regular") {
      node.size = e.size ?? 0;
      if (e.executable) node.executable = true;
      node.narOffset = e.contentsOffset ?? 0;
    } else if (e.type === "symlink") {
      node.target = te.decode(e.target ?? Buffer.alloc(0));
    } else if (recursive || e.segments.length === baseLen) {
      node.entries = {};
    }
    nodes.set(e.relativePath, node);
    if (e.segments.length === baseLen) {
      root = node;
      continue;
    }
    const parentKey = e.relativePath.includes("/")
      ? e.relativePath.slice(0, e.relativePath.lastIndexOf("/"))
      : "";
    const parent = nodes.get(parentKey);
    const name = te.decode(e.segments[e.segments.length - 1] as Buffer);
    if (parent?.entries) parent.entries[name] = node;
  }
  return root ?? { type: first.type };
}

/**
 * The contents of the regular file at `path`. Stops reading the archive once the file is out.
 * Throws NarLookupError when the path is missing or not a regular file.
 */
export async function* narFileContents(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  path: string,
): AsyncGenerator<Buffer> {
  const want = splitInnerPath(path);
  for await (const e of parseNar(source)) {
    if (e.segments.length !== want.length || !startsWith(e.segments, want)) continue;
    if (e.type !== "regular")
      throw new NarLookupError(`'${displayInner(want)}' is a ${e.type}, not a regular file`);
    yield* e.contents;
    return;
  }
  throw new NarLookupError(`path '${displayInner(want)}' does not exist in the archive`);
}
