// The end of a stored build log, for the dashboard, in bounded memory: a plain log is read
// backwards from its end (a window of at most TAIL_WINDOW bytes, however large the log); a
// compressed one (stored with the Content-Encoding its writer sent, as Nix's `log-compression`
// writes it) is decompressed as a stream of which only the last lines are kept.
import { pipeline, Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { DecompressedSizeError, decompressBounded } from "../codec/bounded-decompress.js";
import { LOG_TAIL_LINES } from "../ui-api/log-text.js";
import { NixcacheError } from "../util/errors.js";
import type { SideFile } from "./metadata/types.js";
import type { StorageBackend } from "./storage/backend.js";

/** The most of a plain log's end that is read to find its last lines. */
export const TAIL_WINDOW = 1024 * 1024;
/** Bytes kept of one line of a compressed log (a page shows far fewer characters). */
const MAX_LINE_BYTES = 16 * 1024;
/** The most a compressed log is decompressed to find its end. */
const MAX_DECOMPRESSED = 256 * 1024 * 1024;
const READ_CHUNK = 64 * 1024;
const NL = 0x0a;

export interface RawTail {
  /** The last lines, as text (undecodable bytes replaced), at most LOG_TAIL_LINES. */
  lines: string[];
  /** Whether lines come before them. */
  earlier: boolean;
  /** Bytes as stored. */
  bytes: number;
}

/** The last `n` lines of a log stored as `f` (a side file of kind `log`). */
export async function readLogTail(
  storage: StorageBackend,
  f: Pick<SideFile, "body" | "blob" | "contentEncoding">,
  n = LOG_TAIL_LINES,
): Promise<RawTail> {
  const size = f.blob === null ? f.body.length : await storage.blobSize(f.blob);
  if (size === undefined) throw new Error(`the blob ${f.blob} of a build log is missing`);
  if (f.contentEncoding !== null) {
    const source: AsyncIterable<Buffer> =
      f.blob === null ? once(f.body) : (storage.readBlob(f.blob) as AsyncIterable<Buffer>);
    try {
      return { ...(await tailOfStream(decoded(source, f.contentEncoding), n)), bytes: size };
    } catch (e) {
      if (e instanceof DecompressedSizeError) throw tooLarge();
      if (e instanceof NixcacheError) throw e;
      throw new NixcacheError(
        "invalid",
        `this log's ${f.contentEncoding} data does not decode (${(e as Error).message}): download the whole log`,
      );
    }
  }
  if (f.blob === null) return { ...tailOfWindow(f.body, true, n), bytes: size };
  const reader = await storage.openBlob(f.blob, Math.max(0, size - TAIL_WINDOW));
  try {
    // Backwards a chunk at a time, until the window holds n whole lines or the log's start.
    const chunks: Buffer[] = [];
    let start = size;
    let newlines = 0;
    while (start > 0 && size - start < TAIL_WINDOW && newlines <= n) {
      const len = Math.min(READ_CHUNK, start, TAIL_WINDOW - (size - start));
      const buf = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await reader.read(buf, got, len - got, start - len + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < len) throw new Error(`the blob ${f.blob} of a build log ended early`);
      start -= len;
      chunks.unshift(buf);
      for (const b of buf) if (b === NL) newlines++;
    }
    return { ...tailOfWindow(Buffer.concat(chunks), start === 0, n), bytes: size };
  } finally {
    await reader.close();
  }
}

/** The last `n` lines of `window`, the end of a log; `whole` when it starts at the log's start. */
function tailOfWindow(window: Buffer, whole: boolean, n: number): Omit<RawTail, "bytes"> {
  const end = window.length > 0 && window[window.length - 1] === NL ? window.length - 1 : window.length;
  const lines: string[] = [];
  let cut = end;
  while (lines.length < n) {
    const nl = cut === 0 ? -1 : window.lastIndexOf(NL, cut - 1);
    if (nl < 0) {
      // The window's first segment: a whole line only when the window is the whole log; else
      // the end of a line longer than the window, shown (marked) only when there is nothing else.
      if (whole) {
        if (end > 0 || lines.length > 0) lines.unshift(window.subarray(0, cut).toString("utf8"));
        return { lines, earlier: false };
      }
      if (lines.length === 0) lines.unshift(`…${window.subarray(0, cut).toString("utf8")}`);
      return { lines, earlier: true };
    }
    lines.unshift(window.subarray(nl + 1, cut).toString("utf8"));
    cut = nl;
  }
  return { lines, earlier: cut > 0 || !whole };
}

/** The last `n` lines of a stream, keeping only those (each at most MAX_LINE_BYTES). */
async function tailOfStream(source: AsyncIterable<Buffer>, n: number): Promise<Omit<RawTail, "bytes">> {
  const ring: Buffer[] = [];
  let dropped = false;
  let cur: Buffer[] = [];
  let curBytes = 0;
  let sawAny = false;
  const push = (line: Buffer) => {
    ring.push(line);
    if (ring.length > n) {
      ring.shift();
      dropped = true;
    }
  };
  const keep = (b: Buffer) => {
    if (curBytes >= MAX_LINE_BYTES) return;
    const part = b.subarray(0, MAX_LINE_BYTES - curBytes);
    cur.push(Buffer.from(part));
    curBytes += part.length;
  };
  for await (const chunk of source) {
    if (chunk.length > 0) sawAny = true;
    let from = 0;
    for (let nl = chunk.indexOf(NL); nl >= 0; nl = chunk.indexOf(NL, from)) {
      keep(chunk.subarray(from, nl));
      push(Buffer.concat(cur));
      cur = [];
      curBytes = 0;
      from = nl + 1;
    }
    if (from < chunk.length) keep(chunk.subarray(from));
  }
  if (curBytes > 0) push(Buffer.concat(cur));
  if (!sawAny) return { lines: [], earlier: false };
  return { lines: ring.map((b) => b.toString("utf8")), earlier: dropped };
}

/** A log's bytes decoded from its Content-Encoding. */
async function* decoded(source: AsyncIterable<Buffer>, encoding: string): AsyncGenerator<Buffer> {
  switch (encoding) {
    case "zstd":
    case "xz":
      yield* decompressBounded(source, encoding, MAX_DECOMPRESSED);
      return;
    case "br":
    case "gzip":
    case "deflate": {
      const z =
        encoding === "br" ? createBrotliDecompress() : encoding === "gzip" ? createGunzip() : createInflate();
      // Errors of either side surface in the iteration; leaving it early destroys both.
      const out = pipeline(Readable.from(source), z, () => {});
      let total = 0;
      for await (const chunk of out as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > MAX_DECOMPRESSED) throw tooLarge();
        yield chunk;
      }
      return;
    }
    default:
      throw new NixcacheError(
        "invalid",
        `this log was stored ${encoding}-compressed, which the dashboard does not decode: download the whole log`,
      );
  }
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

function tooLarge(): NixcacheError {
  return new NixcacheError(
    "tooLarge",
    `this log decompresses to more than ${MAX_DECOMPRESSED / 1024 ** 2} MiB: download the whole log`,
  );
}
