// The PostgreSQL metadata's first migrations (1-4), as they were released: migrations.ts
// applies them with the later ones. A migration, once released, never changes.

/** A numbered schema change (migrations.ts applies the missing ones in order). */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const EARLY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "caches, NARs, narinfos with closure visibility, tokens, side files, accounts, multipart uploads, secrets",
    sql: `
CREATE TABLE caches (
  name TEXT PRIMARY KEY,
  is_public BOOLEAN NOT NULL,
  priority INTEGER NOT NULL,
  secret_key TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  owner TEXT,
  managed BOOLEAN NOT NULL DEFAULT TRUE,
  compression TEXT NOT NULL DEFAULT 'ZSTD'
);
-- One row per NAR URL received for a cache; visible once a narinfo naming it is committed.
CREATE TABLE uploads (
  cache TEXT NOT NULL REFERENCES caches(name),
  url TEXT NOT NULL,
  blob TEXT NOT NULL,
  compression TEXT NOT NULL,
  nar_hash TEXT NOT NULL,
  nar_size BIGINT NOT NULL,
  file_hash TEXT NOT NULL,
  file_size BIGINT NOT NULL,
  visible BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (cache, url)
);
CREATE INDEX uploads_blob ON uploads(blob);
CREATE INDEX uploads_invisible ON uploads(created_at) WHERE NOT visible;
-- visible: its whole closure is here or upstream (store.ts); pending ones are few.
CREATE TABLE narinfos (
  cache TEXT NOT NULL REFERENCES caches(name),
  hash TEXT NOT NULL,
  store_path TEXT NOT NULL,
  url TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  visible BOOLEAN NOT NULL,
  PRIMARY KEY (cache, hash)
);
CREATE INDEX narinfos_pending ON narinfos(cache, url) WHERE NOT visible;
-- The references pending narinfos wait for, keyed by the reference so its arrival finds them.
CREATE TABLE narinfo_waits (
  cache TEXT NOT NULL,
  ref TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (cache, ref, hash)
);
CREATE INDEX narinfo_waits_hash ON narinfo_waits(cache, hash);
-- Paths an upstream cache serves: present for closure purposes, not served here.
CREATE TABLE upstream_paths (
  cache TEXT NOT NULL REFERENCES caches(name),
  hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (cache, hash)
);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  cache TEXT NOT NULL,
  perm TEXT NOT NULL,
  description TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  kind TEXT NOT NULL,
  account TEXT
);
CREATE INDEX tokens_account ON tokens(account) WHERE account IS NOT NULL;
-- Small side files (.ls listings inline; build logs as blobs).
CREATE TABLE files (
  cache TEXT NOT NULL REFERENCES caches(name),
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  body BYTEA NOT NULL,
  blob TEXT,
  content_type TEXT NOT NULL,
  content_encoding TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (cache, kind, name)
);
CREATE INDEX files_blob ON files(blob) WHERE blob IS NOT NULL;
CREATE TABLE accounts (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  email TEXT,
  fullname TEXT,
  created_at BIGINT NOT NULL
);
-- Public keys of clients that sign their own narinfos (cSig); the name is what Sig: lines carry.
CREATE TABLE client_keys (
  cache TEXT NOT NULL REFERENCES caches(name),
  name TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (cache, public_key)
);
CREATE TABLE multipart (
  nar_id TEXT PRIMARY KEY,
  upload_id TEXT NOT NULL,
  cache TEXT NOT NULL REFERENCES caches(name),
  compression TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  token_id TEXT
);
CREATE INDEX multipart_token ON multipart(token_id, state);
CREATE INDEX multipart_open ON multipart(created_at) WHERE state IN ('open', 'completing');
CREATE TABLE parts (
  nar_id TEXT NOT NULL REFERENCES multipart(nar_id),
  part INTEGER NOT NULL,
  etag TEXT NOT NULL,
  size BIGINT NOT NULL,
  PRIMARY KEY (nar_id, part)
);
CREATE TABLE server_secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);`,
  },
  {
    version: 2,
    name: "GC and quotas: retention, quota and bytes used per cache, access times, GC marks, references, pins, leases, blob claims",
    // References were only in the narinfo text: they are copied out of it here (the GC follows them
    // in SQL), and stored at each commit from now on. Access times start at the push time. The
    // GC's scratch tables are UNLOGGED: rebuilt by every run, they need no WAL.
    sql: `
ALTER TABLE caches ADD COLUMN retention_ms BIGINT, ADD COLUMN quota_bytes BIGINT,
  ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE caches c SET used_bytes = COALESCE((SELECT SUM(u.file_size) FROM uploads u WHERE u.cache = c.name), 0);
ALTER TABLE narinfos ADD COLUMN accessed_at BIGINT, ADD COLUMN gc_marked_at BIGINT;
UPDATE narinfos SET accessed_at = created_at;
ALTER TABLE narinfos ALTER COLUMN accessed_at SET NOT NULL;
CREATE INDEX narinfos_accessed ON narinfos(cache, accessed_at);
CREATE INDEX narinfos_url ON narinfos(cache, url);
CREATE INDEX narinfos_marked ON narinfos(cache, gc_marked_at) WHERE gc_marked_at IS NOT NULL;

-- used_bytes follows every change of uploads, one update per statement and cache.
CREATE FUNCTION nixcache_uploads_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes + d.bytes
    FROM (SELECT cache, SUM(file_size) AS bytes FROM new_rows GROUP BY cache) d WHERE c.name = d.cache;
  RETURN NULL;
END $$;
CREATE FUNCTION nixcache_uploads_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes - d.bytes
    FROM (SELECT cache, SUM(file_size) AS bytes FROM old_rows GROUP BY cache) d WHERE c.name = d.cache;
  RETURN NULL;
END $$;
CREATE FUNCTION nixcache_uploads_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE caches c SET used_bytes = c.used_bytes + d.bytes
    FROM (SELECT cache, SUM(b) AS bytes FROM (
            SELECT cache, file_size AS b FROM new_rows UNION ALL SELECT cache, -file_size FROM old_rows) x
          GROUP BY cache) d
    WHERE c.name = d.cache AND d.bytes <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER uploads_used_insert AFTER INSERT ON uploads REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_uploads_inserted();
CREATE TRIGGER uploads_used_delete AFTER DELETE ON uploads REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_uploads_deleted();
CREATE TRIGGER uploads_used_update AFTER UPDATE ON uploads REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nixcache_uploads_updated();

-- Every reference of every narinfo (pending ones too), self-references left out.
CREATE TABLE narinfo_refs (
  cache TEXT NOT NULL,
  hash TEXT NOT NULL,
  ref TEXT NOT NULL,
  PRIMARY KEY (cache, hash, ref)
);
CREATE INDEX narinfo_refs_ref ON narinfo_refs(cache, ref);
INSERT INTO narinfo_refs (cache, hash, ref)
SELECT DISTINCT n.cache, n.hash, left(r, 32)
FROM narinfos n,
  LATERAL regexp_split_to_table(substring(n.text from '(?:^|\\n)References:[ \\t]*([^\\n\\r]*)'), '\\s+') AS r
WHERE length(r) >= 32 AND left(r, 32) <> n.hash;

CREATE TABLE pins (
  cache TEXT NOT NULL REFERENCES caches(name),
  name TEXT NOT NULL,
  keep_revisions INTEGER,
  keep_days INTEGER,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (cache, name)
);
CREATE TABLE pin_entries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  cache TEXT NOT NULL,
  pin TEXT NOT NULL,
  hash TEXT NOT NULL,
  store_path TEXT NOT NULL,
  artifacts TEXT NOT NULL DEFAULT '[]',
  created_at BIGINT NOT NULL,
  UNIQUE (cache, pin, hash),
  FOREIGN KEY (cache, pin) REFERENCES pins(cache, name) ON DELETE CASCADE
);
CREATE INDEX pin_entries_hash ON pin_entries(cache, hash);
-- Work that one replica at a time does (the GC): whoever holds the row until it expires.
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
-- Blobs being deleted from storage: a NAR naming one is refused meanwhile (retry).
CREATE TABLE blob_claims (
  blob TEXT PRIMARY KEY,
  claimed_at BIGINT NOT NULL
);
CREATE UNLOGGED TABLE gc_reach (
  run TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (run, hash)
);
CREATE UNLOGGED TABLE gc_doomed (
  run TEXT NOT NULL,
  hash TEXT NOT NULL,
  url TEXT NOT NULL,
  referrers INTEGER NOT NULL DEFAULT 0,
  freed_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (run, hash)
);
CREATE INDEX gc_doomed_free ON gc_doomed(run, referrers, freed_at);
CREATE UNLOGGED TABLE gc_nars (
  run TEXT NOT NULL,
  url TEXT NOT NULL,
  deleted_at BIGINT NOT NULL,
  PRIMARY KEY (run, url)
);
CREATE INDEX gc_nars_at ON gc_nars(run, deleted_at);`,
  },
  {
    version: 3,
    name: "OIDC: trust rules per cache; tokens minted by the exchange hold a permission per cache",
    sql: `
-- grants: a JSON object cache → read|write (oidc tokens only); claims: claim name → pattern.
ALTER TABLE tokens ADD COLUMN grants TEXT;
CREATE TABLE trust_rules (
  id TEXT PRIMARY KEY,
  cache TEXT NOT NULL REFERENCES caches(name),
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  claims TEXT NOT NULL,
  perm TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  -- Insertion order, for listings (several rules may be added in one millisecond).
  seq BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX trust_rules_issuer ON trust_rules(issuer);
CREATE INDEX trust_rules_cache ON trust_rules(cache);`,
  },
  {
    version: 4,
    name: "dashboard: CI reports, push activity per minute, narinfo lookups per hour, the last GC run per cache",
    // As SQLite's migration 8: counts arrive aggregated (server/activity.ts); the index makes a
    // cache's last push an index read at any size (its bytes are migration 2's counter).
    sql: `
-- By default, not always: a data copy carries ids over (pages link to reports by id).
CREATE TABLE ci_reports (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  cache TEXT NOT NULL REFERENCES caches(name),
  kind TEXT NOT NULL,
  commit_id TEXT,
  branch TEXT,
  run_id TEXT,
  run_url TEXT,
  token_id TEXT,
  created_at BIGINT NOT NULL,
  ok BOOLEAN NOT NULL,
  counts TEXT NOT NULL,
  targets TEXT NOT NULL
);
CREATE INDEX ci_reports_branch ON ci_reports(cache, branch, id);
CREATE INDEX ci_reports_run ON ci_reports(cache, run_id) WHERE run_id IS NOT NULL;
CREATE TABLE push_activity (
  cache TEXT NOT NULL,
  minute BIGINT NOT NULL,
  token_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  paths BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  PRIMARY KEY (cache, minute, token_id, run_id)
);
CREATE TABLE narinfo_lookups (
  cache TEXT NOT NULL,
  hour BIGINT NOT NULL,
  hits BIGINT NOT NULL,
  misses BIGINT NOT NULL,
  PRIMARY KEY (cache, hour)
);
CREATE INDEX narinfos_created ON narinfos(cache, created_at);
CREATE TABLE gc_last_runs (
  cache TEXT PRIMARY KEY REFERENCES caches(name),
  ended_at BIGINT NOT NULL,
  deleted_paths BIGINT NOT NULL,
  deleted_bytes BIGINT NOT NULL
);`,
  },
];
