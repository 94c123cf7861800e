// Reference-aware garbage collection. Per cache with a retention (caches kept forever are left
// alone, though their records keep shared blobs alive):
//
//   1. roots are the cache's pins and every narinfo pushed or fetched within its retention; the
//      closure of the roots is computed in the database (a recursive query over the references
//      stored at commit), so memory stays flat whatever the number of narinfos;
//   2. narinfos outside it are marked (those inside lose an earlier mark);
//   3. narinfos marked at least the grace ago (with a grace of 0, those this run marked too), and
//      not needed by anything that stays, are deleted in small transactions, dependents before
//      their references, each re-checked under the lock narinfo commits take: one pushed,
//      fetched, pinned or referenced meanwhile stays with its closure, so no visible narinfo ever
//      lacks a reference. A path's listing goes with it, and so does its derivation's build log
//      once no narinfo left names that derivation; logs no narinfo names go once older than the
//      retention. A reference goes only `lingerMs` after its last dependent, and a NAR
//      record that long after its narinfo: other processes may still serve a deleted narinfo from
//      memory for a quarter second;
//   4. blobs no NAR record or side file names any more are deleted from storage (claimed first,
//      against uploads of the same content meanwhile); NAR records no narinfo names (a run that
//      died before dropping them left them, or a narinfo re-pushed with another URL) go with them;
//   5. the sweep of stale multipart uploads, abandoned NARs and orphan blobs (ingest/sweep.ts).
//
// Pending narinfos (closure incomplete) are collected like the rest once older than the
// retention (and by the sweep, in every cache, once past the pending expiry). One GC runs at a
// time across processes and replicas: it holds a lease row in the metadata database, renewed
// while it works (gc-lease.ts).
import { randomBytes } from "node:crypto";
import { NixcacheError } from "../util/errors.js";
import { every, type Periodic } from "../util/periodic.js";
import type { AccessTimes } from "./access-times.js";
import type { FetchGuard } from "./fetch-guard.js";
import { GcBusyError, GcLease } from "./gc-lease.js";
import {
  deleteUnnamedBlobs,
  type SweepOptions,
  type SweepResult,
  settleClaims,
  sweep,
} from "./ingest/sweep.js";
import { gcCutoff } from "./metadata/limits.js";
import { DEFAULT_RECHECK_MS } from "./metadata/narinfo-cache.js";
import type { MetadataStore } from "./metadata/store.js";
import type { GcBatch, GcThresholds } from "./metadata/types.js";
import type { GcMetrics } from "./metrics.js";
import type { StorageBackend } from "./storage/backend.js";

export const DEFAULT_GC_INTERVAL_MS = 60 * 60 * 1000;
export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;
export { GC_LEASE, GcBusyError } from "./gc-lease.js";

const BATCH = 1000;
/** Unnamed NAR records dropped per run and cache at most (the rest next run): memory stays flat. */
const ORPHAN_NARS_PER_RUN = 10_000;
/** Twice the narinfo cache's recheck interval: a stale copy elsewhere is gone by then. */
export const DEFAULT_LINGER_MS = 2 * DEFAULT_RECHECK_MS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface GcOptions {
  /** Only this cache (default: every cache; the sweep runs only then). */
  cache?: string;
  /** How long a narinfo stays marked before it is deleted (default one hour; 0: in the run that marks it). */
  graceMs?: number;
  /** Count what would be deleted; change nothing. */
  dryRun?: boolean;
  /** Access times this process holds that may not be stored yet (the server's, batched): written first. */
  accessTimes?: Pick<AccessTimes, "flush">;
  /** Keeps what this process fetched and has not stored the access of, and holds lookups of the rest. */
  fetchGuard?: Pick<FetchGuard, "protect" | "settled">;
  /** The sweep's thresholds; false: no sweep. */
  sweep?: SweepOptions | false;
  /** Narinfos per delete transaction (default 1000). */
  batchSize?: number;
  /**
   * How long a deleted narinfo's references and NAR record outlive it (default 0.5 s): other
   * processes' narinfo caches may serve it for up to a quarter second (NarInfoCache) after it is
   * gone.
   */
  lingerMs?: number;
  now?: number;
}

/** What one cache lost and kept. */
export interface GcCacheReport {
  deletedPaths: number;
  /** Bytes of storage freed (blobs deleted because nothing named them any more). */
  deletedBytes: number;
  /** Narinfos left, pending ones included. */
  keptPaths: number;
  /** Narinfos outside every root's closure now, not deleted (by a later run once the grace is over). */
  markedPaths: number;
  /** Its retention in ms; null: kept forever (nothing is deleted). */
  retentionMs: number | null;
}

export interface GcReport {
  caches: Record<string, GcCacheReport>;
  sweep?: SweepResult;
  dryRun: boolean;
  durationSeconds: number;
}

function emptyReport(dryRun: boolean): GcReport {
  return { caches: {}, dryRun, durationSeconds: 0 };
}

/** Totals over caches (and the sweep), for metrics. */
export function gcTotals(r: GcReport): { paths: number; bytes: number } {
  let paths = 0;
  let bytes = r.sweep?.bytes ?? 0;
  for (const c of Object.values(r.caches)) {
    paths += c.deletedPaths;
    bytes += c.deletedBytes;
  }
  return { paths, bytes };
}

/**
 * Runs one collection. Throws GcBusyError when another holds the lease. `report` is filled as the
 * run goes, so a run that fails part-way still tells what it did.
 */
export async function collectGarbage(
  meta: MetadataStore,
  storage: StorageBackend,
  o: GcOptions = {},
  report: GcReport = emptyReport(o.dryRun ?? false),
): Promise<GcReport> {
  const started = Date.now();
  const lease = await GcLease.take(meta);
  // Renewed by a timer meanwhile; each step first checks that it still holds it.
  const hold = () => lease.hold();
  try {
    await o.accessTimes?.flush();
    const now = o.now ?? Date.now();
    const caches = (await meta.listCaches()).filter((c) => o.cache === undefined || c.name === o.cache);
    if (o.cache !== undefined && caches.length === 0)
      throw new NixcacheError("notFound", `no cache named ${JSON.stringify(o.cache)}`);
    await meta.gcFinish();
    if (!o.dryRun) await settleClaims(meta, storage);
    const runId = randomBytes(6).toString("hex");
    for (const cache of caches) {
      const entry: GcCacheReport = {
        deletedPaths: 0,
        deletedBytes: 0,
        keptPaths: cache.narinfos + (await meta.pendingCount(cache.name)),
        markedPaths: 0,
        retentionMs: cache.retentionMs,
      };
      report.caches[cache.name] = entry;
      if (cache.retentionMs === null) continue;
      const t = {
        run: `${runId}/${cache.name}`,
        now,
        // Stored access times may be an eighth of the retention early (ACCESS_SLACK_DIVISOR).
        cutoff: gcCutoff(now, cache.retentionMs),
        // Marked at least the grace ago: the store deletes what was marked before this, and this
        // run marks at `now`, so with a grace of 0 what it marks goes in the same run.
        markedBefore: now - (o.graceMs ?? DEFAULT_GC_GRACE_MS) + 1,
        lingerMs: o.lingerMs ?? DEFAULT_LINGER_MS,
      };
      await hold();
      const marked = await meta.gcMark(cache.name, { ...t, dryRun: o.dryRun });
      entry.keptPaths = marked.paths;
      entry.markedPaths = marked.marked;
      const plan = await meta.gcPlan(cache.name, {
        ...t,
        bytes: o.dryRun,
        unmarkedAt: o.dryRun ? now : undefined,
      });
      if (o.dryRun) {
        entry.deletedPaths = plan.paths;
        entry.deletedBytes = plan.bytes;
        entry.keptPaths = marked.paths - plan.paths;
        entry.markedPaths = marked.marked - plan.paths;
        await meta.gcFinish();
        continue;
      }
      const orphansAt = Date.now();
      const orphans = await meta.orphanNarUrls(cache.name, ORPHAN_NARS_PER_RUN);
      await deletePlanned(
        meta,
        storage,
        cache.name,
        { ...t, limit: o.batchSize ?? BATCH },
        entry,
        o.fetchGuard,
        hold,
        orphans,
        orphansAt,
      );
      // Logs by when they were stored (not an access time: no slack).
      const logsBefore = now - cache.retentionMs;
      const batch = o.batchSize ?? BATCH;
      entry.deletedBytes += await dropPathlessLogs(meta, storage, cache.name, logsBefore, batch);
      await meta.gcFinish();
    }
    // What each cache lost, for the dashboard (a run that failed part-way records nothing).
    if (!o.dryRun) {
      const endedAt = Date.now();
      for (const [cache, e] of Object.entries(report.caches))
        await meta.recordGcRun({
          cache,
          endedAt,
          deletedPaths: e.deletedPaths,
          deletedBytes: e.deletedBytes,
        });
    }
    if (o.cache === undefined && !o.dryRun && o.sweep !== false) {
      await hold();
      report.sweep = await sweep(meta, storage, o.sweep || {});
    }
    return report;
  } finally {
    report.durationSeconds = (Date.now() - started) / 1000;
    await lease.release();
  }
}

/**
 * Deletes what gcPlan planned, batch by batch, until nothing is left: each batch's blobs are
 * deleted from storage while the next is in the database, and each deleted narinfo's NAR record
 * goes `lingerMs` after it (the URLs wait here, in order). `orphans`, NAR records no narinfo named
 * when the run began (asked at `orphansAt`), go `lingerMs` from now: whatever unnamed them is
 * older than that. A record received again since its URL was queued stays (a client re-pushing a
 * deleted path sends the NAR, then the narinfo): the sweep takes it if no narinfo follows.
 */
async function deletePlanned(
  meta: MetadataStore,
  storage: StorageBackend,
  cache: string,
  t: GcThresholds & { limit: number; lingerMs: number },
  entry: GcCacheReport,
  guard: GcOptions["fetchGuard"],
  hold: () => Promise<void>,
  orphans: string[],
  orphansAt: number,
): Promise<void> {
  // NAR URLs of deleted narinfos, oldest first, each dropped `lingerMs` after its narinfo; `since`:
  // a record received after it is one a client sent again, and stays.
  const lingering: Array<{ at: number; since: number; urls: string[] }> = [];
  if (orphans.length > 0) lingering.push({ at: Date.now(), since: orphansAt, urls: orphans });
  // Storage deletes of one batch's blobs run while the next batch is in the database.
  let unlinking: Promise<void> = Promise.resolve();
  // The first storage failure (its blobs keep their claims: the next run deletes them) stops the run.
  const failures: unknown[] = [];
  const unlink = async (nars: GcBatch["nars"]) => {
    const sizes = new Map<string, number>();
    for (const n of nars) sizes.set(n.blob, n.fileSize);
    if (sizes.size === 0) return;
    const previous = unlinking;
    unlinking = previous.then(async () => {
      try {
        entry.deletedBytes += (await deleteUnnamedBlobs(meta, storage, sizes)).bytes;
      } catch (error) {
        failures.push(error);
      }
    });
    // One batch's deletes behind the next batch at most: memory stays flat if storage is slower.
    await previous;
  };
  try {
    for (;;) {
      if (failures.length > 0) throw failures[0];
      await hold();
      const dropNars: string[] = [];
      let dropNarsSince = Number.MAX_SAFE_INTEGER;
      while (lingering[0] && lingering[0].at + t.lingerMs <= Date.now()) {
        const due = lingering.shift();
        dropNars.push(...(due?.urls ?? []));
        dropNarsSince = Math.min(dropNarsSince, due?.since ?? dropNarsSince);
      }
      const batchStart = Date.now();
      let asked: readonly string[] = [];
      let batch: GcBatch | undefined;
      try {
        batch = await meta.gcDeleteBatch(cache, {
          ...t,
          dropNars,
          dropNarsSince,
          protect:
            guard &&
            ((hashes) => {
              asked = hashes;
              return guard.protect(cache, hashes);
            }),
        });
      } finally {
        // A failed transaction deleted nothing; one that may have committed counts as deleted.
        guard?.settled(cache, asked, batch?.deleted ?? asked);
      }
      // Counted from after the commit: never earlier than other processes could see it.
      if (batch && batch.narUrls.length > 0)
        lingering.push({ at: Date.now(), since: batchStart, urls: batch.narUrls });
      if (batch) {
        entry.deletedPaths += batch.deleted.length;
        entry.keptPaths -= batch.deleted.length;
        entry.markedPaths -= batch.deleted.length;
        await unlink(batch.nars);
      }
      const nextNar = lingering[0] && lingering[0].at + t.lingerMs - Date.now();
      if (!batch || (batch.deleted.length === 0 && batch.survived === 0 && batch.nars.length === 0)) {
        // Nothing done this round: wait for whichever comes first, or stop when nothing is left.
        const waits = [batch?.retryInMs, nextNar].filter((x): x is number => x !== undefined);
        if (waits.length === 0) break;
        await sleep(Math.max(1, Math.min(...waits)));
      }
    }
  } finally {
    await unlinking;
  }
  if (failures.length > 0) throw failures[0];
}

/**
 * Build logs of the cache older than `before` whose derivation no narinfo of the cache names (the
 * logs of paths go with them in gcDeleteBatch), a batch at a time; returns the bytes freed.
 */
async function dropPathlessLogs(
  meta: MetadataStore,
  storage: StorageBackend,
  cache: string,
  before: number,
  batch: number,
): Promise<number> {
  let bytes = 0;
  for (;;) {
    const logs = await meta.gcDropLogs(cache, before, batch);
    if (logs.length > 0)
      bytes += (await deleteUnnamedBlobs(meta, storage, new Map(logs.map((l) => [l.blob, l.size])))).bytes;
    if (logs.length < batch) return bytes;
  }
}

export interface GcScheduleOptions {
  intervalMs: number;
  graceMs?: number;
  accessTimes?: GcOptions["accessTimes"];
  fetchGuard?: GcOptions["fetchGuard"];
  sweep?: SweepOptions;
  metrics?: GcMetrics;
  /** Told of each run's report (a log line). */
  onRun?: (r: GcReport) => void;
  onError(e: unknown): void;
}

/**
 * Runs the GC every `intervalMs` inside `serve`. Every replica schedules it; the lease lets one at
 * a time run it, the others skip that round. Each run is reported to the metrics, failed or not.
 */
export function startGc(meta: MetadataStore, storage: StorageBackend, o: GcScheduleOptions): Periodic {
  return every(
    o.intervalMs,
    async () => {
      const report = emptyReport(false);
      try {
        await collectGarbage(
          meta,
          storage,
          { graceMs: o.graceMs, accessTimes: o.accessTimes, fetchGuard: o.fetchGuard, sweep: o.sweep },
          report,
        );
      } catch (e) {
        if (e instanceof GcBusyError) return;
        record(o.metrics, report, false);
        throw e;
      }
      record(o.metrics, report, true);
      o.onRun?.(report);
    },
    o.onError,
  );
}

function record(metrics: GcMetrics | undefined, report: GcReport, ok: boolean): void {
  const { paths, bytes } = gcTotals(report);
  metrics?.recordRun({
    durationSeconds: report.durationSeconds,
    pathsDeleted: paths,
    bytesDeleted: bytes,
    ok,
  });
}
