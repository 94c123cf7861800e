// Numbered schema migrations of the SQLite metadata. `schema_version` holds one row per applied
// migration; opening a database applies the missing ones in order, each in its own immediate
// transaction, so two processes opening at once cannot both apply one. Data directories made
// before this scheme have no `schema_version`: migrations 1-3 are written to apply to any shape
// those left (IF NOT EXISTS, columns added only when absent), so such a directory opens as is.
// A migration, once released, never changes: a new change is a new number.
import type Database from "better-sqlite3";
import { NixcacheError } from "../../../util/errors.js";
import { deriverInText, referencesInText } from "../closure.js";
import { EARLY_MIGRATIONS, hasColumn, type Migration } from "./early-migrations.js";

export const MIGRATIONS: readonly Migration[] = [
  ...EARLY_MIGRATIONS,
  {
    version: 6,
    name: "GC and quotas: retention, quota and bytes used per cache, access times, GC marks, references, pins, leases, blob claims",
    // References were only in the narinfo text: they are copied out of it here (the GC follows them
    // in SQL), and stored at each commit from now on. Access times start at the push time.
    up: (db) => {
      const add = (table: string, column: string, type: string) => {
        if (!hasColumn(db, table, column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
      };
      add("caches", "retention_ms", "INTEGER");
      add("caches", "quota_bytes", "INTEGER");
      add("caches", "used_bytes", "INTEGER NOT NULL DEFAULT 0");
      add("narinfos", "accessed_at", "INTEGER NOT NULL DEFAULT 0");
      add("narinfos", "gc_marked_at", "INTEGER");
      db.exec(`UPDATE narinfos SET accessed_at = created_at WHERE accessed_at = 0;
UPDATE caches SET used_bytes = (SELECT COALESCE(SUM(u.file_size), 0) FROM uploads u WHERE u.cache = caches.name);
CREATE INDEX IF NOT EXISTS narinfos_accessed ON narinfos(cache, accessed_at);
CREATE INDEX IF NOT EXISTS narinfos_url ON narinfos(cache, url);
CREATE INDEX IF NOT EXISTS narinfos_marked ON narinfos(cache, gc_marked_at) WHERE gc_marked_at IS NOT NULL;
-- used_bytes follows every change of uploads, whichever code makes it.
CREATE TRIGGER IF NOT EXISTS uploads_used_insert AFTER INSERT ON uploads BEGIN
  UPDATE caches SET used_bytes = used_bytes + NEW.file_size WHERE name = NEW.cache;
END;
CREATE TRIGGER IF NOT EXISTS uploads_used_delete AFTER DELETE ON uploads BEGIN
  UPDATE caches SET used_bytes = used_bytes - OLD.file_size WHERE name = OLD.cache;
END;
CREATE TRIGGER IF NOT EXISTS uploads_used_update AFTER UPDATE OF cache, file_size ON uploads BEGIN
  UPDATE caches SET used_bytes = used_bytes - OLD.file_size WHERE name = OLD.cache;
  UPDATE caches SET used_bytes = used_bytes + NEW.file_size WHERE name = NEW.cache;
END;
-- Every reference of every narinfo (pending ones too), self-references left out.
CREATE TABLE IF NOT EXISTS narinfo_refs (
  cache TEXT NOT NULL,
  hash TEXT NOT NULL,
  ref TEXT NOT NULL,
  PRIMARY KEY (cache, hash, ref)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS narinfo_refs_ref ON narinfo_refs(cache, ref);
CREATE TABLE IF NOT EXISTS pins (
  cache TEXT NOT NULL REFERENCES caches(name),
  name TEXT NOT NULL,
  keep_revisions INTEGER,
  keep_days INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, name)
);
CREATE TABLE IF NOT EXISTS pin_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cache TEXT NOT NULL,
  pin TEXT NOT NULL,
  hash TEXT NOT NULL,
  store_path TEXT NOT NULL,
  artifacts TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  UNIQUE (cache, pin, hash),
  FOREIGN KEY (cache, pin) REFERENCES pins(cache, name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS pin_entries_hash ON pin_entries(cache, hash);
-- Work that one process at a time does (the GC): whoever holds the row until it expires.
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
-- Blobs being deleted from storage: a NAR naming one is refused meanwhile (retry).
CREATE TABLE IF NOT EXISTS blob_claims (
  blob TEXT PRIMARY KEY,
  claimed_at INTEGER NOT NULL
) WITHOUT ROWID;`);
      const insert = db.prepare("INSERT OR IGNORE INTO narinfo_refs (cache, hash, ref) VALUES (?, ?, ?)");
      // Pages, not one iterator: a connection that iterates cannot write, and memory stays bounded.
      const page = db.prepare(
        "SELECT cache, hash, text FROM narinfos WHERE (cache, hash) > (?, ?) ORDER BY cache, hash LIMIT 1000",
      );
      for (let after = ["", ""]; ; ) {
        const rows = page.all(...after) as Array<{ cache: string; hash: string; text: string }>;
        for (const n of rows)
          for (const ref of referencesInText(n.text)) if (ref !== n.hash) insert.run(n.cache, n.hash, ref);
        const last = rows.at(-1);
        if (!last) break;
        after = [last.cache, last.hash];
      }
    },
  },
  {
    version: 7,
    name: "OIDC: trust rules per cache; tokens minted by the exchange hold a permission per cache",
    up: (db) => {
      if (!hasColumn(db, "tokens", "grants")) db.exec("ALTER TABLE tokens ADD COLUMN grants TEXT");
      db.exec(`-- claims: a JSON object of claim name → pattern; grants (tokens): cache → read|write.
CREATE TABLE IF NOT EXISTS trust_rules (
  id TEXT PRIMARY KEY,
  cache TEXT NOT NULL REFERENCES caches(name),
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  claims TEXT NOT NULL,
  perm TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS trust_rules_issuer ON trust_rules(issuer);
CREATE INDEX IF NOT EXISTS trust_rules_cache ON trust_rules(cache);`);
    },
  },
  {
    version: 8,
    name: "dashboard: CI reports, push activity per minute, narinfo lookups per hour, the last GC run per cache",
    // Counts are aggregated in memory and added in one short transaction now and then
    // (server/activity.ts), so the write rate does not follow the request rate. The index makes a
    // cache's last push an index read at any size (its bytes are migration 6's counter).
    up: (db) =>
      db.exec(`
CREATE TABLE IF NOT EXISTS ci_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cache TEXT NOT NULL REFERENCES caches(name),
  kind TEXT NOT NULL,
  commit_id TEXT,
  branch TEXT,
  run_id TEXT,
  run_url TEXT,
  token_id TEXT,
  created_at INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  counts TEXT NOT NULL,
  targets TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ci_reports_branch ON ci_reports(cache, branch, id);
CREATE INDEX IF NOT EXISTS ci_reports_run ON ci_reports(cache, run_id) WHERE run_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS push_activity (
  cache TEXT NOT NULL,
  minute INTEGER NOT NULL,
  token_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  paths INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY (cache, minute, token_id, run_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS narinfo_lookups (
  cache TEXT NOT NULL,
  hour INTEGER NOT NULL,
  hits INTEGER NOT NULL,
  misses INTEGER NOT NULL,
  PRIMARY KEY (cache, hour)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS narinfos_created ON narinfos(cache, created_at);
CREATE TABLE IF NOT EXISTS gc_last_runs (
  cache TEXT PRIMARY KEY REFERENCES caches(name),
  ended_at INTEGER NOT NULL,
  deleted_paths INTEGER NOT NULL,
  deleted_bytes INTEGER NOT NULL
);`),
  },
  {
    version: 9,
    name: "content-addressed outputs: realisations (Nix 2.4-2.34) and build traces (2.35) per cache",
    // One row per document: `kind` is its directory (`realisations`, `build-trace-v2`), `key` the
    // rest of its name (`sha256:<hex>!out`, `<drv>/<output>`). Served once the narinfo of its
    // output path is (out_hash); its bytes count in the cache's used_bytes, like a NAR's.
    up: (db) =>
      db.exec(`
CREATE TABLE IF NOT EXISTS realisations (
  cache TEXT NOT NULL REFERENCES caches(name),
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  out_hash TEXT NOT NULL,
  out_path TEXT NOT NULL,
  text TEXT NOT NULL,
  size INTEGER NOT NULL,
  visible INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, kind, key)
);
CREATE INDEX IF NOT EXISTS realisations_out ON realisations(cache, out_hash);
CREATE TRIGGER IF NOT EXISTS realisations_used_insert AFTER INSERT ON realisations BEGIN
  UPDATE caches SET used_bytes = used_bytes + NEW.size WHERE name = NEW.cache;
END;
CREATE TRIGGER IF NOT EXISTS realisations_used_delete AFTER DELETE ON realisations BEGIN
  UPDATE caches SET used_bytes = used_bytes - OLD.size WHERE name = OLD.cache;
END;
CREATE TRIGGER IF NOT EXISTS realisations_used_update AFTER UPDATE OF cache, size ON realisations BEGIN
  UPDATE caches SET used_bytes = used_bytes - OLD.size WHERE name = OLD.cache;
  UPDATE caches SET used_bytes = used_bytes + NEW.size WHERE name = NEW.cache;
END;`),
  },
  {
    version: 10,
    name: "one schema with PostgreSQL's: nars, side_files, client_keys, multipart, parts; Cachix settings on caches; GC marks in gc_marks",
    // The names PostgreSQL has had from its start. A renamed table keeps its triggers' and indexes'
    // names (their text is rewritten to the new table's): they are made again under the new ones.
    // References to a renamed table (parts → multipart) are rewritten by SQLite itself. A cache
    // without Cachix settings gets what reading one gave: no owner, managed, ZSTD.
    up: (db) =>
      db.exec(`
ALTER TABLE uploads RENAME TO nars;
DROP TRIGGER uploads_used_insert;
DROP TRIGGER uploads_used_delete;
DROP TRIGGER uploads_used_update;
DROP INDEX uploads_blob;
DROP INDEX uploads_invisible;
CREATE INDEX nars_blob ON nars(blob);
CREATE INDEX nars_invisible ON nars(created_at) WHERE NOT visible;
CREATE TRIGGER nars_used_insert AFTER INSERT ON nars BEGIN
  UPDATE caches SET used_bytes = used_bytes + NEW.file_size WHERE name = NEW.cache;
END;
CREATE TRIGGER nars_used_delete AFTER DELETE ON nars BEGIN
  UPDATE caches SET used_bytes = used_bytes - OLD.file_size WHERE name = OLD.cache;
END;
CREATE TRIGGER nars_used_update AFTER UPDATE OF cache, file_size ON nars BEGIN
  UPDATE caches SET used_bytes = used_bytes - OLD.file_size WHERE name = OLD.cache;
  UPDATE caches SET used_bytes = used_bytes + NEW.file_size WHERE name = NEW.cache;
END;

ALTER TABLE files RENAME TO side_files;
DROP INDEX files_blob;
CREATE INDEX side_files_blob ON side_files(blob) WHERE blob IS NOT NULL;

ALTER TABLE caches ADD COLUMN owner TEXT;
ALTER TABLE caches ADD COLUMN managed INTEGER NOT NULL DEFAULT 1;
ALTER TABLE caches ADD COLUMN compression TEXT NOT NULL DEFAULT 'ZSTD';
UPDATE caches SET owner = s.owner, managed = COALESCE(s.managed, 1), compression = COALESCE(s.compression, 'ZSTD')
  FROM cachix_caches s WHERE s.cache = caches.name;
DROP TABLE cachix_caches;

ALTER TABLE cachix_keys RENAME TO client_keys;
ALTER TABLE cachix_multipart RENAME TO multipart;
DROP INDEX cachix_multipart_token;
CREATE INDEX multipart_token ON multipart(token_id, state);
CREATE INDEX multipart_open ON multipart(created_at) WHERE state IN ('open', 'completing');
ALTER TABLE cachix_parts RENAME TO parts;

CREATE TABLE gc_marks (
  cache TEXT NOT NULL,
  hash TEXT NOT NULL,
  marked_at INTEGER NOT NULL,
  PRIMARY KEY (cache, hash)
) WITHOUT ROWID;
INSERT INTO gc_marks (cache, hash, marked_at)
  SELECT cache, hash, gc_marked_at FROM narinfos WHERE gc_marked_at IS NOT NULL;
DROP INDEX narinfos_marked;
ALTER TABLE narinfos DROP COLUMN gc_marked_at;

CREATE INDEX tokens_account ON tokens(account) WHERE account IS NOT NULL;
-- The statements written once for both engines say NOT visible (PostgreSQL's booleans): SQLite
-- uses a partial index only for the very condition it was made with.
DROP INDEX narinfos_pending;
CREATE INDEX narinfos_pending ON narinfos(cache, url) WHERE NOT visible;`),
  },
  {
    version: 11,
    name: "blob claims name their holder (a process on a machine): one that is gone is settled at once",
    // '': a claim written by an older nixcache, settled once its TTL is over.
    up: (db) => db.exec("ALTER TABLE blob_claims ADD COLUMN holder TEXT NOT NULL DEFAULT '';"),
  },
  {
    version: 12,
    name: "dashboard: a cache's reports newest first, for its newest branches a page at a time",
    up: (db) => db.exec("CREATE INDEX IF NOT EXISTS ci_reports_cache ON ci_reports(cache, id);"),
  },
  {
    version: 13,
    name: "pins: revisions counted by the database, read newest first by index; artifacts on the newest revision only",
    // Adding a revision read all the pin's revisions (their artifacts too) to count and trim them.
    // Artifacts are what Cachix serves a pin's files from, the newest revision's: older ones drop
    // theirs, so a pin holds one revision's worth whatever its history.
    up: (db) =>
      db.exec(`
CREATE INDEX pin_entries_newest ON pin_entries(cache, pin, created_at, id);
ALTER TABLE pins ADD COLUMN revision_count INTEGER NOT NULL DEFAULT 0;
UPDATE pins SET revision_count = (SELECT COUNT(*) FROM pin_entries e WHERE e.cache = pins.cache AND e.pin = pins.name);
CREATE TRIGGER pin_entries_count_insert AFTER INSERT ON pin_entries BEGIN
  UPDATE pins SET revision_count = revision_count + 1 WHERE cache = NEW.cache AND name = NEW.pin;
END;
CREATE TRIGGER pin_entries_count_delete AFTER DELETE ON pin_entries BEGIN
  UPDATE pins SET revision_count = revision_count - 1 WHERE cache = OLD.cache AND name = OLD.pin;
END;
UPDATE pin_entries SET artifacts = '[]' WHERE artifacts <> '[]' AND id <> (SELECT x.id FROM pin_entries x
  WHERE x.cache = pin_entries.cache AND x.pin = pin_entries.pin ORDER BY x.created_at DESC, x.id DESC LIMIT 1);`),
  },
  {
    version: 14,
    name: "OIDC tokens: the identity token each was exchanged for (once), its issuer, subject and trust rules; expiry indexed",
    // The identity is a hash of the identity token's issuer and `jti` (else issuer, subject and
    // iat): unique, so two exchanges of one identity token, on any replicas, mint one token.
    up: (db) =>
      db.exec(`
ALTER TABLE tokens ADD COLUMN oidc_identity TEXT;
ALTER TABLE tokens ADD COLUMN oidc_issuer TEXT;
ALTER TABLE tokens ADD COLUMN oidc_subject TEXT;
ALTER TABLE tokens ADD COLUMN oidc_rules TEXT;
CREATE UNIQUE INDEX tokens_oidc_identity ON tokens(oidc_identity) WHERE oidc_identity IS NOT NULL;
CREATE INDEX tokens_oidc_subject ON tokens(oidc_issuer, oidc_subject, created_at) WHERE oidc_subject IS NOT NULL;
CREATE INDEX tokens_expires ON tokens(expires_at) WHERE expires_at IS NOT NULL;`),
  },
  {
    version: 15,
    name: "bounds: listings and logs counted in used_bytes; narinfos' derivers (a log goes with its path); pending narinfos by age",
    // A side file's size is its body's, or its blob's (logs; unknown for those stored before, which
    // count 0). The deriver is copied out of the text here and stored at each commit from now on.
    up: (db) => {
      db.exec(`ALTER TABLE side_files ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE side_files SET size = length(CAST(body AS BLOB)) WHERE blob IS NULL;
UPDATE caches SET used_bytes = used_bytes + (SELECT COALESCE(SUM(f.size), 0) FROM side_files f WHERE f.cache = caches.name);
CREATE TRIGGER side_files_used_insert AFTER INSERT ON side_files BEGIN
  UPDATE caches SET used_bytes = used_bytes + NEW.size WHERE name = NEW.cache;
END;
CREATE TRIGGER side_files_used_delete AFTER DELETE ON side_files BEGIN
  UPDATE caches SET used_bytes = used_bytes - OLD.size WHERE name = OLD.cache;
END;
CREATE TRIGGER side_files_used_update AFTER UPDATE OF cache, size ON side_files BEGIN
  UPDATE caches SET used_bytes = used_bytes - OLD.size WHERE name = OLD.cache;
  UPDATE caches SET used_bytes = used_bytes + NEW.size WHERE name = NEW.cache;
END;
CREATE INDEX side_files_created ON side_files(cache, kind, created_at);
ALTER TABLE narinfos ADD COLUMN deriver TEXT;`);
      const set = db.prepare("UPDATE narinfos SET deriver = ? WHERE cache = ? AND hash = ?");
      const page = db.prepare(
        "SELECT cache, hash, text FROM narinfos WHERE (cache, hash) > (?, ?) ORDER BY cache, hash LIMIT 1000",
      );
      for (let after = ["", ""]; ; ) {
        const rows = page.all(...after) as Array<{ cache: string; hash: string; text: string }>;
        for (const n of rows) {
          const deriver = deriverInText(n.text);
          if (deriver !== null) set.run(deriver, n.cache, n.hash);
        }
        const last = rows.at(-1);
        if (!last) break;
        after = [last.cache, last.hash];
      }
      db.exec(`CREATE INDEX narinfos_deriver ON narinfos(cache, deriver) WHERE deriver IS NOT NULL;
CREATE INDEX narinfos_pending_created ON narinfos(created_at) WHERE NOT visible;`);
    },
  },
  {
    version: 16,
    name: "pending narinfos by hash: the bulk query answers from indexes, without reading the table",
    // As PostgreSQL's migration 14: the primary key has the path and this (small: only pending
    // rows) index does not, both answered from the indexes, where `visible` was read from each row.
    up: (db) => db.exec("CREATE INDEX narinfos_pending_hash ON narinfos(cache, hash) WHERE NOT visible;"),
  },
];

/** The newest version; numbers may have gaps while branches that each add one are merged. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

function currentVersion(db: Database.Database): number {
  return (db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version").pluck().get() as number) ?? 0;
}

function applied(db: Database.Database, version: number): boolean {
  return db.prepare("SELECT 1 FROM schema_version WHERE version = ?").pluck().get(version) === 1;
}

/** Brings the database to SCHEMA_VERSION; refuses one written by a newer nixcache. */
export function migrate(db: Database.Database): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)`);
  const record = db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)");
  const newer = () => {
    const version = currentVersion(db);
    if (version > SCHEMA_VERSION)
      throw new NixcacheError(
        "usage",
        `this data directory has metadata schema version ${version}, newer than this nixcache knows (${SCHEMA_VERSION}): upgrade nixcache`,
      );
    return version;
  };
  // Refused before anything is applied: a newer schema is not ours to change.
  newer();
  // Each migration missing from schema_version is applied, not only those above the highest: one
  // numbered below another that is already applied (a gap filled by a later release) still runs.
  for (const m of MIGRATIONS) {
    db.transaction(() => {
      if (applied(db, m.version)) return;
      m.up(db);
      record.run(m.version, m.name, Date.now());
    }).immediate();
  }
  return newer();
}
