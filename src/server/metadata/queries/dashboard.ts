// The dashboard's data: CI reports, push activity and narinfo lookups (counted in memory and added
// now and then by server/activity.ts), a path's record, and the last GC run of each cache.
import { DbError } from "../../errors.js";
import { pushFromRow, type RawPush, type RawReport, reportFromRow } from "../dashboard-rows.js";
import {
  ACTIVITY_KEPT_MS,
  type ActivityBatch,
  BRANCHES_KEPT_PER_CACHE,
  type DashboardUsage,
  type GcRunRow,
  type NewReport,
  type PathRecord,
  type PushActivityRow,
  REPORTS_KEPT_PER_BRANCH,
  type ReportRow,
} from "../dashboard-store.js";
import type { Db } from "../db/database.js";
import { BYTE_ORDER, byEngine, raw, type Sql, sql, values } from "../db/sql.js";
import { bool } from "../rows.js";

/** A report's columns with its uploader's token description (`ci_reports r`, `tokens t`). */
const REPORT_COLUMNS = raw(`r.id, r.cache, r.kind, r.commit_id, r.branch, r.run_id, r.run_url, r.token_id,
  r.created_at, r.ok, r.counts, t.description AS token_description`);
const REPORTS = raw("FROM ci_reports r LEFT JOIN tokens t ON t.id = r.token_id");

/** A branch, or the reports without one: `=` where it can, so the (cache, branch, id) index serves. */
function ofBranch(column: string, branch: string | null): Sql {
  return branch === null ? sql`${raw(column)} IS NULL` : sql`${raw(column)} = ${branch}`;
}

/**
 * A quiet write (activity bears on no narinfo: a flush must not empty the narinfo caches in front
 * of the store, here or on other replicas). Rows come sorted by key (server/activity.ts), so
 * processes flushing at once take row locks in one order.
 */
export async function recordActivity(db: Db, batch: ActivityBatch): Promise<void> {
  await db.tx(
    async (t) => {
      for (const p of batch.pushes)
        await t.run(
          sql`INSERT INTO push_activity (cache, minute, token_id, run_id, paths, bytes)
              VALUES (${p.cache}, ${p.minute}, ${p.tokenId ?? ""}, ${p.run ?? ""}, ${p.paths}, ${p.bytes})
              ON CONFLICT (cache, minute, token_id, run_id) DO UPDATE
                SET paths = push_activity.paths + excluded.paths, bytes = push_activity.bytes + excluded.bytes`,
        );
      for (const l of batch.lookups)
        await t.run(
          sql`INSERT INTO narinfo_lookups (cache, hour, hits, misses) VALUES (${l.cache}, ${l.hour}, ${l.hits}, ${l.misses})
              ON CONFLICT (cache, hour) DO UPDATE
                SET hits = narinfo_lookups.hits + excluded.hits, misses = narinfo_lookups.misses + excluded.misses`,
        );
      if (batch.prune) {
        const cutoff = Date.now() - ACTIVITY_KEPT_MS;
        await t.run(sql`DELETE FROM push_activity WHERE minute < ${cutoff}`);
        await t.run(sql`DELETE FROM narinfo_lookups WHERE hour < ${cutoff}`);
      }
    },
    { quiet: true },
  );
}

/**
 * Keeps only the newest REPORTS_KEPT_PER_BRANCH of the report's cache and branch, and of the
 * cache's branches the BRANCHES_KEPT_PER_CACHE whose newest report is newest: the first report of
 * a branch past that drops every report of the branch reported least recently (those without a
 * branch count as one branch, which stays).
 */
export async function insertReport(db: Db, r: NewReport): Promise<ReportRow> {
  const id = await db.tx(async (t) => {
    const row = await t.get<{ id: number }>(
      sql`INSERT INTO ci_reports (cache, kind, commit_id, branch, run_id, run_url, token_id, created_at, ok, counts, targets)
          VALUES (${r.cache}, ${r.kind}, ${r.commit}, ${r.branch}, ${r.runId}, ${r.runUrl}, ${r.tokenId}, ${Date.now()},
            ${r.ok}, ${r.counts}, ${r.targets})
          RETURNING id`,
    );
    await t.run(
      sql`DELETE FROM ci_reports WHERE cache = ${r.cache} AND ${ofBranch("branch", r.branch)} AND id <= (
            SELECT id FROM ci_reports WHERE cache = ${r.cache} AND ${ofBranch("branch", r.branch)}
            ORDER BY id DESC LIMIT 1 OFFSET ${REPORTS_KEPT_PER_BRANCH})`,
    );
    const first = await t.get<{ n: number }>(
      sql`SELECT COUNT(*) AS n FROM ci_reports WHERE cache = ${r.cache} AND ${ofBranch("branch", r.branch)}`,
    );
    if (r.branch !== null && Number(first?.n) === 1)
      await t.run(
        sql`DELETE FROM ci_reports WHERE cache = ${r.cache} AND branch IN (
              SELECT branch FROM ci_reports WHERE cache = ${r.cache} AND branch IS NOT NULL
              GROUP BY branch ORDER BY MAX(id) DESC LIMIT ${Number.MAX_SAFE_INTEGER} OFFSET ${BRANCHES_KEPT_PER_CACHE})`,
      );
    return Number(row?.id);
  });
  const report = await getReport(db, r.cache, id);
  if (!report) throw new DbError("internal", "report was not stored");
  const { targets: _, ...row } = report;
  return row;
}

export async function listReports(
  db: Db,
  cache: string,
  q: { branch?: string | null; before?: number; limit: number },
): Promise<ReportRow[]> {
  const branch = q.branch === undefined ? raw("TRUE") : ofBranch("r.branch", q.branch);
  const rows = await db.all<RawReport>(
    sql`SELECT ${REPORT_COLUMNS} ${REPORTS}
        WHERE r.cache = ${cache} AND r.id < ${q.before ?? Number.MAX_SAFE_INTEGER} AND ${branch}
        ORDER BY r.id DESC LIMIT ${q.limit}`,
  );
  return rows.map(reportFromRow);
}

/**
 * Walks the cache's reports newest first (the (cache, id) index) and keeps those no newer report of
 * their branch follows (the (cache, branch, id) index): it stops after `limit`, however many
 * branches there are. The unnamed branch (NULL) is matched by its own test, so both stay index reads.
 */
export async function latestReports(
  db: Db,
  cache: string,
  q: { limit: number; before?: number; search?: string },
): Promise<ReportRow[]> {
  const search =
    q.search === undefined
      ? raw("TRUE")
      : byEngine({
          sqlite: sql`instr(lower(r.branch), lower(${q.search})) > 0`,
          postgres: sql`strpos(lower(r.branch), lower(${q.search})) > 0`,
        });
  const rows = await db.all<RawReport>(
    sql`SELECT ${REPORT_COLUMNS} ${REPORTS}
        WHERE r.cache = ${cache} AND r.id < ${q.before ?? Number.MAX_SAFE_INTEGER} AND ${search}
          AND NOT EXISTS (SELECT 1 FROM ci_reports x WHERE x.cache = r.cache AND x.branch = r.branch AND x.id > r.id)
          AND (r.branch IS NOT NULL
            OR NOT EXISTS (SELECT 1 FROM ci_reports x WHERE x.cache = r.cache AND x.branch IS NULL AND x.id > r.id))
        ORDER BY r.id DESC LIMIT ${q.limit}`,
  );
  return rows.map(reportFromRow);
}

export async function getReport(db: Db, cache: string, id: number): Promise<ReportRow | undefined> {
  const r = await db.get<RawReport>(
    sql`SELECT ${REPORT_COLUMNS}, r.targets ${REPORTS} WHERE r.cache = ${cache} AND r.id = ${id}`,
  );
  return r && reportFromRow(r);
}

export async function reportsOfRuns(db: Db, cache: string, runs: readonly string[]): Promise<ReportRow[]> {
  if (runs.length === 0) return [];
  const rows = await db.all<RawReport>(
    sql`SELECT ${REPORT_COLUMNS} ${REPORTS} WHERE r.id IN (SELECT MAX(id) FROM ci_reports
          WHERE cache = ${cache} AND run_id IN ${values(runs)} GROUP BY run_id)`,
  );
  return rows.map(reportFromRow);
}

/** One round trip; each part reads an index (the pending one, narinfos_created, keys). */
export async function dashboardUsage(db: Db, cache: string, since: number): Promise<DashboardUsage> {
  const r = await db.get<{ pending: number; last_push_at: number | null; hits: number; misses: number }>(
    sql`SELECT
          (SELECT COUNT(*) FROM narinfos WHERE cache = ${cache} AND NOT visible) AS pending,
          (SELECT MAX(created_at) FROM narinfos WHERE cache = ${cache}) AS last_push_at,
          (SELECT COALESCE(SUM(hits), 0) FROM narinfo_lookups WHERE cache = ${cache} AND hour >= ${since}) AS hits,
          (SELECT COALESCE(SUM(misses), 0) FROM narinfo_lookups WHERE cache = ${cache} AND hour >= ${since}) AS misses`,
  );
  return {
    pending: Number(r?.pending ?? 0),
    lastPushAt: r?.last_push_at === null || r?.last_push_at === undefined ? null : Number(r.last_push_at),
    hits: Number(r?.hits ?? 0),
    misses: Number(r?.misses ?? 0),
  };
}

/** Whole minutes: at least `limit` rows when there are as many, and every row of the last minute. */
export async function recentPushes(
  db: Db,
  cache: string,
  q: { before?: number; limit: number },
): Promise<PushActivityRow[]> {
  const before = q.before ?? Number.MAX_SAFE_INTEGER;
  const rows = await db.all<RawPush>(
    sql`SELECT a.cache, a.minute, a.token_id, a.run_id, a.paths, a.bytes, t.description, t.perm, t.kind
        FROM push_activity a LEFT JOIN tokens t ON t.id = a.token_id
        WHERE a.cache = ${cache} AND a.minute < ${before} AND a.minute >= COALESCE((SELECT MIN(minute) FROM
          (SELECT minute FROM push_activity WHERE cache = ${cache} AND minute < ${before}
           ORDER BY minute DESC LIMIT ${q.limit}) m), 0)
        ORDER BY a.minute DESC, a.token_id${BYTE_ORDER}, a.run_id${BYTE_ORDER}`,
  );
  return rows.map(pushFromRow);
}

export async function pathRecord(db: Db, cache: string, hash: string): Promise<PathRecord> {
  const r = await db.get<{
    hash: string | null;
    store_path: string;
    url: string;
    text: string;
    visible: boolean | number;
    created_at: number;
    accessed_at: number;
    upstream: boolean | number;
  }>(
    sql`SELECT n.hash, n.store_path, n.url, n.text, n.visible, n.created_at, n.accessed_at,
          EXISTS (SELECT 1 FROM upstream_paths u WHERE u.cache = ${cache} AND u.hash = ${hash}) AS upstream
        FROM (SELECT 1 AS one) one LEFT JOIN narinfos n ON n.cache = ${cache} AND n.hash = ${hash}`,
  );
  const upstream = bool(r?.upstream);
  if (!r || r.hash === null) return { upstream };
  const waits = bool(r.visible)
    ? []
    : await db.all<{ hash: string; store_path: string | null }>(
        sql`SELECT w.ref AS hash, n.store_path FROM narinfo_waits w
            LEFT JOIN narinfos n ON n.cache = w.cache AND n.hash = w.ref
            WHERE w.cache = ${cache} AND w.hash = ${hash} ORDER BY w.ref${BYTE_ORDER}`,
      );
  return {
    upstream,
    narinfo: {
      hash: r.hash,
      storePath: r.store_path,
      url: r.url,
      text: r.text,
      visible: bool(r.visible),
      createdAt: r.created_at,
      accessedAt: r.accessed_at,
      waitingFor: waits.map((w) => ({ hash: w.hash, storePath: w.store_path })),
    },
  };
}

export async function recordGcRun(db: Db, run: GcRunRow): Promise<void> {
  await db.run(
    sql`INSERT INTO gc_last_runs (cache, ended_at, deleted_paths, deleted_bytes)
        VALUES (${run.cache}, ${run.endedAt}, ${run.deletedPaths}, ${run.deletedBytes})
        ON CONFLICT (cache) DO UPDATE SET ended_at = excluded.ended_at, deleted_paths = excluded.deleted_paths,
          deleted_bytes = excluded.deleted_bytes`,
  );
}

export async function lastGcRun(db: Db, cache: string): Promise<GcRunRow | undefined> {
  const r = await db.get<{ cache: string; ended_at: number; deleted_paths: number; deleted_bytes: number }>(
    sql`SELECT cache, ended_at, deleted_paths, deleted_bytes FROM gc_last_runs WHERE cache = ${cache}`,
  );
  return (
    r && { cache: r.cache, endedAt: r.ended_at, deletedPaths: r.deleted_paths, deletedBytes: r.deleted_bytes }
  );
}
