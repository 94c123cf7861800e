// Reading objects by ranged GETs: random access for range requests (openBlob), and whole objects
// or ranges of them, one after the other, as one stream (readBlob, readParts, direct uploads).
import { Readable } from "node:stream";
import { NixcacheError } from "../../../util/errors.js";
import type { BlobReader } from "../backend.js";
import { MiB, type Range, type S3Objects } from "./objects.js";

/** The first ranged GET of a reader; later ones double, up to the largest. */
const READ_WINDOW_MIN = 4 * MiB;
const READ_WINDOW_MAX = 64 * MiB;

type Window = { body: Readable; it: AsyncIterator<Buffer>; pos: number; end: number; left?: Buffer };

/**
 * Random access to one object by ranged GETs. Reads that follow on from the last are served from
 * the GET in progress (a read-ahead window, doubling up to 64 MiB), so a sequential reader makes
 * one request per window, not per read. A window that broke (the socket sat idle past the
 * timeout while our reader was slow) is reopened where it stopped; the ETag of the first answer
 * pins the object, so a reopened window can never mix in other bytes.
 */
export class S3ObjectReader implements BlobReader {
  readonly size: number;
  private readonly etag: string;
  private win: Window | undefined;
  private windowBytes = READ_WINDOW_MIN;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly s3: S3Objects,
    private readonly key: string,
    first: { body: Readable; size: number; etag: string },
    start = 0,
  ) {
    this.size = first.size;
    this.etag = first.etag;
    this.win = this.window(first.body, start, Math.min(first.size, start + READ_WINDOW_MIN) - 1);
  }

  private window(body: Readable, pos: number, end: number): Window {
    return { body, it: body[Symbol.asyncIterator]() as AsyncIterator<Buffer>, pos, end };
  }

  private drop(): void {
    this.win?.body.destroy();
    this.win = undefined;
  }

  private async open(pos: number): Promise<Window> {
    this.drop();
    const end = Math.min(this.size, pos + this.windowBytes) - 1;
    this.windowBytes = Math.min(READ_WINDOW_MAX, this.windowBytes * 2);
    const r = await this.s3.get(this.key, { start: pos, end }, this.etag || undefined);
    if (!r)
      throw new NixcacheError(
        "internal",
        `object ${this.key} disappeared while being read (${this.s3.where})`,
      );
    this.win = this.window(r.body, pos, end);
    return this.win;
  }

  /** The next bytes at `pos` (at most `max`, at least one); `pos` must be within the object. */
  async next(pos: number, max: number): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      let w = this.win;
      if (!w || w.pos !== pos || w.pos > w.end) w = await this.open(pos);
      try {
        let chunk = w.left;
        w.left = undefined;
        if (!chunk) {
          const r = await w.it.next();
          if (r.done) throw new Error(`ranged GET ended at ${w.pos}, before ${w.end + 1}`);
          chunk = r.value;
        }
        if (chunk.length > max) {
          w.left = chunk.subarray(max);
          chunk = chunk.subarray(0, max);
        }
        w.pos += chunk.length;
        return chunk;
      } catch (e) {
        this.drop();
        // Once reopened and failed again, it is storage that fails, not an idle socket.
        if (attempt >= 1) throw this.s3.fail(`GetObject ${this.key} at ${pos}`, e);
      }
    }
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    // One read at a time, as a file's position would be.
    const r = this.queue.then(async () => {
      let n = 0;
      while (n < length && position + n < this.size) {
        const c = await this.next(position + n, length - n);
        c.copy(buffer, offset + n);
        n += c.length;
      }
      return { bytesRead: n };
    });
    this.queue = r.catch(() => {});
    return r;
  }

  async close(): Promise<void> {
    this.drop();
  }
}

/**
 * A reader of object `key` from `start`, `what` in the error when there is no such object. The
 * first window is asked for at once: one round trip says whether the object exists and brings the
 * first bytes to be read.
 */
export async function openReader(
  s3: S3Objects,
  key: string,
  start: number,
  what: string,
): Promise<S3ObjectReader> {
  const first = await s3.get(key, { start, end: start + READ_WINDOW_MIN - 1 });
  // Internal, as a missing file is on disk: only recorded blobs and parts are ever read.
  if (!first) throw new NixcacheError("internal", `${what} is missing from object storage (${s3.where})`);
  return new S3ObjectReader(s3, key, first, start);
}

/** The objects' bytes (each whole, or its range) one after the other, as one stream. */
export function readObjects(
  s3: S3Objects,
  objects: ReadonlyArray<{ key: string; range?: Range }>,
  what: string,
): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const o of objects) {
      const start = o.range?.start ?? 0;
      const reader = await openReader(s3, o.key, start, what);
      try {
        const end = Math.min(o.range?.end ?? Number.POSITIVE_INFINITY, reader.size - 1);
        for (let pos = start; pos <= end; ) {
          const c = await reader.next(pos, end - pos + 1);
          pos += c.length;
          yield c;
        }
      } finally {
        await reader.close();
      }
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
