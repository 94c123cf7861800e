// The metadata schema is versioned: data directories written before versioning (by earlier
// nixcache releases, before and after token kinds and the Cachix tables) open, are migrated in
// place and keep working; a database from a newer nixcache is refused rather than misread.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { formatPublicKey, formatSecretKey, generateSecretKey, publicKeyOf } from "../src/nix/signing.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../src/server/metadata/sqlite/migrations.js";
import { startServer } from "../src/server/server.js";
import { openMetadata } from "../src/server/stores.js";
import { tempDir } from "./helpers/nix.js";

// The schema as the first release created it (no schema_version, no token kinds, no Cachix tables).
const FIRST_RELEASE = `
CREATE TABLE caches (name TEXT PRIMARY KEY, is_public INTEGER NOT NULL, priority INTEGER NOT NULL,
  secret_key TEXT NOT NULL, public_key TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE uploads (cache TEXT NOT NULL REFERENCES caches(name), url TEXT NOT NULL, blob TEXT NOT NULL,
  compression TEXT NOT NULL, nar_hash TEXT NOT NULL, nar_size INTEGER NOT NULL, file_hash TEXT NOT NULL,
  file_size INTEGER NOT NULL, visible INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, url));
CREATE INDEX uploads_blob ON uploads(blob);
CREATE TABLE narinfos (cache TEXT NOT NULL REFERENCES caches(name), hash TEXT NOT NULL,
  store_path TEXT NOT NULL, url TEXT NOT NULL, text TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, hash));
CREATE TABLE tokens (hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, cache TEXT NOT NULL, perm TEXT NOT NULL,
  description TEXT, created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER);
CREATE TABLE files (cache TEXT NOT NULL REFERENCES caches(name), kind TEXT NOT NULL, name TEXT NOT NULL,
  body BLOB NOT NULL, content_type TEXT NOT NULL, content_encoding TEXT, created_at INTEGER NOT NULL,
  PRIMARY KEY (cache, kind, name));
`;

// What the release before versioning added on every open (token kinds) and at server start (Cachix).
const LAST_UNVERSIONED = `
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'cache';
ALTER TABLE tokens ADD COLUMN account TEXT;
CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL UNIQUE, email TEXT,
  fullname TEXT, created_at INTEGER NOT NULL);
CREATE TABLE cachix_caches (cache TEXT PRIMARY KEY REFERENCES caches(name), owner TEXT,
  managed INTEGER NOT NULL DEFAULT 1, compression TEXT NOT NULL DEFAULT 'ZSTD');
CREATE TABLE cachix_keys (cache TEXT NOT NULL REFERENCES caches(name), name TEXT NOT NULL,
  public_key TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (cache, public_key));
CREATE TABLE cachix_multipart (nar_id TEXT PRIMARY KEY, upload_id TEXT NOT NULL,
  cache TEXT NOT NULL REFERENCES caches(name), compression TEXT NOT NULL, state TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE cachix_parts (nar_id TEXT NOT NULL REFERENCES cachix_multipart(nar_id), part INTEGER NOT NULL,
  etag TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (nar_id, part));
CREATE TABLE server_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const HASH = "0".repeat(32);
const TOKEN = "nxc_legacy-token-of-an-old-data-directory";

/** A data directory as an unversioned release left it: one private cache, a narinfo, a token. */
function legacyDataDir(schema: string): { path: string; cleanup: () => void } {
  const dir = tempDir("nixcache-legacy-");
  const db = new Database(join(dir.path, "nixcache.db"));
  db.pragma("journal_mode = WAL");
  db.exec(schema);
  const key = generateSecretKey("old-1");
  db.prepare("INSERT INTO caches VALUES ('old', 0, 30, ?, ?, 1)").run(
    formatSecretKey(key),
    formatPublicKey(publicKeyOf(key)),
  );
  db.prepare(
    "INSERT INTO uploads VALUES ('old', 'nar/x.nar', ?, 'none', 'sha256:n', 8, 'sha256:f', 8, 1, 1)",
  ).run("b".repeat(64));
  db.prepare("INSERT INTO narinfos VALUES ('old', ?, ?, 'nar/x.nar', 'StorePath: legacy\n', 1)").run(
    HASH,
    `/nix/store/${HASH}-x`,
  );
  const hash = createHash("sha256").update(TOKEN).digest("hex");
  db.prepare("INSERT INTO tokens (hash, id, cache, perm, created_at) VALUES (?, ?, 'old', 'read', 1)").run(
    hash,
    `tok_${hash.slice(0, 12)}`,
  );
  db.close();
  return dir;
}

for (const [what, schema] of [
  ["the first release", FIRST_RELEASE],
  ["the last unversioned release", FIRST_RELEASE + LAST_UNVERSIONED],
] as const) {
  test(`a data directory written by ${what} opens, is migrated and keeps working`, async () => {
    const dir = legacyDataDir(schema);
    try {
      const meta = await openMetadata({ dataDir: dir.path });
      const cache = await meta.getCache("old");
      assert.equal(cache?.isPublic, false);
      assert.equal(cache?.priority, 30);
      assert.equal(cache?.owner, null);
      assert.equal(cache?.managed, true);
      assert.equal(cache?.compression, "ZSTD");
      assert.equal((await meta.listCaches())[0]?.narinfos, 1);
      assert.equal(await meta.pendingCount("old"), 0, "narinfos from before closure visibility stay visible");
      const token = await meta.tokenByHash(createHash("sha256").update(TOKEN).digest("hex"));
      assert.equal(token?.kind, "cache");
      assert.equal(token?.perm, "read");
      await meta.close();

      const sqlite = new Database(join(dir.path, "nixcache.db"), { readonly: true });
      const versions = sqlite.prepare("SELECT version FROM schema_version ORDER BY version").pluck().all();
      sqlite.close();
      assert.deepEqual(
        versions,
        MIGRATIONS.map((m) => m.version),
      );

      // A server on it serves the old narinfo to the old token, and the Cachix API knows the cache.
      const srv = await startServer({ dataDir: dir.path, port: 0 });
      try {
        const auth = { authorization: `Bearer ${TOKEN}` };
        assert.equal((await fetch(`${srv.url}/old/${HASH}.narinfo`)).status, 401);
        const r = await fetch(`${srv.url}/old/${HASH}.narinfo`, { headers: auth });
        assert.equal(r.status, 200);
        assert.equal(await r.text(), "StorePath: legacy\n");
        const api = await fetch(`${srv.url}/api/v1/cache/old`, { headers: auth });
        assert.equal(api.status, 200);
        assert.equal(((await api.json()) as { permission: string }).permission, "Read");
      } finally {
        await srv.close();
      }
      // Opening again applies nothing twice.
      await (await openMetadata({ dataDir: dir.path })).close();
    } finally {
      dir.cleanup();
    }
  });
}

test("migration 6 copies references out of narinfo texts and counts the bytes each cache uses", async () => {
  const dir = legacyDataDir(FIRST_RELEASE + LAST_UNVERSIONED);
  try {
    const [dep, other] = ["1".repeat(32), "2".repeat(32)];
    const db = new Database(join(dir.path, "nixcache.db"));
    db.prepare("INSERT INTO narinfos VALUES ('old', ?, ?, 'nar/x.nar', ?, 7)").run(
      "3".repeat(32),
      `/nix/store/${"3".repeat(32)}-y`,
      `StorePath: /nix/store/${"3".repeat(32)}-y\nReferences: ${dep}-dep ${other}-other ${"3".repeat(32)}-y\n`,
    );
    db.close();
    const meta = await openMetadata({ dataDir: dir.path });
    assert.equal(await meta.cacheUsage("old"), 8);
    await meta.close();
    const sqlite = new Database(join(dir.path, "nixcache.db"), { readonly: true });
    const refs = sqlite.prepare("SELECT hash, ref FROM narinfo_refs ORDER BY ref").all();
    const accessed = sqlite
      .prepare("SELECT accessed_at FROM narinfos WHERE hash = ?")
      .pluck()
      .get("3".repeat(32));
    sqlite.close();
    assert.deepEqual(refs, [
      { hash: "3".repeat(32), ref: dep },
      { hash: "3".repeat(32), ref: other },
    ]);
    assert.equal(accessed, 7, "access times start at the push");
  } finally {
    dir.cleanup();
  }
});

test("a database from a newer nixcache is refused with the reason", async () => {
  const dir = tempDir("nixcache-newer-");
  try {
    await (await openMetadata({ dataDir: dir.path })).close();
    const sqlite = new Database(join(dir.path, "nixcache.db"));
    sqlite.prepare("INSERT INTO schema_version VALUES (?, 'from the future', 0)").run(SCHEMA_VERSION + 1);
    sqlite.close();
    await assert.rejects(openMetadata({ dataDir: dir.path }), /newer than this nixcache knows/);
  } finally {
    dir.cleanup();
  }
});

test("a migration missing below the newest applied one (a gap a merge fills) is applied", async () => {
  const dir = tempDir("nixcache-gap-");
  try {
    await (await openMetadata({ dataDir: dir.path })).close();
    const file = join(dir.path, "nixcache.db");
    let sqlite = new Database(file);
    // As a database of a branch that had migration 7 but not yet 4 would be (4 only adds what is absent).
    sqlite.prepare("DELETE FROM schema_version WHERE version = 4").run();
    sqlite.close();
    await (await openMetadata({ dataDir: dir.path })).close();
    sqlite = new Database(file, { readonly: true });
    const versions = sqlite.prepare("SELECT version FROM schema_version ORDER BY version").pluck().all();
    sqlite.close();
    assert.deepEqual(
      versions,
      MIGRATIONS.map((m) => m.version),
    );
  } finally {
    dir.cleanup();
  }
});
