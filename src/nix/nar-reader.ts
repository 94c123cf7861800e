// The byte layer of the NAR decoder: chunks in, exact byte ranges out, with the absolute offset
// that every NarError reports. The grammar is in nar-decode.ts.
import { NixcacheError } from "../util/errors.js";

// A malformed archive fails its check ("failed", exit 1 as before); the server maps it itself.
export class NarError extends NixcacheError {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super("failed", `invalid NAR: ${reason} at byte offset ${offset}`);
  }
}

/** Pulls chunks from the source and hands out exact byte ranges, tracking the absolute offset. */
export class NarReader {
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
