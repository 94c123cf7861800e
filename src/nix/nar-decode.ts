// Streaming NAR decoder: bytes in (any AsyncIterable<Buffer>, e.g. a Readable), entries out.
// Nothing is held but the current token and the caller's current chunk, so archives of any size
// can be listed, validated or extracted. The grammar is the canonical one `nix-store --dump`
// writes; anything else (including orderings older Nix readers tolerate) is rejected, because a
// NAR's hash is only meaningful for its canonical form.
import { type Hash as CryptoHash, createHash } from "node:crypto";
import type { Hash } from "./hash.js";
import { NarError, NarReader } from "./nar-reader.js";

export { NarError } from "./nar-reader.js";

export const NAR_MAGIC = "nix-archive-1";

/** Bounds modern Nix enforces; a hostile archive must not make us allocate or recurse without end. */
export const MAX_DEPTH = 64;
export const MAX_NAME_LENGTH = 255;
export const MAX_TARGET_LENGTH = 4095;
/** Longest keyword token ("nix-archive-1"); longer lengths where a keyword belongs are garbage. */
const MAX_KEYWORD_LENGTH = 16;

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
  readonly r: NarReader;
  private current: OpenContents | undefined;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>, onChunk?: (chunk: Buffer) => void) {
    this.r = new NarReader(source, onChunk);
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
