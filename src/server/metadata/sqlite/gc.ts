// Garbage collection on SQLite: marking, planning and deleting in set statements over the GC's
// scratch tables, prepared once per connection. The scratch tables are TEMP: this connection's
// own, gone with it (one GC runs at a time anyway, under the lease). Each step runs synchronously
// in the connection's turn (SqliteDb.exclusive), so no async transaction of the store interleaves.
import type Database from "better-sqlite3";
import type { SqliteDb } from "../db/sqlite.js";
import { pruneExpiredPins } from "../queries/pins.js";
import type { GcBatch, GcMarkResult, GcThresholds } from "../types.js";

/** A prepared statement: an interface, so that this module's declarations can name it. */
export interface Stmt extends Database.Statement<unknown[], unknown> {}

/**
 * Takes out of `table`'s rows of @run the `seeds` (a query naming rows of it, `ref` its column)
 * and what they reference within it, directly or not: those stay.
 */
const keepClosure = (table: "gc_unreached" | "gc_doomed", seeds: string) => `WITH RECURSIVE saved(hash) AS (
    ${seeds}
    UNION
    SELECT r.ref FROM saved JOIN narinfo_refs r ON r.cache = @cache AND r.hash = saved.hash
    WHERE EXISTS (SELECT 1 FROM temp.${table} x WHERE x.run = @run AND x.hash = r.ref))
  DELETE FROM temp.${table} WHERE run = @run AND hash IN (SELECT hash FROM saved)`;

function prepareGcStatements(db: Database.Database) {
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS gc_unreached (
  run TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (run, hash)
) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS gc_doomed (
  run TEXT NOT NULL,
  hash TEXT NOT NULL,
  url TEXT NOT NULL,
  referrers INTEGER NOT NULL DEFAULT 0,
  freed_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run, hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS temp.gc_doomed_free ON gc_doomed(run, referrers, freed_at);
CREATE INDEX IF NOT EXISTS temp.gc_doomed_url ON gc_doomed(run, url);`);
  const p = (sql: string): Stmt => db.prepare(sql);
  return {
    clearUnreached: p("DELETE FROM temp.gc_unreached WHERE run = ?"),
    // Roots are pins and what was pushed or fetched within the retention; everything else is a
    // candidate, and those a root needs are taken out again (reached): the work is what the
    // garbage is, not what the cache holds. The set stays for gcPlan, until gcFinish.
    candidates: p(
      `INSERT INTO temp.gc_unreached (run, hash)
       SELECT @run, n.hash FROM narinfos n WHERE n.cache = @cache AND n.accessed_at < @cutoff
         AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = @cache AND e.hash = n.hash)`,
    ),
    // What a root references, directly or through other candidates, stays.
    reached: p(
      keepClosure(
        "gc_unreached",
        `SELECT r.ref FROM temp.gc_unreached d JOIN narinfo_refs r ON r.cache = @cache AND r.ref = d.hash
         WHERE d.run = @run AND NOT EXISTS (SELECT 1 FROM temp.gc_unreached x WHERE x.run = @run AND x.hash = r.hash)`,
      ),
    ),
    unmark: p(
      `DELETE FROM gc_marks WHERE cache = @cache
         AND hash NOT IN (SELECT hash FROM temp.gc_unreached WHERE run = @run)`,
    ),
    mark: p(
      `INSERT INTO gc_marks (cache, hash, marked_at) SELECT @cache, g.hash, @now FROM temp.gc_unreached g
       WHERE g.run = @run AND NOT EXISTS (SELECT 1 FROM gc_marks m WHERE m.cache = @cache AND m.hash = g.hash)`,
    ),
    paths: p("SELECT COUNT(*) FROM narinfos WHERE cache = ?").pluck(),
    unreached: p("SELECT COUNT(*) FROM temp.gc_unreached WHERE run = @run").pluck(),

    clearDoomed: p("DELETE FROM temp.gc_doomed WHERE run = ?"),
    // Unreached at the mark, marked long enough, and not roots since (pushed, fetched, pinned).
    // Every referrer one had at the mark was unreached too; a referrer pushed since counts as
    // well, and keeps it. The count is how many must go before it.
    eligible: p(
      `INSERT INTO temp.gc_doomed (run, hash, url, referrers)
       SELECT @run, n.hash, n.url, (SELECT COUNT(*) FROM narinfo_refs r WHERE r.cache = @cache AND r.ref = n.hash)
       FROM temp.gc_unreached u JOIN narinfos n ON n.cache = @cache AND n.hash = u.hash
         LEFT JOIN gc_marks m ON m.cache = @cache AND m.hash = u.hash
       WHERE u.run = @run AND COALESCE(m.marked_at, @unmarkedAt) < @markedBefore AND n.accessed_at < @cutoff
         AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = @cache AND e.hash = n.hash)`,
    ),
    // Only unreached narinfos reference unreached ones: what those marked too recently (or
    // fetched since) reference stays, with its closure.
    saved: p(
      keepClosure(
        "gc_doomed",
        `SELECT r.ref FROM temp.gc_unreached u JOIN narinfo_refs r ON r.cache = @cache AND r.hash = u.hash
         WHERE u.run = @run AND NOT EXISTS (SELECT 1 FROM temp.gc_doomed x WHERE x.run = @run AND x.hash = u.hash)
           AND EXISTS (SELECT 1 FROM temp.gc_doomed x WHERE x.run = @run AND x.hash = r.ref)`,
      ),
    ),
    planned: p("SELECT COUNT(*) FROM temp.gc_doomed WHERE run = ?").pluck(),
    // Blobs of planned NAR records that nothing staying names: a URL no staying narinfo has, and no
    // other record or side file with the blob.
    plannedBytes: p(
      `WITH gone(url, blob, file_size) AS MATERIALIZED (
         SELECT u.url, u.blob, u.file_size FROM nars u
         WHERE u.cache = @cache AND u.url IN (SELECT url FROM temp.gc_doomed WHERE run = @run)
           AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = @cache AND n.url = u.url
             AND NOT EXISTS (SELECT 1 FROM temp.gc_doomed x WHERE x.run = @run AND x.hash = n.hash)))
       SELECT COALESCE(SUM(size), 0) FROM (SELECT blob, MAX(file_size) AS size FROM gone g
         WHERE NOT EXISTS (SELECT 1 FROM nars o WHERE o.blob = g.blob
             AND NOT (o.cache = @cache AND o.url IN (SELECT url FROM gone)))
           AND NOT EXISTS (SELECT 1 FROM side_files f WHERE f.blob = g.blob)
         GROUP BY blob)`,
    ).pluck(),

    freeBatch: p(
      "SELECT hash, url FROM temp.gc_doomed WHERE run = ? AND referrers = 0 AND freed_at <= ? ORDER BY freed_at LIMIT ?",
    ),
    nextFree: p("SELECT MIN(freed_at) FROM temp.gc_doomed WHERE run = ? AND referrers = 0").pluck(),
    // The re-check, under the write lock: still marked long enough, not accessed, pinned or referenced.
    deletable: p(
      `SELECT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = @cache AND n.hash = @hash
         AND n.accessed_at < @cutoff
         AND EXISTS (SELECT 1 FROM gc_marks m WHERE m.cache = @cache AND m.hash = n.hash AND m.marked_at < @markedBefore)
         AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = @cache AND e.hash = n.hash)
         AND NOT EXISTS (SELECT 1 FROM narinfo_refs r WHERE r.cache = @cache AND r.ref = n.hash))`,
    ).pluck(),
    deleteNarInfo: p("DELETE FROM narinfos WHERE cache = ? AND hash = ? RETURNING deriver").pluck(),
    /** The build log of a deriver no narinfo of the cache names any more goes with its last path. */
    deleteLog: p(
      `DELETE FROM side_files WHERE cache = @cache AND kind = 'log' AND name = @name
         AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = @cache AND n.deriver = @name)
       RETURNING blob, size`,
    ),
    deleteMark: p("DELETE FROM gc_marks WHERE cache = ? AND hash = ?"),
    deleteRefs: p("DELETE FROM narinfo_refs WHERE cache = ? AND hash = ? RETURNING ref").pluck(),
    releaseReferrer: p(
      "UPDATE temp.gc_doomed SET referrers = referrers - 1, freed_at = ? WHERE run = ? AND hash = ?",
    ),
    deleteWaits: p("DELETE FROM narinfo_waits WHERE cache = ? AND hash = ?"),
    deleteListing: p("DELETE FROM side_files WHERE cache = ? AND kind = 'ls' AND name = ?"),
    /** The realisations naming a deleted path go with it. */
    deleteRealisations: p("DELETE FROM realisations WHERE cache = ? AND out_hash = ?"),
    deleteNar: p(
      `DELETE FROM nars WHERE cache = @cache AND url = @url AND created_at <= @since
         AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = @cache AND n.url = @url)
       RETURNING blob, file_size`,
    ),
    dropDoomed: p("DELETE FROM temp.gc_doomed WHERE run = ? AND hash = ?"),
    finish: p("DELETE FROM temp.gc_doomed"),
    finishUnreached: p("DELETE FROM temp.gc_unreached"),
  };
}

export class SqliteGc {
  private st: ReturnType<typeof prepareGcStatements> | undefined;

  constructor(private readonly db: SqliteDb) {}

  /** Prepared on first use (in the turn: creating the TEMP tables is a write). */
  private get g(): ReturnType<typeof prepareGcStatements> {
    this.st ??= prepareGcStatements(this.db.sqlite);
    return this.st;
  }

  /**
   * The closure query reads one snapshot into a TEMP table (no write lock: other writers go on);
   * then one immediate transaction changes the (few) marks that differ. It all runs synchronously:
   * a server on SQLite answers nothing else meanwhile (noticeable with millions of narinfos;
   * servers on PostgreSQL are not held up).
   */
  mark(cache: string, t: GcThresholds & { dryRun?: boolean }): Promise<GcMarkResult> {
    return this.db.exclusive(() => {
      const g = this.g;
      const sqlite = this.db.sqlite;
      const args = { cache, run: t.run, now: t.now, cutoff: t.cutoff };
      if (!t.dryRun) {
        const prune = pruneExpiredPins(cache, t.now).render("sqlite");
        sqlite.prepare(prune.text).run(...prune.params);
      }
      sqlite.transaction(() => {
        g.clearUnreached.run(t.run);
        g.candidates.run(args);
        g.reached.run(args);
      })();
      // The unreached set stays for gcPlan (gcFinish drops it).
      return sqlite
        .transaction(() => {
          if (!t.dryRun) {
            g.unmark.run(args);
            g.mark.run(args);
          }
          return { paths: g.paths.get(cache) as number, marked: g.unreached.get(args) as number };
        })
        .immediate();
    });
  }

  plan(cache: string, t: GcThresholds & { bytes?: boolean }): Promise<{ paths: number; bytes: number }> {
    return this.db.exclusive(() => {
      const g = this.g;
      return this.db.sqlite.transaction(() => {
        const args = { cache, run: t.run, cutoff: t.cutoff, markedBefore: t.markedBefore };
        g.clearDoomed.run(t.run);
        g.eligible.run({ ...args, unmarkedAt: t.unmarkedAt ?? Number.MAX_SAFE_INTEGER });
        g.saved.run(args);
        return {
          paths: g.planned.get(t.run) as number,
          bytes: t.bytes ? (g.plannedBytes.get({ cache, run: t.run }) as number) : 0,
        };
      })();
    });
  }

  /** Synchronous under the write lock: no request of this process, and no other writer, in between. */
  deleteBatch(
    cache: string,
    t: GcThresholds & {
      limit: number;
      protect?: (hashes: readonly string[]) => ReadonlySet<string>;
      dropNars?: readonly string[];
      dropNarsSince?: number;
    },
  ): Promise<GcBatch | undefined> {
    const since = t.dropNarsSince ?? Number.MAX_SAFE_INTEGER;
    return this.db.exclusive(() => {
      const g = this.g;
      return this.db.sqlite
        .transaction(() => {
          const now = Date.now();
          const ready = now - (t.lingerMs ?? 0);
          const out: GcBatch = { deleted: [], survived: 0, narUrls: [], nars: [] };
          const drop = new Set(t.dropNars ?? []);
          for (const url of drop) {
            const nar = g.deleteNar.get({ cache, url, since }) as
              | { blob: string; file_size: number }
              | undefined;
            if (nar) out.nars.push({ blob: nar.blob, fileSize: nar.file_size });
          }
          const batch = g.freeBatch.all(t.run, ready, t.limit) as Array<{ hash: string; url: string }>;
          const spared = batch.length > 0 ? (t.protect?.(batch.map((b) => b.hash)) ?? new Set()) : new Set();
          const urls = new Set<string>();
          const derivers = new Set<string>();
          for (const { hash, url } of batch) {
            g.dropDoomed.run(t.run, hash);
            const args = { cache, hash, cutoff: t.cutoff, markedBefore: t.markedBefore };
            if (spared.has(hash) || g.deletable.get(args) !== 1) {
              out.survived++;
              continue;
            }
            const deriver = g.deleteNarInfo.get(cache, hash) as string | null | undefined;
            if (deriver) derivers.add(deriver);
            g.deleteMark.run(cache, hash);
            for (const ref of g.deleteRefs.all(cache, hash) as string[])
              g.releaseReferrer.run(now, t.run, ref);
            g.deleteWaits.run(cache, hash);
            g.deleteListing.run(cache, hash);
            g.deleteRealisations.run(cache, hash);
            urls.add(url);
            out.deleted.push(hash);
          }
          for (const name of derivers) {
            const log = g.deleteLog.get({ cache, name }) as { blob: string | null; size: number } | undefined;
            if (log?.blob) out.nars.push({ blob: log.blob, fileSize: log.size });
          }
          out.narUrls = [...urls];
          if (batch.length > 0) return out;
          const next = g.nextFree.get(t.run);
          if (typeof next !== "number") return drop.size > 0 ? out : undefined;
          return { ...out, retryInMs: Math.max(1, next + (t.lingerMs ?? 0) - now) };
        })
        .immediate();
    });
  }

  finish(): Promise<void> {
    return this.db.exclusive(() => {
      this.g.finish.run();
      this.g.finishUnreached.run();
    });
  }
}
