// What the dashboard shows of a cache's traffic: pushes (per token and CI run, per minute) and
// narinfo lookups (found or not, per hour). Counted in memory as requests are answered and added
// to the metadata store in one short transaction every few seconds, so a busy server writes a
// handful of rows per flush whatever its request rate. A flush that fails keeps its counts for the
// next one (up to a bound: a database down for long loses counts rather than memory).
import type { IncomingHttpHeaders } from "node:http";
import { RunId } from "../ui-api/dashboard-report-schema.js";
import { RUN_HEADER } from "../ui-api/headers.js";
import { every, type Periodic } from "../util/periodic.js";
import type { LookupCount, PushCount } from "./metadata/dashboard-store.js";
import type { MetadataStore } from "./metadata/store.js";

export const DEFAULT_ACTIVITY_FLUSH_MS = 10_000;
/** Distinct rows held between flushes at most; beyond, new ones are dropped (and counted). */
const MAX_PENDING_ROWS = 20_000;
const PRUNE_EVERY_MS = 3600_000;
const MINUTE = 60_000;
const HOUR = 3600_000;

/** The run a request names, when it names one well (anything else is ignored, never refused). */
export function runOf(headers: IncomingHttpHeaders): string | null {
  const v = headers[RUN_HEADER];
  if (typeof v !== "string") return null;
  return RunId.safeParse(v).success ? v : null;
}

export interface ActivityOptions {
  flushMs?: number;
  onError?: (e: unknown) => void;
  now?: () => number;
}

export class ActivityRecorder {
  private pushes = new Map<string, PushCount>();
  private lookups = new Map<string, LookupCount>();
  private lastPrune = 0;
  /** Rows dropped because too many were pending (a long database outage). */
  dropped = 0;
  private readonly timer: Periodic;
  private readonly now: () => number;

  constructor(
    private readonly meta: Pick<MetadataStore, "recordActivity">,
    opts: ActivityOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.timer = every(
      opts.flushMs ?? DEFAULT_ACTIVITY_FLUSH_MS,
      () => this.write(),
      opts.onError ?? (() => {}),
    );
  }

  /** A narinfo committed by a push: `bytes` is its NAR as stored. */
  pushed(cache: string, tokenId: string | null, run: string | null, bytes: number): void {
    const minute = Math.floor(this.now() / MINUTE) * MINUTE;
    const key = JSON.stringify([cache, minute, tokenId, run]);
    const row =
      this.pushes.get(key) ?? this.add(this.pushes, key, { cache, minute, tokenId, run, paths: 0, bytes: 0 });
    if (!row) return;
    row.paths++;
    row.bytes += bytes;
  }

  /** A narinfo GET, answered with the narinfo (`found`) or 404. */
  lookedUp(cache: string, found: boolean): void {
    const hour = Math.floor(this.now() / HOUR) * HOUR;
    const key = `${cache}\n${hour}`;
    const row = this.lookups.get(key) ?? this.add(this.lookups, key, { cache, hour, hits: 0, misses: 0 });
    if (!row) return;
    if (found) row.hits++;
    else row.misses++;
  }

  /** Writes what was counted now (or waits for the flush under way); errors reach the caller. */
  async flush(): Promise<void> {
    await this.timer.runNow();
    await this.write();
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    await this.timer.stop();
    await this.write();
  }

  private add<T>(map: Map<string, T>, key: string, row: T): T | undefined {
    if (this.pushes.size + this.lookups.size >= MAX_PENDING_ROWS) {
      this.dropped++;
      return undefined;
    }
    map.set(key, row);
    return row;
  }

  private async write(): Promise<void> {
    const pushes = this.pushes;
    const lookups = this.lookups;
    const prune = this.now() - this.lastPrune >= PRUNE_EVERY_MS;
    if (pushes.size === 0 && lookups.size === 0 && !prune) return;
    this.pushes = new Map();
    this.lookups = new Map();
    // Sorted by key, so that replicas flushing at once lock rows in one order.
    const sorted = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
    try {
      await this.meta.recordActivity({ pushes: sorted(pushes), lookups: sorted(lookups), prune });
      if (prune) this.lastPrune = this.now();
    } catch (e) {
      for (const [k, v] of pushes)
        this.merge(this.pushes, k, v, (a, b) => {
          a.paths += b.paths;
          a.bytes += b.bytes;
        });
      for (const [k, v] of lookups)
        this.merge(this.lookups, k, v, (a, b) => {
          a.hits += b.hits;
          a.misses += b.misses;
        });
      throw e;
    }
  }

  private merge<T>(map: Map<string, T>, key: string, row: T, sum: (into: T, from: T) => void): void {
    const there = map.get(key);
    if (there) sum(there, row);
    else this.add(map, key, row);
  }
}
