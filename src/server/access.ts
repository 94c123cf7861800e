// Last-access times of narinfos, for retention. A narinfo GET (or HEAD, or a bulk presence query of
// the Cachix API) must not become a database write: accesses are kept in memory and written in
// one batch every `flushMs` (30 s by default) and at shutdown. So the stored time of a fetch is up
// to one flush interval late, and a process that dies loses at most that much; retention is meant
// in days.
//
// The GC of this process asks `protect` inside each delete transaction: what was fetched here and
// is not stored yet stays. From that moment, a lookup of the other candidates in this process
// answers "not found" (`hit` is false) rather than serving what is being deleted, and so does, for
// what was deleted, any lookup that began before the transaction ended (it may have read the
// database before the commit): every fetch is thus either protected or never served.
import { setImmediate as nextTurn } from "node:timers/promises";
import { every, type Periodic } from "../util/periodic.js";
import type { MetadataStore } from "./metadata/store.js";

export const DEFAULT_ACCESS_FLUSH_MS = 30_000;
/** Accesses held before a flush is started early (about 100 bytes each). */
const MAX_PENDING = 50_000;
/**
 * Accesses written per statement. A busy server's 15,000 in one statement held its event loop
 * for a tenth of a second (building and encoding the parameters), and every request with it
 * (bench/gc: a GET p99 of 60-170 ms every 30 s).
 */
const FLUSH_CHUNK = 1000;

export class AccessTracker {
  /** `cache/hash` → latest access (ms), not yet written. */
  private pending = new Map<string, number>();
  /** What the flush in progress writes: still "recent" until it is stored. */
  private flushing = new Map<string, number>();
  private flushed: Promise<void> = Promise.resolve();
  /** `cache/hash` of narinfos a delete transaction of this process is deciding on. */
  private readonly deleting = new Set<string>();
  /** `cache/hash` of narinfos deleted, with the sequence number and time of the deletion's end. */
  private readonly gone = new Map<string, { seq: number; at: number }>();
  private seq = 0;
  private readonly timer: Periodic;

  constructor(
    private readonly meta: Pick<MetadataStore, "recordAccess">,
    opts: { flushMs?: number; onError(e: unknown): void },
  ) {
    this.timer = every(opts.flushMs ?? DEFAULT_ACCESS_FLUSH_MS, () => this.flush(), opts.onError);
  }

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
    this.record(cache, hash);
    return true;
  }

  /**
   * Called by the GC inside a delete transaction, synchronously: returns the candidates fetched here
   * and not stored yet (they stay), and holds lookups of the others until `settled`.
   */
  protect(cache: string, hashes: readonly string[]): Set<string> {
    const recent = this.recent(cache, hashes);
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

  record(cache: string, hash: string, at = Date.now()): void {
    this.pending.set(`${cache}/${hash}`, at);
    if (this.pending.size >= MAX_PENDING) void this.timer.runNow();
  }

  /** Of `hashes`, those accessed in this process whose time the store may not have yet. */
  recent(cache: string, hashes: readonly string[]): Set<string> {
    return new Set(
      hashes.filter((h) => this.pending.has(`${cache}/${h}`) || this.flushing.has(`${cache}/${h}`)),
    );
  }

  /** Writes what is pending (one flush at a time; a second call waits for the first, then runs). */
  flush(): Promise<void> {
    this.flushed = this.flushed.then(async () => {
      if (this.pending.size === 0) return;
      this.flushing = this.pending;
      this.pending = new Map();
      try {
        let chunk: Array<{ cache: string; hash: string; at: number }> = [];
        for (const [key, at] of this.flushing) {
          const slash = key.indexOf("/");
          chunk.push({ cache: key.slice(0, slash), hash: key.slice(slash + 1), at });
          if (chunk.length < FLUSH_CHUNK) continue;
          await this.meta.recordAccess(chunk);
          chunk = [];
          // Requests first: an in-process store (SQLite) answers without ever leaving the loop.
          await nextTurn();
        }
        await this.meta.recordAccess(chunk);
      } catch (e) {
        // Kept for the next flush (newer accesses of the same path win; chunks already written are
        // written again, which changes nothing).
        for (const [k, at] of this.flushing) if (!this.pending.has(k)) this.pending.set(k, at);
        throw e;
      } finally {
        this.flushing = new Map();
      }
    });
    const done = this.flushed;
    this.flushed = done.catch(() => {});
    return done;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    await this.timer.stop();
    await this.flush();
  }
}
