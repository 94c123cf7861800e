// The dashboard's part of the metadata store (MetadataStore extends it): CI reports, push
// activity, narinfo lookups, a path's record and the last GC run, with the records they return.
//
// Activity is counted in memory and added now and then (server/activity.ts). It bears on no
// narinfo, so it does not move `changes.local()`, and on PostgreSQL it notifies nobody: a flush
// must not empty the narinfo caches in front of the store. (SQLite's data_version, which other
// connections read as `external`, moves on any commit: one reset per flush and worker at most.)
import type { Permission, TokenRow } from "./types.js";

/** Reports kept per cache and branch: the history the dashboard offers. */
export const REPORTS_KEPT_PER_BRANCH = 100;
/**
 * Branches with reports kept per cache: a new branch past it drops the reports of the branch
 * reported least recently (CI on thousands of short-lived branches would keep them all).
 */
export const BRANCHES_KEPT_PER_CACHE = 500;
/** Push activity and narinfo lookups older than this are dropped at a flush. */
export const ACTIVITY_KEPT_MS = 90 * 24 * 3600_000;

export interface DashboardStore {
  /** Adds the counts (upserts: pushes per cache, minute, token, run; lookups per cache, hour). */
  recordActivity(batch: ActivityBatch): Promise<void>;
  /**
   * Stores a report; keeps only the newest REPORTS_KEPT_PER_BRANCH of its cache and branch, and
   * the BRANCHES_KEPT_PER_CACHE branches reported most recently (the oldest go, all their reports).
   */
  insertReport(r: NewReport): Promise<ReportRow>;
  /**
   * Reports of a cache, newest first, without their targets: of one branch (null: those without
   * one) or of all (undefined); `before`: ids below it only.
   */
  listReports(
    cache: string,
    q: { branch?: string | null; before?: number; limit: number },
  ): Promise<ReportRow[]>;
  /**
   * The newest report of each branch (those without a branch count as one), newest first, no
   * targets, at most `limit`: of branches whose newest report is below `before` (the last id of a
   * page), and with `search`, of branches whose name holds that text (letters in any case).
   */
  latestReports(cache: string, q: { limit: number; before?: number; search?: string }): Promise<ReportRow[]>;
  /** One report with its targets. */
  getReport(cache: string, id: number): Promise<ReportRow | undefined>;
  /** The newest report naming each of these runs, no targets. */
  reportsOfRuns(cache: string, runs: readonly string[]): Promise<ReportRow[]>;
  /** Pending narinfos, last push, and narinfo lookups counted since `since`. */
  dashboardUsage(cache: string, since: number): Promise<DashboardUsage>;
  /**
   * Pushes, newest minute first, of minutes before `before`: at least `limit` rows when there are
   * as many, and whole minutes (the last minute's rows all come).
   */
  recentPushes(cache: string, q: { before?: number; limit: number }): Promise<PushActivityRow[]>;
  /** The narinfo of a hash part whether visible or pending, and whether upstream serves it. */
  pathRecord(cache: string, hash: string): Promise<PathRecord>;
  /** Records what a GC run did in a cache (the last run is kept). */
  recordGcRun(run: GcRunRow): Promise<void>;
  /** The cache's last GC run, if one ran. */
  lastGcRun(cache: string): Promise<GcRunRow | undefined>;
  /** Names of the cache's pins whose revisions' closures (narinfo_refs) hold the path `hash`. */
  pinsKeeping(cache: string, hash: string): Promise<string[]>;
}

/** Pushes counted in memory for one cache, minute, token and CI run (server/activity.ts). */
export interface PushCount {
  cache: string;
  /** Start of the minute (ms since the epoch). */
  minute: number;
  tokenId: string | null;
  run: string | null;
  paths: number;
  bytes: number;
}

/** Narinfo lookups counted in memory for one cache and hour. */
export interface LookupCount {
  cache: string;
  /** Start of the hour (ms since the epoch). */
  hour: number;
  hits: number;
  misses: number;
}

/** What the server counted since its last flush: added to what is stored. */
export interface ActivityBatch {
  pushes: readonly PushCount[];
  lookups: readonly LookupCount[];
  /** Also drop counts older than ACTIVITY_KEPT_MS (asked for now and then, not at every flush). */
  prune?: boolean;
}

/** An uploaded CI report (`nixcache ci`/`verify --report-to`). */
export interface NewReport {
  cache: string;
  kind: string;
  commit: string | null;
  branch: string | null;
  runId: string | null;
  runUrl: string | null;
  tokenId: string | null;
  ok: boolean;
  /** JSON of the status counts. */
  counts: string;
  /** JSON of the targets, as uploaded (checked). */
  targets: string;
}

export interface ReportRow extends Omit<NewReport, "targets"> {
  id: number;
  createdAt: number;
  /** The uploading token's description, if it has one. */
  tokenDescription: string | null;
  /** Only where asked for (getReport): lists leave it out. */
  targets?: string;
}

/** What the dashboard shows of a cache beside its row, gathered in one call. */
export interface DashboardUsage {
  pending: number;
  /** When the newest narinfo was committed. */
  lastPushAt: number | null;
  /** Narinfo lookups since the time asked for. */
  hits: number;
  misses: number;
}

/** A row of the recent pushes: one cache, minute, token and run. */
export interface PushActivityRow extends PushCount {
  token: { description: string | null; perm: Permission; kind: TokenRow["kind"] } | null;
}

/** A narinfo as stored, visible or pending, for the path lookup. */
export interface StoredNarInfo {
  hash: string;
  storePath: string;
  url: string;
  text: string;
  visible: boolean;
  createdAt: number;
  /** Its last push or fetch (what retention counts from). */
  accessedAt: number;
  /** The references it waits for (pending only), with their store paths when stored here (pending too). */
  waitingFor: Array<{ hash: string; storePath: string | null }>;
}

/** What the cache knows of a hash part: its narinfo (visible or pending), or that upstream serves it. */
export interface PathRecord {
  narinfo?: StoredNarInfo;
  /** Marked as served by an upstream cache (markUpstream). */
  upstream: boolean;
}

/** A cache's part of a garbage collection run (what the dashboard shows of the last one). */
export interface GcRunRow {
  cache: string;
  endedAt: number;
  deletedPaths: number;
  /** Bytes of storage freed. */
  deletedBytes: number;
}
