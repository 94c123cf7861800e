// Last-access times of narinfos, for retention. A narinfo GET (or HEAD, or a bulk presence query of
// the Cachix API) must not become a database write: accesses are kept in memory and written in
// one batch every `flushMs` (30 s by default) and at shutdown. So the stored time of a fetch is up
// to one flush interval late, and a process that dies loses at most that much; retention is meant
// in days. What the GC of this process must not delete meanwhile is decided by `FetchGuard`
// (fetch-guard.ts), which asks `recent` here.
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

export class AccessTimes {
  /** `cache/hash` → latest access (ms), not yet written. */
  private pending = new Map<string, number>();
  /** What the flush in progress writes: still "recent" until it is stored. */
  private flushing = new Map<string, number>();
  private flushed: Promise<void> = Promise.resolve();
  private readonly timer: Periodic;

  constructor(
    private readonly meta: Pick<MetadataStore, "recordAccess">,
    opts: { flushMs?: number; onError(e: unknown): void },
  ) {
    this.timer = every(opts.flushMs ?? DEFAULT_ACCESS_FLUSH_MS, () => this.flush(), opts.onError);
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
