// Memory for multipart uploads, shared by every path a cache uploads at once: a part's buffer is
// reserved from one byte budget before it is filled and returned once the part is stored, so
// however many large NARs are in flight the parts held in memory stay under the budget.
import { createHash, type Hash } from "node:crypto";

/** A part being filled: `buf[0, len)` so far, MD5 of it in `md5`. */
export interface PartBuffer {
  buf: Buffer;
  len: number;
  md5: Hash;
}

interface Waiter {
  size: number;
  grant: (p: PartBuffer) => void;
}

export class PartBudget {
  private used = 0;
  private readonly waiters: Waiter[] = [];
  /** Full-size buffers of finished parts, reused (fresh 32 MiB allocations cost page faults). */
  private readonly free: Buffer[] = [];

  constructor(
    /** Bytes of part buffers held at once, at most (one part is always allowed). */
    readonly limit: number,
    /** Buffers of this size are kept for reuse. */
    readonly partSize: number,
  ) {}

  /** Bytes reserved now (for tests and diagnostics). */
  get reserved(): number {
    return this.used;
  }

  /**
   * A buffer of `size` bytes, once the budget has room for it. Waiters are served in order, so a
   * full-size part is not starved by a stream of small ones; when nothing is reserved any size is
   * granted, so a part larger than the budget still goes.
   */
  take(want: number, signal?: AbortSignal): Promise<PartBuffer> {
    signal?.throwIfAborted();
    // Past a 32nd of a part, a whole reusable buffer is taken: buffers of many odd sizes, freed
    // whenever the GC runs, leave the allocator's heap fragmented and the process larger.
    const size = want > this.partSize / 32 ? this.partSize : want;
    if (this.waiters.length === 0 && this.fits(size)) return Promise.resolve(this.grant(size));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        size,
        grant: (p) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(p);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        this.pump();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  /** Enlarges `p` to `size` bytes at once, over the budget if need be (a NAR longer than announced). */
  grow(p: PartBuffer, size: number): void {
    if (size <= p.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(size);
    p.buf.copy(bigger, 0, 0, p.len);
    this.used += size - p.buf.length;
    p.buf = bigger;
  }

  /**
   * Returns `p`'s reservation. `reusable` says nothing else still reads the buffer (a request that
   * failed may still be writing it to a socket).
   */
  give(p: PartBuffer, reusable: boolean): void {
    this.used -= p.buf.length;
    if (reusable && p.buf.length === this.partSize && this.free.length * this.partSize < this.limit)
      this.free.push(p.buf);
    p.buf = Buffer.alloc(0);
    p.len = 0;
    this.pump();
  }

  private fits(size: number): boolean {
    return this.used === 0 || this.used + size <= this.limit;
  }

  private grant(size: number): PartBuffer {
    this.used += size;
    const buf =
      size === this.partSize ? (this.free.pop() ?? Buffer.allocUnsafeSlow(size)) : Buffer.allocUnsafe(size);
    return { buf, len: 0, md5: createHash("md5") };
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.fits((this.waiters[0] as Waiter).size)) {
      const w = this.waiters.shift() as Waiter;
      w.grant(this.grant(w.size));
    }
  }
}
