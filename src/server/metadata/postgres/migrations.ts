// Numbered schema migrations of the PostgreSQL metadata, recorded in `schema_version` (one row per
// applied migration). Replicas may start at once: the whole run holds a session advisory lock, so
// exactly one applies each migration and the others find it done. A migration, once released,
// never changes: a new change is a new number. Same semantics as the SQLite schema (sqlite/),
// without its history: the Cachix settings live on `caches`, and closure visibility is there from
// the start. Since this one's migration 8 and SQLite's 10, both have the same tables, columns and
// names (types aside; the GC's scratch tables are TEMP there). Times are milliseconds since the
// epoch and sizes bytes, both BIGINT.
import type pg from "pg";
import { NixcacheError } from "../../../util/errors.js";
import { EARLY_MIGRATIONS, type Migration } from "./early-migrations.js";

export const MIGRATIONS: readonly Migration[] = [
  ...EARLY_MIGRATIONS,
  {
    version: 5,
    name: "GC: the marking run keeps the unreached narinfos (it works from the garbage's side); no NAR queue",
    sql: `ALTER TABLE gc_reach RENAME TO gc_unreached;
-- Where a closure query starts (seeds counted before the recursion is planned).
CREATE UNLOGGED TABLE gc_saved (
  run TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (run, hash)
);
-- The linger of a deleted narinfo's NAR record is kept by the GC process (a few seconds' URLs).
DROP TABLE gc_nars;`,
  },
  {
    version: 6,
    name: "GC: marks in a table of their own, not a column of narinfos",
    // Marking a third of a cache rewrote a third of narinfos (an indexed column: every index got a
    // new entry per row, and the WAL a copy of most pages). Unlogged: a crash that loses the marks
    // only makes the next run mark again, which delays deletion by a grace and deletes nothing early.
    sql: `CREATE UNLOGGED TABLE gc_marks (
  cache TEXT NOT NULL,
  hash TEXT NOT NULL,
  marked_at BIGINT NOT NULL,
  PRIMARY KEY (cache, hash)
);
INSERT INTO gc_marks (cache, hash, marked_at)
  SELECT cache, hash, gc_marked_at FROM narinfos WHERE gc_marked_at IS NOT NULL;
DROP INDEX narinfos_marked;
ALTER TABLE narinfos DROP COLUMN gc_marked_at;`,
  },
  {
    version: 7,
    name: "content-addressed outputs: realisations (Nix 2.4-2.34) and build traces (2.35) per cache",
    // As SQLite's migration 9: `kind` is the document's directory, `key` the rest of its name; it
    // is served once the narinfo of its output path is; its bytes count in used_bytes.
    sql: `
CREATE TABLE realisations (
  cache TEXT NOT NULL REFERENCES caches(name),
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  out_hash TEXT NOT NULL,
  out_path TEXT NOT NULL,
  text TEXT NOT NULL,
  size BIGINT NOT NULL,
  visible BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (cache, kind, key)
);
CREATE INDEX realisations_out ON realisations(cache, out_hash);
-- used_bytes follows every change of realisations, one update per statement and cache.
CREATE FUNCTION nixcache_realisations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes + d.bytes
    FROM (SELECT cache, SUM(size) AS bytes FROM new_rows GROUP BY cache) d WHERE c.name = d.cache;
  RETURN NULL;
END $$;
CREATE FUNCTION nixcache_realisations_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes - d.bytes
    FROM (SELECT cache, SUM(size) AS bytes FROM old_rows GROUP BY cache) d WHERE c.name = d.cache;
  RETURN NULL;
END $$;
CREATE FUNCTION nixcache_realisations_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes + d.bytes
    FROM (SELECT cache, SUM(b) AS bytes FROM (
            SELECT cache, size AS b FROM new_rows UNION ALL SELECT cache, -size FROM old_rows) x
          GROUP BY cache) d
    WHERE c.name = d.cache AND d.bytes <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER realisations_used_insert AFTER INSERT ON realisations REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_realisations_inserted();
CREATE TRIGGER realisations_used_delete AFTER DELETE ON realisations REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_realisations_deleted();
CREATE TRIGGER realisations_used_update AFTER UPDATE ON realisations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_realisations_updated();`,
  },
  {
    version: 8,
    name: "one schema with SQLite's: nars, side_files (their indexes, constraints, triggers and trigger functions renamed)",
    // The constraints' generated names follow their tables too. The trigger functions name no
    // table (they read the transition tables): renaming them is enough.
    sql: `ALTER TABLE uploads RENAME TO nars;
ALTER TABLE nars RENAME CONSTRAINT uploads_pkey TO nars_pkey;
ALTER TABLE nars RENAME CONSTRAINT uploads_cache_fkey TO nars_cache_fkey;
ALTER INDEX uploads_blob RENAME TO nars_blob;
ALTER INDEX uploads_invisible RENAME TO nars_invisible;
ALTER FUNCTION nixcache_uploads_inserted() RENAME TO nixcache_nars_inserted;
ALTER FUNCTION nixcache_uploads_deleted() RENAME TO nixcache_nars_deleted;
ALTER FUNCTION nixcache_uploads_updated() RENAME TO nixcache_nars_updated;
ALTER TRIGGER uploads_used_insert ON nars RENAME TO nars_used_insert;
ALTER TRIGGER uploads_used_delete ON nars RENAME TO nars_used_delete;
ALTER TRIGGER uploads_used_update ON nars RENAME TO nars_used_update;
ALTER TABLE files RENAME TO side_files;
ALTER TABLE side_files RENAME CONSTRAINT files_pkey TO side_files_pkey;
ALTER TABLE side_files RENAME CONSTRAINT files_cache_fkey TO side_files_cache_fkey;
ALTER INDEX files_blob RENAME TO side_files_blob;
-- Left by migration 5's rename of gc_reach.
ALTER TABLE gc_unreached RENAME CONSTRAINT gc_reach_pkey TO gc_unreached_pkey;`,
  },
  {
    version: 9,
    name: "blob claims name their holder (a process on a machine): one that is gone is settled at once",
    // '': a claim written by an older nixcache, settled once its TTL is over.
    sql: "ALTER TABLE blob_claims ADD COLUMN holder TEXT NOT NULL DEFAULT '';",
  },
  {
    version: 10,
    name: "dashboard: a cache's reports newest first, for its newest branches a page at a time",
    sql: "CREATE INDEX ci_reports_cache ON ci_reports(cache, id);",
  },
  {
    version: 11,
    name: "pins: revisions counted by the database, read newest first by index; artifacts on the newest revision only",
    // As SQLite's migration 12. The counter follows every change of pin_entries, one update per
    // statement and pin (a pin's removal cascades to its revisions: the update then finds no pin).
    sql: `
CREATE INDEX pin_entries_newest ON pin_entries(cache, pin, created_at, id);
ALTER TABLE pins ADD COLUMN revision_count BIGINT NOT NULL DEFAULT 0;
UPDATE pins p SET revision_count = (SELECT COUNT(*) FROM pin_entries e WHERE e.cache = p.cache AND e.pin = p.name);
CREATE FUNCTION nixcache_pin_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pins p SET revision_count = p.revision_count + d.n
    FROM (SELECT cache, pin, COUNT(*) AS n FROM new_rows GROUP BY cache, pin) d
    WHERE p.cache = d.cache AND p.name = d.pin;
  RETURN NULL;
END $$;
CREATE FUNCTION nixcache_pin_entries_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pins p SET revision_count = p.revision_count - d.n
    FROM (SELECT cache, pin, COUNT(*) AS n FROM old_rows GROUP BY cache, pin) d
    WHERE p.cache = d.cache AND p.name = d.pin;
  RETURN NULL;
END $$;
CREATE TRIGGER pin_entries_count_insert AFTER INSERT ON pin_entries REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_pin_entries_inserted();
CREATE TRIGGER pin_entries_count_delete AFTER DELETE ON pin_entries REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_pin_entries_deleted();
UPDATE pin_entries e SET artifacts = '[]' WHERE artifacts <> '[]' AND id <> (SELECT x.id FROM pin_entries x
  WHERE x.cache = e.cache AND x.pin = e.pin ORDER BY x.created_at DESC, x.id DESC LIMIT 1);`,
  },
  {
    version: 12,
    name: "OIDC tokens: the identity token each was exchanged for (once), its issuer, subject and trust rules; expiry indexed",
    // As SQLite's migration 13.
    sql: `ALTER TABLE tokens ADD COLUMN oidc_identity TEXT;
ALTER TABLE tokens ADD COLUMN oidc_issuer TEXT;
ALTER TABLE tokens ADD COLUMN oidc_subject TEXT;
ALTER TABLE tokens ADD COLUMN oidc_rules TEXT;
CREATE UNIQUE INDEX tokens_oidc_identity ON tokens(oidc_identity) WHERE oidc_identity IS NOT NULL;
CREATE INDEX tokens_oidc_subject ON tokens(oidc_issuer, oidc_subject, created_at) WHERE oidc_subject IS NOT NULL;
CREATE INDEX tokens_expires ON tokens(expires_at) WHERE expires_at IS NOT NULL;`,
  },
  {
    version: 13,
    name: "bounds: listings and logs counted in used_bytes; narinfos' derivers (a log goes with its path); pending narinfos by age",
    // As SQLite's migration 15: a side file's size is its body's, or its blob's (logs; unknown for
    // those stored before, which count 0); the deriver is copied out of the text here and stored
    // at each commit from now on.
    sql: `ALTER TABLE side_files ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE side_files SET size = octet_length(body) WHERE blob IS NULL;
UPDATE caches c SET used_bytes = c.used_bytes + d.bytes
  FROM (SELECT cache, SUM(size) AS bytes FROM side_files GROUP BY cache) d WHERE c.name = d.cache;
CREATE FUNCTION nixcache_side_files_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes + d.bytes
    FROM (SELECT cache, SUM(size) AS bytes FROM new_rows GROUP BY cache) d WHERE c.name = d.cache;
  RETURN NULL;
END $$;
CREATE FUNCTION nixcache_side_files_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes - d.bytes
    FROM (SELECT cache, SUM(size) AS bytes FROM old_rows GROUP BY cache) d WHERE c.name = d.cache;
  RETURN NULL;
END $$;
CREATE FUNCTION nixcache_side_files_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes + d.bytes
    FROM (SELECT cache, SUM(b) AS bytes FROM (
            SELECT cache, size AS b FROM new_rows UNION ALL SELECT cache, -size FROM old_rows) x
          GROUP BY cache) d
    WHERE c.name = d.cache AND d.bytes <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER side_files_used_insert AFTER INSERT ON side_files REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_side_files_inserted();
CREATE TRIGGER side_files_used_delete AFTER DELETE ON side_files REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_side_files_deleted();
CREATE TRIGGER side_files_used_update AFTER UPDATE ON side_files REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_side_files_updated();
CREATE INDEX side_files_created ON side_files(cache, kind, created_at);
ALTER TABLE narinfos ADD COLUMN deriver TEXT;
UPDATE narinfos SET deriver = regexp_replace(substring(text from '(?n)^Deriver:[ \\t]*(\\S+)'), '^.*/', '')
  WHERE text LIKE '%Deriver:%';
UPDATE narinfos SET deriver = NULL WHERE deriver = 'unknown-deriver';
CREATE INDEX narinfos_deriver ON narinfos(cache, deriver) WHERE deriver IS NOT NULL;
CREATE INDEX narinfos_pending_created ON narinfos(created_at) WHERE NOT visible;`,
  },
  {
    version: 14,
    name: "pending narinfos by hash: the bulk query answers from indexes, without reading the table",
    // As SQLite's migration 16. A path is visible when the primary key has it and this (small: only
    // pending rows) index does not: both index-only, where `visible` was read from each row.
    sql: "CREATE INDEX narinfos_pending_hash ON narinfos(cache, hash) WHERE NOT visible;",
  },
];

/** The newest version; numbers may have gaps while branches that each add one are merged. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** The advisory lock migrations run under (any constant no other user of the database takes). */
const MIGRATION_LOCK = 1_852_405_859; // "nixc" in ASCII

/** Brings the database to SCHEMA_VERSION; refuses one written by a newer nixcache. */
export async function migrate(client: pg.ClientBase, where: string): Promise<number> {
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`);
    const current = async () =>
      Number(
        (await client.query<{ v: number }>("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version"))
          .rows[0]?.v ?? 0,
      );
    const version = await current();
    if (version > SCHEMA_VERSION)
      throw new NixcacheError(
        "usage",
        `the metadata database ${where} has schema version ${version}, newer than this nixcache knows (${SCHEMA_VERSION}): upgrade nixcache`,
      );
    // Each migration missing from schema_version is applied, not only those above the highest: one
    // numbered below another that is already applied (a gap filled by a later release) still runs.
    const done = new Set(
      (await client.query<{ version: number }>("SELECT version FROM schema_version")).rows.map((r) =>
        Number(r.version),
      ),
    );
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)", [
          m.version,
          m.name,
          Date.now(),
        ]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw e;
      }
    }
    return await current();
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
  }
}
