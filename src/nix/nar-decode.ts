// Streaming NAR decoder: bytes in (any AsyncIterable<Buffer>, e.g. a Readable), entries out.
// Nothing is held but the current token and the caller's current chunk, so archives of any size
// can be listed, validated or extracted. The grammar is the canonical one `nix-store --dump`
// writes; anything else (including orderings older Nix readers tolerate) is rejected, because a
// NAR's hash is only meaningful for its canonical form.
import { type Hash as CryptoHash, createHash } from "node:crypto";
import { NixcacheError } from "../util/errors.js";
import type { Hash } from "./hash.js";

export const NAR_MAGIC = "nix-archive-1";

/** Bounds modern Nix enforces; a hostile archive must not make us allocate or recurse without end. */
export const MAX_DEPTH = 64;
export const MAX_NAME_LENGTH = 255;
export const MAX_TARGET_LENGTH = 4095;
/** Longest keyword token ("nix-archive-1"); longer lengths where a keyword belongs are garbage. */
const MAX_KEYWORD_LENGTH = 16;

// A malformed archive fails its check ("failed", exit 1 as before); the server maps it itself.
export class NarError extends NixcacheError {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super("failed", `invalid NAR: ${reason} at byte offset ${offset}`);
  }
}

interface EntryBase {
  /** Path inside the archive: "" for the root, else names joined with "/" (UTF-8, lossy for display). */
  readonly path: string;
  /** The raw names from the root down; exact bytes, for extraction and lookups. */
  readonly segments: readonly Buffer[];
  /** Byte offset of the node's "(" token. */
  readonly offset: number;
}

export interface NarDirectory extends EntryBase {
  readonly type: "directory";
}

export interface NarRegular extends EntryBase {
  readonly type: "regular";
  readonly executable: boolean;
  readonly size: number;
  /** Byte offset of the first content byte (what `nix nar ls --json` calls narOffset). */
  readonly contentsOffset: number;
  /**
   * The contents, as views into the input chunks. Iterate before resuming the entry iterator;
   * contents not read are skipped. Iterating after the parser has moved on throws.
   */
  readonly contents: AsyncIterable<Buffer>;
}

export interface NarSymlink extends EntryBase {
  readonly type: "symlink";
  readonly target: Buffer;
}

export type NarEntry = NarDirectory | NarRegular | NarSymlink;

/** Pulls chunks from the source and hands out exact byte ranges, tracking the absolute offset. */
class Reader {
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Absolute offset of buf[0]. */
  private base = 0;
  private ended = false;

  constructor(
    source: AsyncIterable<Buffer | Uint8Array | string>,
    private readonly onChunk?: (chunk: Buffer) => void,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  get offset(): number {
    return this.base + this.pos;
  }

  private available(): number {
    return this.buf.length - this.pos;
  }

  /** Replaces the (consumed) buffer with the next non-empty chunk; false at end of input. */
  private async pull(): Promise<boolean> {
    while (!this.ended) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const v = r.value;
      const chunk = Buffer.isBuffer(v)
        ? v
        : typeof v === "string"
          ? Buffer.from(v)
          : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (chunk.length === 0) continue;
      this.onChunk?.(chunk);
      this.base += this.buf.length;
      this.buf = chunk;
      this.pos = 0;
      return true;
    }
    return false;
  }

  /** `n` bytes (n is small and bounded by the caller); copies only when they span chunks. */
  async take(n: number, what: string): Promise<Buffer> {
    if (this.available() >= n) {
      const out = this.buf.subarray(this.pos, this.pos + n);
      this.pos += n;
      return out;
    }
    const start = this.offset;
    const out = Buffer.allocUnsafe(n);
    let have = 0;
    for (;;) {
      const k = Math.min(this.available(), n - have);
      this.buf.copy(out, have, this.pos, this.pos + k);
      this.pos += k;
      have += k;
      if (have === n) return out;
      if (!(await this.pull()))
        throw new NarError(
          `unexpected end of archive in ${what} (started at byte offset ${start})`,
          this.offset,
        );
    }
  }

  /** Up to `max` bytes (at least one) as a view of the current chunk. */
  async some(max: number, what: string): Promise<Buffer> {
    if (this.available() === 0 && !(await this.pull())) {
      throw new NarError(`unexpected end of archive in ${what}`, this.offset);
    }
    const k = Math.min(this.available(), max);
    const out = this.buf.subarray(this.pos, this.pos + k);
    this.pos += k;
    return out;
  }

  /** Lets the source release its resources (a stream closes its file) when we stop early. */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }

  async atEnd(): Promise<boolean> {
    return this.available() === 0 && !(await this.pull());
  }
}

const te = new TextDecoder("utf-8");

/** The state of the regular file whose contents the caller may be reading. */
interface OpenContents {
  left: number;
  size: number;
  /** Set when the parser resumes: later reads must fail rather than see the wrong bytes. */
  closed: boolean;
  busy: boolean;
}

class Parser {
  readonly r: Reader;
  private current: OpenContents | undefined;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>, onChunk?: (chunk: Buffer) => void) {
    this.r = new Reader(source, onChunk);
  }

  private async u64(what: string): Promise<number> {
    const at = this.r.offset;
    const b = await this.r.take(8, what);
    const lo = b.readUInt32LE(0);
    const hi = b.readUInt32LE(4);
    if (hi >= 0x200000) throw new NarError(`${what} has an absurd length (${b.readBigUInt64LE(0)})`, at);
    return hi * 0x100000000 + lo;
  }

  private async padding(len: number, what: string): Promise<void> {
    const p = (8 - (len % 8)) % 8;
    if (p === 0) return;
    const at = this.r.offset;
    const b = await this.r.take(p, `padding of ${what}`);
    for (let i = 0; i < p; i++) if (b[i] !== 0) throw new NarError(`non-zero padding after ${what}`, at + i);
  }

  /** One length-prefixed, padded string of at most `max` bytes. */
  private async str(max: number, what: string): Promise<Buffer> {
    const at = this.r.offset;
    const len = await this.u64(what);
    if (len > max) throw new NarError(`${what} is ${len} bytes long, more than the limit of ${max}`, at);
    const b = await this.r.take(len, what);
    await this.padding(len, what);
    return b;
  }

  /** A keyword token; returns it as text with its offset (for error messages). */
  private async keyword(expecting: string): Promise<{ word: string; at: number }> {
    const at = this.r.offset;
    const len = await this.u64(`token (expected ${expecting})`);
    if (len > MAX_KEYWORD_LENGTH) throw new NarError(`expected ${expecting}, found a ${len}-byte string`, at);
    const b = await this.r.take(len, `token (expected ${expecting})`);
    await this.padding(len, `token (expected ${expecting})`);
    return { word: b.toString("latin1"), at };
  }

  private async expect(word: string): Promise<void> {
    const k = await this.keyword(JSON.stringify(word));
    if (k.word !== word)
      throw new NarError(`expected ${JSON.stringify(word)}, found ${JSON.stringify(k.word)}`, k.at);
  }

  /** Finishes (skips whatever the caller did not read) the contents of the last regular file. */
  private async closeContents(): Promise<void> {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    if (c.busy) throw new Error("NAR entry iterator resumed while its file contents were still being read");
    c.closed = true;
    while (c.left > 0) c.left -= (await this.r.some(c.left, "file contents")).length;
    await this.padding(c.size, "file contents");
  }

  private contentsOf(state: OpenContents): AsyncIterable<Buffer> {
    const r = this.r;
    return {
      [Symbol.asyncIterator]: async function* () {
        if (state.closed)
          throw new Error("NAR file contents read after the parser moved on to the next entry");
        state.busy = true;
        try {
          while (state.left > 0) {
            const chunk = await r.some(state.left, "file contents");
            state.left -= chunk.length;
            state.busy = false;
            yield chunk;
            if (state.closed) throw new Error("NAR file contents read after the parser moved on");
            state.busy = true;
          }
        } finally {
          state.busy = false;
        }
      },
    };
  }

  /** Parses the node after "node" (or the magic), up to its type's fields; directories stay open. */
  private async *node(segments: Buffer[], path: string): AsyncGenerator<NarEntry, "directory" | "leaf"> {
    const offset = this.r.offset;
    await this.expect("(");
    await this.expect("type");
    const t = await this.keyword('a node type ("regular", "symlink" or "directory")');
    if (t.word === "directory") {
      yield { type: "directory", path, segments, offset };
      return "directory";
    }
    if (t.word === "symlink") {
      await this.expect("target");
      const at = this.r.offset;
      const target = Buffer.from(await this.str(MAX_TARGET_LENGTH, "symlink target"));
      if (target.includes(0)) throw new NarError("symlink target contains a NUL byte", at);
      await this.expect(")");
      yield { type: "symlink", path, segments, offset, target };
      return "leaf";
    }
    if (t.word !== "regular") throw new NarError(`unknown node type ${JSON.stringify(t.word)}`, t.at);
    let k = await this.keyword('"executable" or "contents"');
    let executable = false;
    if (k.word === "executable") {
      executable = true;
      const at = this.r.offset;
      const v = await this.str(MAX_KEYWORD_LENGTH, "executable marker");
      if (v.length !== 0) throw new NarError("the executable marker has a non-empty value", at);
      k = await this.keyword('"contents"');
    }
    if (k.word !== "contents")
      throw new NarError(`expected "contents", found ${JSON.stringify(k.word)}`, k.at);
    const size = await this.u64("file size");
    const state: OpenContents = { left: size, size, closed: false, busy: false };
    this.current = state;
    const contentsOffset = this.r.offset;
    yield {
      type: "regular",
      path,
      segments,
      offset,
      executable,
      size,
      contentsOffset,
      contents: this.contentsOf(state),
    };
    await this.closeContents();
    await this.expect(")");
    return "leaf";
  }

  async *entries(): AsyncGenerator<NarEntry> {
    try {
      yield* this.parse();
    } finally {
      await this.r.close();
    }
  }

  private async *parse(): AsyncGenerator<NarEntry> {
    const magicAt = this.r.offset;
    const len = await this.u64("magic");
    if (len !== NAR_MAGIC.length) throw new NarError(`bad magic: not a NAR archive`, magicAt);
    const magic = await this.r.take(len, "magic");
    await this.padding(len, "magic");
    if (magic.toString("latin1") !== NAR_MAGIC) {
      throw new NarError(`bad magic ${JSON.stringify(magic.toString("latin1"))}: not a NAR archive`, magicAt);
    }

    // Open directories, innermost last, with the previous entry name for the order check.
    const stack: { segments: Buffer[]; path: string; prev: Buffer | undefined }[] = [];
    if ((yield* this.node([], "")) === "directory") stack.push({ segments: [], path: "", prev: undefined });
    while (stack.length > 0) {
      const dir = stack[stack.length - 1] as (typeof stack)[number];
      const k = await this.keyword('"entry" or ")"');
      if (k.word === ")") {
        stack.pop();
        if (stack.length > 0) await this.expect(")"); // closes the entry holding this directory
        continue;
      }
      if (k.word !== "entry")
        throw new NarError(`expected "entry" or ")", found ${JSON.stringify(k.word)}`, k.at);
      await this.expect("(");
      await this.expect("name");
      const at = this.r.offset;
      const name = Buffer.from(await this.str(MAX_NAME_LENGTH, "entry name"));
      checkName(name, at);
      if (dir.prev) {
        const c = Buffer.compare(dir.prev, name);
        if (c === 0)
          throw new NarError(`duplicate entry ${show(name)} in directory ${showPath(dir.path)}`, at);
        if (c > 0) {
          throw new NarError(
            `entry ${show(name)} comes after ${show(dir.prev)} in directory ${showPath(dir.path)}: not sorted`,
            at,
          );
        }
      }
      dir.prev = name;
      await this.expect("node");
      const segments = [...dir.segments, name];
      if (segments.length > MAX_DEPTH)
        throw new NarError(`directories nested deeper than ${MAX_DEPTH} levels`, at);
      const path = dir.path === "" ? te.decode(name) : `${dir.path}/${te.decode(name)}`;
      if ((yield* this.node(segments, path)) === "directory") stack.push({ segments, path, prev: undefined });
      else await this.expect(")"); // closes the entry
    }
    if (!(await this.r.atEnd()))
      throw new NarError("trailing data after the end of the archive", this.r.offset);
  }
}

function checkName(name: Buffer, at: number): void {
  if (name.length === 0) throw new NarError("empty entry name", at);
  if (name.equals(DOT) || name.equals(DOTDOT))
    throw new NarError(`entry name ${show(name)} is not allowed`, at);
  if (name.includes(0x2f)) throw new NarError(`entry name ${show(name)} contains "/"`, at);
  if (name.includes(0)) throw new NarError(`entry name ${show(name)} contains a NUL byte`, at);
}

const DOT = Buffer.from(".");
const DOTDOT = Buffer.from("..");

function show(name: Buffer): string {
  return JSON.stringify(te.decode(name));
}

function showPath(path: string): string {
  return JSON.stringify(`/${path}`);
}

/**
 * Parses a NAR, yielding each node in archive order (a directory before its entries). Throws
 * `NarError` for anything malformed, at the point it is found: entries before the error have
 * already been yielded, so a caller that must not act on a bad archive validates first.
 */
export function parseNar(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<NarEntry> {
  return new Parser(source).entries();
}

/**
 * Parses a NAR completely and returns its size and SHA-256 (the narinfo's NarSize and NarHash).
 * Rejects malformed archives with `NarError`. Hashes the input chunks as they arrive.
 */
export async function validateNar(
  source: AsyncIterable<Buffer>,
): Promise<{ narSize: number; narHash: Hash }> {
  const h: CryptoHash = createHash("sha256");
  let narSize = 0;
  const parser = new Parser(source, (chunk) => {
    h.update(chunk);
    narSize += chunk.length;
  });
  for await (const _ of parser.entries()) {
    // Contents are skipped (and their padding checked) by the parser itself.
  }
  return { narSize, narHash: { algo: "sha256", digest: h.digest() } };
}

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
