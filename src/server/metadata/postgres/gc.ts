// Garbage collection on PostgreSQL: marking, planning and deleting in set statements over the
// GC's scratch tables (UNLOGGED tables shared by the replicas; one GC runs at a time, under the
// lease), each step one transaction of the pool.
import type pg from "pg";
import type { PostgresDb } from "../db/postgres.js";
import { lockNarInfos } from "../locks.js";
import { pruneExpiredPins } from "../queries/pins.js";
import type { GcBatch, GcMarkResult, GcThresholds } from "../types.js";

/**
 * For the GC's set queries: hash joins over millions of rows want more than the default work_mem,
 * and compiling them (JIT) cost more than it saved.
 */
export const GC_SETTINGS = "SET LOCAL work_mem = '256MB'; SET LOCAL jit = off";

/**
 * Takes out of `table`'s rows of `run` the `seeds` (a query over $1 = cache, $2 = run naming rows
 * of it) and what they reference within it, directly or not: those stay. The seeds go to a table
 * of their own first: estimated inside the recursive query, they were millions, and the planner
 * hashed every reference of the cache for what were a few dozen lookups.
 */
export async function keepClosure(
  c: pg.ClientBase,
  table: "gc_unreached" | "gc_doomed",
  seeds: string,
  cache: string,
  run: string,
): Promise<void> {
  await c.query("DELETE FROM gc_saved WHERE run = $1", [run]);
  await c.query(`INSERT INTO gc_saved (run, hash) SELECT DISTINCT $2, s.ref FROM (${seeds}) s`, [cache, run]);
  await c.query("ANALYZE gc_saved");
  await c.query(
    `WITH RECURSIVE saved(hash) AS (
       SELECT hash FROM gc_saved WHERE run = $2
       UNION
       SELECT r.ref FROM saved JOIN narinfo_refs r ON r.cache = $1 AND r.hash = saved.hash
       WHERE EXISTS (SELECT 1 FROM ${table} x WHERE x.run = $2 AND x.hash = r.ref))
     DELETE FROM ${table} d USING saved WHERE d.run = $2 AND d.hash = saved.hash`,
    [cache, run],
  );
  await c.query("DELETE FROM gc_saved WHERE run = $1", [run]);
}

/**
 * One transaction: the closure query reads one snapshot; commits go on meanwhile (they take no
 * lock this holds, but the marked rows). The unreached set it leaves is gcPlan's start.
 */
export function gcMark(
  db: PostgresDb,
  cache: string,
  t: GcThresholds & { dryRun?: boolean },
): Promise<GcMarkResult> {
  return db.tx(async (tx) => {
    const c = tx.client;
    await c.query(GC_SETTINGS);
    if (!t.dryRun) {
      const prune = pruneExpiredPins(cache, t.now).render("postgres");
      await c.query(prune.text, prune.params);
    }
    await c.query("DELETE FROM gc_unreached WHERE run = $1", [t.run]);
    // Roots are pins and what was pushed or fetched within the retention. Everything else is a
    // candidate; those a root needs, directly or not, are taken out again. Working from the
    // candidates' side costs what the garbage is, not what the cache holds.
    await c.query(
      `INSERT INTO gc_unreached (run, hash)
       SELECT $3, n.hash FROM narinfos n WHERE n.cache = $1 AND n.accessed_at < $2
         AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = $1 AND e.hash = n.hash)`,
      [cache, t.cutoff, t.run],
    );
    // The scratch table was empty when last analyzed: without this the planner loops.
    await c.query("ANALYZE gc_unreached");
    // What a root references, directly or through other candidates, stays.
    await keepClosure(
      c,
      "gc_unreached",
      `SELECT r.ref FROM gc_unreached d JOIN narinfo_refs r ON r.cache = $1 AND r.ref = d.hash
       WHERE d.run = $2 AND NOT EXISTS (SELECT 1 FROM gc_unreached x WHERE x.run = $2 AND x.hash = r.hash)`,
      cache,
      t.run,
    );
    if (!t.dryRun) {
      await c.query(
        `DELETE FROM gc_marks m WHERE m.cache = $1
           AND NOT EXISTS (SELECT 1 FROM gc_unreached g WHERE g.run = $2 AND g.hash = m.hash)`,
        [cache, t.run],
      );
      await c.query(
        // The anti-join first: a conflict found by the insert itself costs a speculative insertion
        // per row, and from the second run on nearly every unreached narinfo is marked already.
        `INSERT INTO gc_marks (cache, hash, marked_at) SELECT $1, g.hash, $3 FROM gc_unreached g
         WHERE g.run = $2 AND NOT EXISTS (SELECT 1 FROM gc_marks m WHERE m.cache = $1 AND m.hash = g.hash)
         ON CONFLICT (cache, hash) DO NOTHING`,
        [cache, t.run, t.now],
      );
      // The marks just changed, maybe by a third of the cache: plans for the batches need to know.
      await c.query("ANALYZE gc_marks");
    }
    const counts = (
      await c.query<{ paths: number; marked: number }>(
        `SELECT (SELECT COUNT(*) FROM narinfos WHERE cache = $1)::bigint AS paths,
           (SELECT COUNT(*) FROM gc_unreached WHERE run = $2)::bigint AS marked`,
        [cache, t.run],
      )
    ).rows[0];
    // The unreached set stays for gcPlan (gcFinish drops it).
    return { paths: counts?.paths ?? 0, marked: counts?.marked ?? 0 };
  });
}

export function gcPlan(
  db: PostgresDb,
  cache: string,
  t: GcThresholds & { bytes?: boolean },
): Promise<{ paths: number; bytes: number }> {
  return db.tx(async (tx) => {
    const c = tx.client;
    await c.query(GC_SETTINGS);
    await c.query("DELETE FROM gc_doomed WHERE run = $1", [t.run]);
    // Unreached at the mark, marked long enough, and not roots since (pushed, fetched, pinned).
    // Every referrer one had at the mark was unreached too; a referrer pushed since counts as
    // well, and keeps it. The count is how many must go before it.
    await c.query(
      `INSERT INTO gc_doomed (run, hash, url, referrers)
       SELECT $2, n.hash, n.url, (SELECT COUNT(*) FROM narinfo_refs r WHERE r.cache = $1 AND r.ref = n.hash)
       FROM gc_unreached u JOIN narinfos n ON n.cache = $1 AND n.hash = u.hash
         LEFT JOIN gc_marks m ON m.cache = $1 AND m.hash = u.hash
       WHERE u.run = $2 AND COALESCE(m.marked_at, $5) < $4 AND n.accessed_at < $3
         AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = $1 AND e.hash = n.hash)`,
      [cache, t.run, t.cutoff, t.markedBefore, t.unmarkedAt ?? Number.MAX_SAFE_INTEGER],
    );
    // For the query below, and for the batches, which pick by referrer count and delete by hash.
    await c.query("ANALYZE gc_doomed");
    // Only unreached narinfos reference unreached ones: what those marked too recently (or
    // fetched since) reference stays, with its closure.
    await keepClosure(
      c,
      "gc_doomed",
      `SELECT r.ref FROM gc_unreached u JOIN narinfo_refs r ON r.cache = $1 AND r.hash = u.hash
       WHERE u.run = $2 AND NOT EXISTS (SELECT 1 FROM gc_doomed x WHERE x.run = $2 AND x.hash = u.hash)
         AND EXISTS (SELECT 1 FROM gc_doomed x WHERE x.run = $2 AND x.hash = r.ref)`,
      cache,
      t.run,
    );
    const paths = Number(
      (await c.query<{ n: number }>("SELECT COUNT(*)::bigint AS n FROM gc_doomed WHERE run = $1", [t.run]))
        .rows[0]?.n ?? 0,
    );
    if (!t.bytes) return { paths, bytes: 0 };
    // Blobs of planned NAR records that nothing staying names: a URL no staying narinfo has,
    // and no other record or side file with the blob. `gone` is one cache's: the uncorrelated
    // IN is hashed once (a correlated lookup into the CTE was quadratic).
    const r = (
      await c.query<{ bytes: number }>(
        `WITH gone AS MATERIALIZED (
           SELECT u.url, u.blob, u.file_size FROM nars u
           WHERE u.cache = $1 AND u.url IN (SELECT url FROM gc_doomed WHERE run = $2)
             AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.url = u.url
               AND NOT EXISTS (SELECT 1 FROM gc_doomed x WHERE x.run = $2 AND x.hash = n.hash))),
         freed AS (
           SELECT blob, MAX(file_size) AS size FROM gone g
           WHERE NOT EXISTS (SELECT 1 FROM nars o WHERE o.blob = g.blob
               AND NOT (o.cache = $1 AND o.url IN (SELECT url FROM gone)))
             AND NOT EXISTS (SELECT 1 FROM side_files f WHERE f.blob = g.blob)
           GROUP BY blob)
         SELECT COALESCE(SUM(size), 0)::bigint AS bytes FROM freed`,
        [cache, t.run],
      )
    ).rows[0];
    return { paths, bytes: Number(r?.bytes ?? 0) };
  });
}

/**
 * Under the cache's narinfo lock, which commits take too: a commit that references a candidate
 * either lands first (the candidate then has a referrer and stays) or after (it finds the path
 * gone and waits for it, pending): it never sees a closure that is being broken.
 */
export function gcDeleteBatch(
  db: PostgresDb,
  cache: string,
  t: GcThresholds & {
    limit: number;
    protect?: (hashes: readonly string[]) => ReadonlySet<string>;
    dropNars?: readonly string[];
    dropNarsSince?: number;
  },
): Promise<GcBatch | undefined> {
  return db.tx(async (tx) => {
    const c = tx.client;
    await lockNarInfos(tx, cache);
    const now = Date.now();
    const ready = now - (t.lingerMs ?? 0);
    const drop = [...new Set(t.dropNars ?? [])];
    const nars =
      drop.length === 0
        ? []
        : (
            await c.query<{ blob: string; file_size: number }>(
              `DELETE FROM nars u WHERE u.cache = $1 AND u.url = ANY($2::text[]) AND u.created_at <= $3
                 AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.url = u.url)
               RETURNING u.blob, u.file_size`,
              [cache, drop, t.dropNarsSince ?? Number.MAX_SAFE_INTEGER],
            )
          ).rows;
    const batch = (
      await c.query<{ hash: string }>(
        // In index order: a scan of the table would pass every row deleted so far, each batch.
        // Within a release time that is the plan's insertion order, which follows the narinfos'
        // table: a batch is paths stored together, and their rows share pages (a batch in hash
        // order, random to the table, made the reference updates twice as slow).
        "SELECT hash FROM gc_doomed WHERE run = $1 AND referrers = 0 AND freed_at <= $2 ORDER BY freed_at LIMIT $3",
        [t.run, ready, t.limit],
      )
    ).rows.map((r) => r.hash);
    const out: GcBatch = {
      deleted: [],
      survived: 0,
      narUrls: [],
      nars: nars.map((r) => ({ blob: r.blob, fileSize: r.file_size })),
    };
    if (batch.length > 0) {
      const spared = [...(t.protect?.(batch) ?? [])];
      const deleted = await c.query<{ hash: string; url: string; deriver: string | null }>(
        `DELETE FROM narinfos n WHERE n.cache = $1 AND n.hash = ANY($2::text[]) AND NOT (n.hash = ANY($3::text[]))
           AND n.accessed_at < $5
           AND EXISTS (SELECT 1 FROM gc_marks m WHERE m.cache = $1 AND m.hash = n.hash AND m.marked_at < $4)
           AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = $1 AND e.hash = n.hash)
           AND NOT EXISTS (SELECT 1 FROM narinfo_refs r WHERE r.cache = $1 AND r.ref = n.hash)
         RETURNING n.hash, n.url, n.deriver`,
        [cache, batch, spared, t.markedBefore, t.cutoff],
      );
      const hashes = deleted.rows.map((r) => r.hash);
      if (hashes.length > 0) {
        await c.query(
          `WITH gone AS (DELETE FROM narinfo_refs WHERE cache = $1 AND hash = ANY($2::text[]) RETURNING ref)
           UPDATE gc_doomed d SET referrers = d.referrers - x.n, freed_at = $4
           FROM (SELECT ref, COUNT(*) AS n FROM gone GROUP BY ref) x WHERE d.run = $3 AND d.hash = x.ref`,
          [cache, hashes, t.run, now],
        );
        await c.query("DELETE FROM narinfo_waits WHERE cache = $1 AND hash = ANY($2::text[])", [
          cache,
          hashes,
        ]);
        await c.query("DELETE FROM gc_marks WHERE cache = $1 AND hash = ANY($2::text[])", [cache, hashes]);
        await c.query("DELETE FROM side_files WHERE cache = $1 AND kind = 'ls' AND name = ANY($2::text[])", [
          cache,
          hashes,
        ]);
        // The realisations naming a deleted path go with it, and so does the build log of its
        // deriver when no other narinfo names that deriver.
        await c.query("DELETE FROM realisations WHERE cache = $1 AND out_hash = ANY($2::text[])", [
          cache,
          hashes,
        ]);
        const derivers = [...new Set(deleted.rows.flatMap((r) => (r.deriver ? [r.deriver] : [])))];
        if (derivers.length > 0) {
          const logs = await c.query<{ blob: string | null; size: number }>(
            `DELETE FROM side_files f WHERE f.cache = $1 AND f.kind = 'log' AND f.name = ANY($2::text[])
               AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.deriver = f.name)
             RETURNING f.blob, f.size`,
            [cache, derivers],
          );
          for (const l of logs.rows) if (l.blob) out.nars.push({ blob: l.blob, fileSize: Number(l.size) });
        }
      }
      await c.query("DELETE FROM gc_doomed WHERE run = $1 AND hash = ANY($2::text[])", [t.run, batch]);
      out.deleted = hashes;
      out.survived = batch.length - hashes.length;
      out.narUrls = [...new Set(deleted.rows.map((r) => r.url))];
    }
    if (batch.length > 0) return out;
    const next = (
      await c.query<{ at: number | null }>(
        "SELECT MIN(freed_at) AS at FROM gc_doomed WHERE run = $1 AND referrers = 0",
        [t.run],
      )
    ).rows[0]?.at;
    if (next === null || next === undefined) return drop.length > 0 ? out : undefined;
    return { ...out, retryInMs: Math.max(1, next + (t.lingerMs ?? 0) - now) };
  });
}

export async function gcFinish(db: PostgresDb): Promise<void> {
  await db.tx(async (tx) => {
    const c = tx.client;
    await c.query("DELETE FROM gc_doomed");
    await c.query("DELETE FROM gc_unreached");
    await c.query("DELETE FROM gc_saved");
  });
}
