// Streaming NAR encoder: a filesystem tree in, the exact bytes of `nix-store --dump` out.
//
// Speed notes (measured on a 1 GiB file and on 50,000 small files, see bench/nar):
// - Metadata calls (lstat, readdir, readlink) and small files use the synchronous fs API: one
//   thread-pool round trip per file costs far more than the cached syscall itself. (Fetching
//   entries ahead in parallel on the thread pool was tried: it doubled the CPU time and was ~2×
//   slower on 2 cores.)
// - Small tokens and small files are batched into one output buffer, so a tree of many small files
//   yields few, large chunks.
// - Fresh memory costs a page fault per 4 KiB, which makes allocating a buffer per chunk several
//   times slower than reading into a reused one. `encodeNar` must hand out buffers the consumer
//   may keep, so it allocates; `encodeNarBorrowed` reuses its buffers for consumers (the CLI)
//   that are done with a chunk before asking for the next one.
import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { NixcacheError } from "../util/errors.js";
import type { Hash } from "./hash.js";
import { NAR_MAGIC } from "./nar-decode.js";

const OUT_SIZE = 64 * 1024;
const DEFAULT_CHUNK = 1024 * 1024;
// Room the biggest run of small tokens between two yields can need: entry/name/node/type/… for
// one node with a 255-byte name, or a symlink target up to PATH_MAX.
const TOKEN_ROOM = 8 * 1024;

export class NarEncodeError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("failed", message, options);
  }
}

export interface EncodeNarOptions {
  /** Size of the chunks large files are read in (default 1 MiB). */
  chunkSize?: number;
}

/**
 * Yields the NAR serialisation of `fsPath` (which is not followed if it is a symlink), in chunks.
 * Each chunk is a fresh buffer the consumer may keep.
 */
export function encodeNar(fsPath: string, opts?: { chunkSize?: number }): AsyncGenerator<Buffer> {
  return encodeCore(fsPath, opts?.chunkSize ?? DEFAULT_CHUNK, false);
}

/**
 * Like `encodeNar`, but a yielded chunk is only valid until the generator is resumed: its memory
 * is reused for the next chunk. For consumers that write or hash each chunk synchronously.
 * Reads file contents synchronously too (fastest when the consumer is the only work running).
 */
export function encodeNarBorrowed(fsPath: string, opts?: EncodeNarOptions): AsyncGenerator<Buffer> {
  return encodeCore(fsPath, opts?.chunkSize ?? DEFAULT_CHUNK, true);
}

/** Accumulates small tokens; `take()` hands out what was written since the last take. */
class TokenWriter {
  buf: Buffer;
  start = 0;
  pos = 0;

  constructor(private readonly reuse: boolean) {
    this.buf = Buffer.allocUnsafe(OUT_SIZE);
  }

  room(): number {
    return this.buf.length - this.pos;
  }

  pending(): number {
    return this.pos - this.start;
  }

  take(): Buffer {
    const chunk = this.buf.subarray(this.start, this.pos);
    if (this.reuse) {
      this.start = this.pos = 0;
    } else if (this.room() < TOKEN_ROOM * 2) {
      // The chunk handed out keeps the old buffer alive; continue in a new one.
      this.buf = Buffer.allocUnsafe(OUT_SIZE);
      this.start = this.pos = 0;
    } else {
      this.start = this.pos;
    }
    return chunk;
  }

  u64(n: number): void {
    this.buf.writeUInt32LE(n >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(n / 0x100000000), this.pos + 4);
    this.pos += 8;
  }

  /** Zero padding after `len` bytes of string or contents. */
  pad(len: number): void {
    const p = (8 - (len % 8)) % 8;
    if (p) {
      this.buf.fill(0, this.pos, this.pos + p);
      this.pos += p;
    }
  }

  bytes(b: Uint8Array): void {
    this.u64(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    this.pad(b.length);
  }

  /** Pre-encoded tokens (length, bytes, padding) copied in one go. */
  raw(b: Buffer): void {
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
}

function tokens(...strs: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of strs) {
    const b = Buffer.from(s);
    const len = Buffer.alloc(8);
    len.writeUInt32LE(b.length, 0);
    parts.push(len, b, Buffer.alloc((8 - (b.length % 8)) % 8));
  }
  return Buffer.concat(parts);
}

const T_MAGIC = tokens(NAR_MAGIC);
const T_REGULAR = tokens("(", "type", "regular", "contents");
const T_EXECUTABLE = tokens("(", "type", "regular", "executable", "", "contents");
const T_SYMLINK = tokens("(", "type", "symlink", "target");
const T_DIRECTORY = tokens("(", "type", "directory");
const T_ENTRY = tokens("entry", "(", "name");
const T_NODE = tokens("node");
const T_CLOSE = tokens(")");

interface DirFrame {
  path: Buffer;
  names: Buffer[];
  next: number;
}

const SLASH = Buffer.from("/");

function childPath(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

async function* encodeCore(fsPath: string, chunkSize: number, reuse: boolean): AsyncGenerator<Buffer> {
  if (!Number.isInteger(chunkSize) || chunkSize < 4096)
    throw new RangeError("chunkSize must be an integer ≥ 4096");
  const w = new TokenWriter(reuse);
  const big = reuse ? Buffer.allocUnsafe(chunkSize) : undefined;
  const probe = Buffer.allocUnsafe(1);
  const stack: DirFrame[] = [];
  w.raw(T_MAGIC);

  // Writes one node's opening tokens; a directory is pushed and its entries follow in the loop.
  // Regular files are written completely, which may need yields, hence a generator.
  async function* node(path: Buffer): AsyncGenerator<Buffer> {
    const st = lstatSync(path);
    if (st.isDirectory()) {
      w.raw(T_DIRECTORY);
      const names = readdirSync(path, { encoding: "buffer" });
      // Nix sorts by the raw bytes of the name; JS string order (UTF-16) differs for some names.
      names.sort(Buffer.compare);
      stack.push({ path, names, next: 0 });
      return;
    }
    if (st.isSymbolicLink()) {
      w.raw(T_SYMLINK);
      w.bytes(readlinkSync(path, { encoding: "buffer" }));
      w.raw(T_CLOSE);
      return;
    }
    if (!st.isFile()) throw new NarEncodeError(`file '${path.toString()}' has an unsupported type`);
    yield* file(path, st);
    w.raw(T_CLOSE);
  }

  async function* file(path: Buffer, st: Stats): AsyncGenerator<Buffer> {
    const size = st.size;
    w.raw(st.mode & 0o100 ? T_EXECUTABLE : T_REGULAR);
    w.u64(size);
    // Small enough to land in the token buffer (with padding and the closing tokens after it).
    if (size + TOKEN_ROOM <= w.room()) {
      const fd = openSync(path, "r");
      try {
        readSmallSync(fd, w.buf, w.pos, size, path);
      } finally {
        closeSync(fd);
      }
      w.pos += size;
      w.pad(size);
      return;
    }
    yield w.take();
    if (big) {
      const fd = openSync(path, "r");
      try {
        let left = size;
        while (left > 0) {
          const n = Math.min(left, big.length);
          readFullSync(fd, big, 0, n, path, size);
          left -= n;
          yield big.subarray(0, n);
        }
        checkEof(fd, probe, path, size);
      } finally {
        closeSync(fd);
      }
    } else {
      const fh = await open(path, "r");
      try {
        let left = size;
        while (left > 0) {
          const n = Math.min(left, chunkSize);
          const chunk = Buffer.allocUnsafe(n);
          await readFullAsync(fh, chunk, n, path, size);
          left -= n;
          yield chunk;
        }
        const { bytesRead } = await fh.read(probe, 0, 1, null);
        if (bytesRead !== 0) throw grew(path, size);
      } finally {
        await fh.close();
      }
    }
    w.pad(size);
  }

  yield* node(Buffer.from(fsPath));
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as DirFrame;
    if (w.room() < TOKEN_ROOM) yield w.take();
    if (top.next < top.names.length) {
      const name = top.names[top.next++] as Buffer;
      w.raw(T_ENTRY);
      w.bytes(name);
      w.raw(T_NODE);
      const depth = stack.length;
      yield* node(childPath(top.path, name));
      // A directory stays open (on the stack); anything else is complete: close its entry.
      if (stack.length === depth) w.raw(T_CLOSE);
    } else {
      stack.pop();
      w.raw(T_CLOSE); // the directory node
      if (stack.length > 0) w.raw(T_CLOSE); // the entry that held it
    }
  }
  if (w.pending() > 0) yield w.take();
}

function shrank(path: Buffer, size: number): NarEncodeError {
  return new NarEncodeError(`file '${path.toString()}' shrank while being archived (expected ${size} bytes)`);
}

function grew(path: Buffer, size: number): NarEncodeError {
  return new NarEncodeError(`file '${path.toString()}' grew while being archived (expected ${size} bytes)`);
}

function readFullSync(
  fd: number,
  buf: Buffer,
  offset: number,
  len: number,
  path: Buffer,
  size: number,
): void {
  let done = 0;
  while (done < len) {
    const n = readSync(fd, buf, offset + done, len - done, null);
    if (n === 0) throw shrank(path, size);
    done += n;
  }
}

/**
 * Reads a whole small file into `buf` (which has room for one byte more): one read() asking for
 * size+1 bytes both reads it and, by coming back short, shows the file has not grown. A separate
 * probe read would cost a syscall per file on trees of many small files.
 */
function readSmallSync(fd: number, buf: Buffer, offset: number, size: number, path: Buffer): void {
  let done = 0;
  for (;;) {
    const want = size + 1 - done;
    const n = readSync(fd, buf, offset + done, want, null);
    if (n === 0) break;
    done += n;
    if (done > size) throw grew(path, size);
    // A read of a regular file that returns less than asked has reached the end of the file.
    if (done === size && n < want) break;
  }
  if (done < size) throw shrank(path, size);
}

/** The size token was written from lstat; a file that has more bytes now would corrupt the NAR. */
function checkEof(fd: number, probe: Buffer, path: Buffer, size: number): void {
  if (readSync(fd, probe, 0, 1, null) !== 0) throw grew(path, size);
}

async function readFullAsync(
  fh: FileHandle,
  buf: Buffer,
  len: number,
  path: Buffer,
  size: number,
): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, null);
    if (bytesRead === 0) throw shrank(path, size);
    done += bytesRead;
  }
}

/** NarSize and NarHash (sha256) of the NAR serialisation of `fsPath`, without keeping it. */
export async function narHashOfPath(fsPath: string): Promise<{ narSize: number; narHash: Hash }> {
  const h = createHash("sha256");
  let narSize = 0;
  for await (const chunk of encodeNarBorrowed(fsPath)) {
    h.update(chunk);
    narSize += chunk.length;
  }
  return { narSize, narHash: { algo: "sha256", digest: h.digest() } };
}
