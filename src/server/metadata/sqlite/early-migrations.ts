// The SQLite metadata's first migrations (1-5), as they were released: migrations.ts
// applies them with the later ones. A migration, once released, never changes.
import type Database from "better-sqlite3";

/** A numbered schema change (migrations.ts applies the missing ones in order). */
export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

/** Whether `table` has `column` (data directories from before versioning differ). */
export function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).some(
    (c) => c.name === column,
  );
}

export const EARLY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "caches, NAR uploads, narinfos, tokens, side files",
    up: (db) =>
      db.exec(`
CREATE TABLE IF NOT EXISTS caches (
  name TEXT PRIMARY KEY,
  is_public INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  secret_key TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
-- One row per NAR URL received for a cache. Invisible until a narinfo that names it commits.
CREATE TABLE IF NOT EXISTS uploads (
  cache TEXT NOT NULL REFERENCES caches(name),
  url TEXT NOT NULL,
  blob TEXT NOT NULL,
  compression TEXT NOT NULL,
  nar_hash TEXT NOT NULL,
  nar_size INTEGER NOT NULL,
  file_hash TEXT NOT NULL,
  file_size INTEGER NOT NULL,
  visible INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, url)
);
CREATE INDEX IF NOT EXISTS uploads_blob ON uploads(blob);
CREATE TABLE IF NOT EXISTS narinfos (
  cache TEXT NOT NULL REFERENCES caches(name),
  hash TEXT NOT NULL,
  store_path TEXT NOT NULL,
  url TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, hash)
);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  cache TEXT NOT NULL,
  perm TEXT NOT NULL,
  description TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
-- Small side files (.ls listings, build logs): kept inline, bounded by the upload limit.
CREATE TABLE IF NOT EXISTS files (
  cache TEXT NOT NULL REFERENCES caches(name),
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  body BLOB NOT NULL,
  content_type TEXT NOT NULL,
  content_encoding TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, kind, name)
);`),
  },
  {
    version: 2,
    name: "token kinds: personal tokens act for an account (older rows are cache tokens)",
    up: (db) => {
      if (!hasColumn(db, "tokens", "kind"))
        db.exec("ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'cache'");
      if (!hasColumn(db, "tokens", "account")) db.exec("ALTER TABLE tokens ADD COLUMN account TEXT");
    },
  },
  {
    version: 3,
    name: "Cachix API: accounts, cache settings, client keys, multipart uploads, server secrets",
    up: (db) =>
      db.exec(`
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  slug TEXT NOT NULL UNIQUE,
  email TEXT,
  fullname TEXT,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cachix_caches (
  cache TEXT PRIMARY KEY REFERENCES caches(name),
  owner TEXT,
  managed INTEGER NOT NULL DEFAULT 1,
  compression TEXT NOT NULL DEFAULT 'ZSTD'
);
-- Public keys of clients that sign their own narinfos (cSig); the name is what Sig: lines carry.
CREATE TABLE IF NOT EXISTS cachix_keys (
  cache TEXT NOT NULL REFERENCES caches(name),
  name TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, public_key)
);
CREATE TABLE IF NOT EXISTS cachix_multipart (
  nar_id TEXT PRIMARY KEY,
  upload_id TEXT NOT NULL,
  cache TEXT NOT NULL REFERENCES caches(name),
  compression TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cachix_parts (
  nar_id TEXT NOT NULL REFERENCES cachix_multipart(nar_id),
  part INTEGER NOT NULL,
  etag TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (nar_id, part)
);
CREATE TABLE IF NOT EXISTS server_secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);`),
  },
  {
    version: 4,
    name: "build logs as blobs; multipart uploads know the token that opened them",
    up: (db) => {
      if (!hasColumn(db, "files", "blob")) db.exec("ALTER TABLE files ADD COLUMN blob TEXT");
      if (!hasColumn(db, "cachix_multipart", "token_id"))
        db.exec("ALTER TABLE cachix_multipart ADD COLUMN token_id TEXT");
      db.exec(`CREATE INDEX IF NOT EXISTS files_blob ON files(blob);
CREATE INDEX IF NOT EXISTS uploads_invisible ON uploads(visible, created_at);
CREATE INDEX IF NOT EXISTS cachix_multipart_token ON cachix_multipart(token_id, state);`);
    },
  },
  {
    version: 5,
    name: "closure-complete visibility: pending narinfos, the references they wait for, upstream paths",
    // Narinfos stored before this were served as soon as they were committed: they stay visible.
    // Only unresolved edges are kept (none when references are pushed first, as Nix does), keyed
    // by the awaited reference so that its arrival finds its dependents by index.
    up: (db) => {
      if (!hasColumn(db, "narinfos", "visible"))
        db.exec("ALTER TABLE narinfos ADD COLUMN visible INTEGER NOT NULL DEFAULT 1");
      db.exec(`CREATE INDEX IF NOT EXISTS narinfos_pending ON narinfos(cache, url) WHERE visible = 0;
CREATE TABLE IF NOT EXISTS narinfo_waits (
  cache TEXT NOT NULL,
  ref TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (cache, ref, hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS narinfo_waits_hash ON narinfo_waits(cache, hash);
-- Paths an upstream cache serves: present for closure purposes, not served here.
CREATE TABLE IF NOT EXISTS upstream_paths (
  cache TEXT NOT NULL REFERENCES caches(name),
  hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, hash)
) WITHOUT ROWID;`);
    },
  },
];
