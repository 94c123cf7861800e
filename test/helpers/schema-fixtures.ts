// Data at the schema the last release before one schema (issue 25) left: a SQLite data directory
// at version 9 (cachix_* tables, uploads, files, GC marks in narinfos) and a PostgreSQL database
// at version 7 (uploads, files), each built by the migrations as released, holding the same rows.
// test/server/migrations.test.ts opens them with the current code; test/server/data-copy.test.ts copies
// from the first.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { formatPublicKey, formatSecretKey, generateSecretKey, publicKeyOf } from "../../src/nix/signing.js";
import { MIGRATIONS as PG_MIGRATIONS } from "../../src/server/metadata/postgres/migrations.js";
import { MIGRATIONS } from "../../src/server/metadata/sqlite/migrations.js";
import { tempDir } from "./nix.js";
import { freshDatabase } from "./postgres.js";

export const [MARKED, UNMARKED] = ["1".repeat(32), "2".repeat(32)];
export const CLIENT_KEY = Buffer.alloc(32, 7).toString("base64");
export const LISTING = '{"version":1,"root":{"type":"regular","size":1}}';
export const READER = "nxc_reader-token-of-a-version-9-data-directory";
/** The bytes of the one NAR (uncompressed, as stored), and its blob: their SHA-256. */
export const NAR = Buffer.from("NAR of m");
export const NAR_BLOB = createHash("sha256").update(NAR).digest("hex");

/** Puts the NAR's blob where a data directory keeps blobs (storage/fs.ts). */
export function putNarBlob(dataDir: string): void {
  mkdirSync(join(dataDir, "blobs", NAR_BLOB.slice(0, 2)), { recursive: true });
  writeFileSync(join(dataDir, "blobs", NAR_BLOB.slice(0, 2), NAR_BLOB), NAR);
}
const keyOf = (token: string) => createHash("sha256").update(token).digest("hex");
const keys = () => {
  const k = generateSecretKey("k-1");
  return [formatSecretKey(k), formatPublicKey(publicKeyOf(k))] as const;
};

/**
 * A data directory as the last release before one schema left it (SQLite version 9: migrations
 * 1-9 as released), with a row in everything migration 10 renames, merges or moves: a cache with
 * Cachix settings (owned by alice, unmanaged, XZ) and one without, a NAR, a narinfo with a GC mark
 * and one without, a client key, an open multipart upload with a part, a listing; the NAR's blob.
 */
export function version9DataDir(): { path: string; cleanup: () => void } {
  const dir = tempDir("nixcache-v9-");
  const db = new Database(join(dir.path, "nixcache.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.exec(
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  for (const m of MIGRATIONS.filter((x) => x.version <= 9)) {
    m.up(db);
    db.prepare("INSERT INTO schema_version VALUES (?, ?, 0)").run(m.version, m.name);
  }
  const ins = (sql: string, ...params: unknown[]) => db.prepare(sql).run(...params);
  ins(
    "INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at) VALUES ('old', 0, 30, ?, ?, 1)",
    ...keys(),
  );
  ins(
    "INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at) VALUES ('plain', 1, 40, ?, ?, 1)",
    ...keys(),
  );
  ins("INSERT INTO cachix_caches (cache, owner, managed, compression) VALUES ('old', 'alice', 0, 'XZ')");
  ins("INSERT INTO accounts (slug, created_at) VALUES ('alice', 1)");
  ins(
    "INSERT INTO tokens (hash, id, cache, perm, created_at) VALUES (?, 'tok_reader', 'old', 'read', 1)",
    keyOf(READER),
  );
  ins(
    "INSERT INTO tokens (hash, id, cache, perm, created_at) VALUES ('x', 'tok_plain', 'plain', 'write', 1)",
  );
  ins(
    `INSERT INTO uploads (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
     VALUES ('old', 'nar/a.nar', ?, 'none', 'sha256:n', 8, 'sha256:f', 8, 1, 1)`,
    NAR_BLOB,
  );
  const narinfo = db.prepare(
    `INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at, gc_marked_at)
     VALUES ('old', ?, ?, 'nar/a.nar', ?, 1, 1, 1, ?)`,
  );
  narinfo.run(MARKED, `/nix/store/${MARKED}-m`, "StorePath: marked\n", 123);
  narinfo.run(UNMARKED, `/nix/store/${UNMARKED}-u`, "StorePath: unmarked\n", null);
  ins(
    "INSERT INTO cachix_keys (cache, name, public_key, created_at) VALUES ('old', 'client-1', ?, 1)",
    CLIENT_KEY,
  );
  ins(
    `INSERT INTO cachix_multipart (nar_id, upload_id, cache, compression, state, created_at, token_id)
     VALUES ('nar-1', 'up-1', 'old', 'xz', 'open', ?, 'tok_reader')`,
    Date.now(),
  );
  ins("INSERT INTO cachix_parts (nar_id, part, etag, size) VALUES ('nar-1', 1, 'etag-1', 100)");
  ins(
    `INSERT INTO files (cache, kind, name, body, content_type, content_encoding, created_at)
     VALUES ('old', 'ls', ?, ?, 'application/json', NULL, 1)`,
    MARKED,
    Buffer.from(LISTING),
  );
  db.close();
  putNarBlob(dir.path);
  return dir;
}

/** A database at PostgreSQL schema version 7 (migrations 1-7 as released), holding what the SQLite fixture holds. */
export async function version7Database(): Promise<string> {
  const url = await freshDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    );
    for (const m of PG_MIGRATIONS.filter((x) => x.version <= 7)) {
      await client.query(m.sql);
      await client.query("INSERT INTO schema_version VALUES ($1, $2, 0)", [m.version, m.name]);
    }
    const q = (sql: string, params: unknown[] = []) => client.query(sql, params);
    await q(
      `INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at, owner, managed, compression)
       VALUES ('old', FALSE, 30, $1, $2, 1, 'alice', FALSE, 'XZ'), ('plain', TRUE, 40, $3, $4, 1, NULL, TRUE, 'ZSTD')`,
      [...keys(), ...keys()],
    );
    await q("INSERT INTO accounts (slug, created_at) VALUES ('alice', 1)");
    await q(
      `INSERT INTO tokens (hash, id, cache, perm, created_at, kind) VALUES ($1, 'tok_reader', 'old', 'read', 1, 'cache'),
         ('x', 'tok_plain', 'plain', 'write', 1, 'cache')`,
      [keyOf(READER)],
    );
    await q(
      `INSERT INTO uploads (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
       VALUES ('old', 'nar/a.nar', $1, 'none', 'sha256:n', 8, 'sha256:f', 8, TRUE, 1)`,
      [NAR_BLOB],
    );
    await q(
      `INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at)
       VALUES ('old', $1, $2, 'nar/a.nar', 'StorePath: marked\n', 1, TRUE, 1),
         ('old', $3, $4, 'nar/a.nar', 'StorePath: unmarked\n', 1, TRUE, 1)`,
      [MARKED, `/nix/store/${MARKED}-m`, UNMARKED, `/nix/store/${UNMARKED}-u`],
    );
    await q("INSERT INTO gc_marks (cache, hash, marked_at) VALUES ('old', $1, 123)", [MARKED]);
    await q(
      "INSERT INTO client_keys (cache, name, public_key, created_at) VALUES ('old', 'client-1', $1, 1)",
      [CLIENT_KEY],
    );
    await q(
      `INSERT INTO multipart (nar_id, upload_id, cache, compression, state, created_at, token_id)
       VALUES ('nar-1', 'up-1', 'old', 'xz', 'open', $1, 'tok_reader')`,
      [Date.now()],
    );
    await q("INSERT INTO parts (nar_id, part, etag, size) VALUES ('nar-1', 1, 'etag-1', 100)");
    await q(
      `INSERT INTO files (cache, kind, name, body, content_type, content_encoding, created_at)
       VALUES ('old', 'ls', $1, $2, 'application/json', NULL, 1)`,
      [MARKED, Buffer.from(LISTING)],
    );
  } finally {
    await client.end();
  }
  return url;
}
