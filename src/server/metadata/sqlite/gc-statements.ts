// The SQL of retention, quotas, access times, pins and garbage collection in the SQLite store,
// prepared once per connection. The GC's scratch tables are TEMP: this connection's own, gone with
// it (one GC runs at a time anyway, under the lease).
import type Database from "better-sqlite3";
import type { Stmt } from "./statements.js";

/**
 * Pin revisions older than their pin's `keep_days` (the newest of each pin always stays). Newest
 * is by created_at, then id (a data copy renumbers ids).
 */
const EXPIRED_PIN_ENTRIES = `SELECT e.id FROM pin_entries e JOIN pins p ON p.cache = e.cache AND p.name = e.pin
  WHERE e.cache = @cache AND p.keep_days IS NOT NULL AND e.created_at < @now - p.keep_days * 86400000
    AND e.id <> (SELECT x.id FROM pin_entries x WHERE x.cache = e.cache AND x.pin = e.pin
                 ORDER BY x.created_at DESC, x.id DESC LIMIT 1)`;

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

export function prepareGcStatements(db: Database.Database) {
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
    setRetention: p("UPDATE caches SET retention_ms = ? WHERE name = ?"),
    setQuota: p("UPDATE caches SET quota_bytes = ? WHERE name = ?"),
    retentionOf: p("SELECT retention_ms FROM caches WHERE name = ?").pluck(),
    clearMarks: p("DELETE FROM gc_marks WHERE cache = ?"),
    usage: p("SELECT used_bytes FROM caches WHERE name = ?").pluck(),
    access: p(
      "UPDATE narinfos SET accessed_at = @at WHERE cache = @cache AND hash = @hash AND accessed_at < @at",
    ),

    visibleStorePath: p(
      "SELECT store_path FROM narinfos WHERE cache = ? AND hash = ? AND visible = 1",
    ).pluck(),
    ensurePin: p(
      "INSERT OR IGNORE INTO pins (cache, name, keep_revisions, keep_days, created_at) VALUES (?, ?, NULL, NULL, ?)",
    ),
    setPinKeep: p("UPDATE pins SET keep_revisions = ?, keep_days = ? WHERE cache = ? AND name = ?"),
    dropPinEntry: p("DELETE FROM pin_entries WHERE cache = ? AND pin = ? AND hash = ?"),
    insertPinEntry: p(
      "INSERT INTO pin_entries (cache, pin, hash, store_path, artifacts, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    pruneRevisions: p(
      `DELETE FROM pin_entries WHERE cache = @cache AND pin = @pin AND id NOT IN
         (SELECT id FROM pin_entries WHERE cache = @cache AND pin = @pin
          ORDER BY created_at DESC, id DESC LIMIT @keep)`,
    ),
    pruneDays: p(`DELETE FROM pin_entries WHERE id IN (${EXPIRED_PIN_ENTRIES} AND e.pin = @pin)`),
    pins: p(
      `SELECT p.name, p.keep_revisions, p.keep_days, p.created_at, e.hash, e.store_path, e.artifacts,
         e.created_at AS added_at
       FROM pins p LEFT JOIN pin_entries e ON e.cache = p.cache AND e.pin = p.name
       WHERE p.cache = @cache AND (@name IS NULL OR p.name = @name) ORDER BY p.name, e.created_at DESC, e.id DESC`,
    ),
    removePin: p("DELETE FROM pins WHERE cache = ? AND name = ?"),

    acquireLease: p(
      `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @until)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.expires_at < @now OR leases.holder = excluded.holder`,
    ),
    releaseLease: p("DELETE FROM leases WHERE name = ? AND holder = ?"),

    pruneExpiredPins: p(`DELETE FROM pin_entries WHERE id IN (${EXPIRED_PIN_ENTRIES})`),
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
         AND NOT EXISTS (SELECT 1 FROM temp.gc_unreached g WHERE g.run = @run AND g.hash = gc_marks.hash)`,
    ),
    mark: p(
      `INSERT OR IGNORE INTO gc_marks (cache, hash, marked_at)
       SELECT @cache, g.hash, @now FROM temp.gc_unreached g WHERE g.run = @run`,
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
         JOIN gc_marks m ON m.cache = @cache AND m.hash = u.hash
       WHERE u.run = @run AND m.marked_at < @markedBefore AND n.accessed_at < @cutoff
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
    deleteNarInfo: p("DELETE FROM narinfos WHERE cache = ? AND hash = ?"),
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

    referenced: p(
      "SELECT EXISTS (SELECT 1 FROM nars WHERE blob = @blob) OR EXISTS (SELECT 1 FROM side_files WHERE blob = @blob)",
    ).pluck(),
    claim: p(
      `INSERT INTO blob_claims (blob, claimed_at) VALUES (?, ?)
       ON CONFLICT (blob) DO UPDATE SET claimed_at = excluded.claimed_at`,
    ),
    unclaim: p("DELETE FROM blob_claims WHERE blob = ?"),
    claimsBefore: p("SELECT blob FROM blob_claims WHERE claimed_at < ? ORDER BY blob").pluck(),
  };
}
