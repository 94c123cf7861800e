// The guard between the GC of this process and its narinfo lookups. The GC asks `protect` inside
// each delete transaction: what was fetched here and is not stored yet (its access time still in
// `AccessTimes`) stays. From that moment, a lookup of the other candidates in this process answers
// "not found" (`hit` is false) rather than serving what is being deleted, and so does, for what was
// deleted, any lookup that began before the transaction ended (it may have read the database before
// the commit): every fetch is thus either protected or never served.
import type { AccessTimes } from "./access-times.js";

export class FetchGuard {
  /** `cache/hash` of narinfos a delete transaction of this process is deciding on. */
  private readonly deleting = new Set<string>();
  /** `cache/hash` of narinfos deleted, with the sequence number and time of the deletion's end. */
  private readonly gone = new Map<string, { seq: number; at: number }>();
  private seq = 0;

  constructor(private readonly times: Pick<AccessTimes, "record" | "recent">) {}

  /** Taken before a narinfo lookup starts, for `hit`. */
  lookupStarted(): number {
    return ++this.seq;
  }

  /**
   * A narinfo found by a lookup that started at `started` is about to be served: records the access
   * and says yes, unless the GC is deleting it, or deleted it after the lookup began (then the
   * caller answers as if it were absent).
   */
  hit(cache: string, hash: string, started: number): boolean {
    const key = `${cache}/${hash}`;
    if (this.deleting.has(key) || (this.gone.get(key)?.seq ?? 0) > started) return false;
    this.times.record(cache, hash);
    return true;
  }

  /**
   * Called by the GC inside a delete transaction, synchronously: returns the candidates fetched here
   * and not stored yet (they stay), and holds lookups of the others until `settled`.
   */
  protect(cache: string, hashes: readonly string[]): Set<string> {
    const recent = this.times.recent(cache, hashes);
    for (const h of hashes) if (!recent.has(h)) this.deleting.add(`${cache}/${h}`);
    return recent;
  }

  /** The delete transaction that `protect` was called in has ended, having deleted `deleted`. */
  settled(cache: string, hashes: readonly string[], deleted: readonly string[]): void {
    for (const h of hashes) this.deleting.delete(`${cache}/${h}`);
    const now = Date.now();
    const seq = ++this.seq;
    for (const h of deleted) {
      this.gone.delete(`${cache}/${h}`);
      this.gone.set(`${cache}/${h}`, { seq, at: now });
    }
    // A lookup still running after a minute answers nothing anyway (clients time out).
    for (const [k, g] of this.gone) {
      if (now - g.at < 60_000) break;
      this.gone.delete(k);
    }
  }
}
