// The metadata schema is versioned: data directories written before versioning (by earlier
// nixcache releases, before and after token kinds and the Cachix tables) open, are migrated in
// place and keep working; a database from a newer nixcache is refused rather than misread. Both
// engines converge on one schema (SQLite's migration 10, PostgreSQL's 8), data kept.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { formatPublicKey, formatSecretKey, generateSecretKey, publicKeyOf } from "../../src/nix/signing.js";
import { MIGRATIONS as PG_MIGRATIONS } from "../../src/server/metadata/postgres/migrations.js";
import { openPostgresStore } from "../../src/server/metadata/postgres/open.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/server/metadata/sqlite/migrations.js";
import type { MetadataStore } from "../../src/server/metadata/store.js";
import { startServer } from "../../src/server/server.js";
import { openMetadata } from "../../src/server/state-location.js";
import { tempDir } from "../helpers/nix.js";
import { freshDatabase } from "../helpers/postgres.js";
import {
  CLIENT_KEY,
  LISTING,
  MARKED,
  NAR,
  putNarBlob,
  READER,
  UNMARKED,
  version7Database,
  version9DataDir,
} from "../helpers/schema-fixtures.js";

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
    // As a database of a branch that had migration 10 but not yet 9 would be (9 only creates what is
    // absent; the older ones name tables 10 renamed).
    sqlite.prepare("DELETE FROM schema_version WHERE version = 9").run();
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

// --- one schema: SQLite's migration 10 and PostgreSQL's 8 ---

/** What the fixtures hold, read through the store: the same on both engines after their migration. */
async function assertConverged(meta: MetadataStore): Promise<void> {
  const old = await meta.getCache("old");
  assert.deepEqual([old?.owner, old?.managed, old?.compression], ["alice", false, "XZ"]);
  const plain = await meta.getCache("plain");
  assert.deepEqual(
    [plain?.owner, plain?.managed, plain?.compression],
    [null, true, "ZSTD"],
    "a cache without Cachix settings has the defaults",
  );
  // The bytes used: the NAR's 8 and the listing's (counted since SQLite's migration 15, PostgreSQL's 13).
  const used = 8 + Buffer.byteLength(LISTING);
  assert.deepEqual(
    (await meta.listCaches()).map((c) => [c.name, c.owner, c.compression, c.narinfos, c.bytes]),
    [
      ["old", "alice", "XZ", 2, used],
      ["plain", null, "ZSTD", 0, 0],
    ],
  );
  assert.deepEqual(
    (await meta.tokensOfAccount("alice")).map((t) => t.id),
    ["tok_reader"],
    "alice owns old",
  );
  assert.deepEqual(await meta.clientKeys("old"), [`client-1:${CLIENT_KEY}`]);
  assert.equal((await meta.getMultipart("nar-1"))?.state, "open");
  assert.equal(await meta.openMultipartsOf("tok_reader"), 1);
  assert.deepEqual(
    (await meta.parts("nar-1")).map((p) => [p.part, p.etag, Number(p.size)]),
    [[1, "etag-1", 100]],
  );
  assert.equal((await meta.getSideFile("old", "ls", MARKED))?.body.toString(), LISTING);
  assert.equal((await meta.getNar("old", "nar/a.nar"))?.fileSize, 8);
  // The bytes used follow the NAR records through the renamed triggers.
  assert.equal(await meta.cacheUsage("old"), used);
  assert.ok(
    await meta.recordNar({
      cache: "old",
      url: "nar/b.nar",
      blob: "b".repeat(64),
      compression: "none",
      narHash: "sha256:n",
      narSize: 5,
      fileHash: "sha256:f",
      fileSize: 5,
    }),
  );
  assert.equal(await meta.cacheUsage("old"), used + 5);
  assert.ok(await meta.deleteInvisibleNar("old", "nar/b.nar", Date.now() + 1));
  assert.equal(await meta.cacheUsage("old"), used);
  // Compression is a column of caches now: changed there.
  await meta.updateCache("plain", { compression: "XZ" });
  assert.equal((await meta.getCache("plain"))?.compression, "XZ");
  await meta.updateCache("plain", { compression: "ZSTD" });
}

/** The GC goes on from the marks made before the migration: the old mark is old enough, a new one is not. */
async function assertMarksKept(meta: MetadataStore): Promise<void> {
  const now = Date.now();
  const t = { run: "after-migration", now, cutoff: now, markedBefore: 124 };
  assert.deepEqual(await meta.gcMark("old", t), { paths: 2, marked: 2 });
  assert.equal((await meta.gcPlan("old", t)).paths, 1);
  const batch = await meta.gcDeleteBatch("old", { ...t, limit: 10 });
  assert.deepEqual(batch?.deleted, [MARKED]);
  await meta.gcFinish();
  assert.equal(await meta.getNarInfo("old", MARKED), undefined);
  assert.equal(await meta.getNarInfo("old", UNMARKED), "StorePath: unmarked\n");
}

/** A server on the migrated state serves the old narinfo and listing, and the old Cachix settings. */
async function assertServes(url: string): Promise<void> {
  const auth = { authorization: `Bearer ${READER}` };
  assert.equal((await fetch(`${url}/old/${MARKED}.narinfo`)).status, 401);
  const narinfo = await fetch(`${url}/old/${MARKED}.narinfo`, { headers: auth });
  assert.equal(narinfo.status, 200);
  assert.equal(await narinfo.text(), "StorePath: marked\n");
  const nar = await fetch(`${url}/old/nar/a.nar`, { headers: auth });
  assert.equal(nar.status, 200);
  assert.deepEqual(Buffer.from(await nar.arrayBuffer()), NAR);
  const listing = await fetch(`${url}/old/${MARKED}.ls`, { headers: auth });
  assert.equal(listing.status, 200);
  assert.equal(await listing.text(), LISTING);
  const api = await fetch(`${url}/api/v1/cache/old`, { headers: auth });
  assert.equal(api.status, 200);
  const body = (await api.json()) as Record<string, unknown>;
  assert.equal(body.githubUsername, "alice");
  assert.equal(body.preferredCompressionMethod, "XZ");
  assert.deepEqual(body.publicSigningKeys, [`client-1:${CLIENT_KEY}`], "unmanaged: the client key only");
}

/** Names of the schema's objects (what a fresh database and a migrated one must share). */
function sqliteNames(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (
      db
        .prepare("SELECT type || ' ' || name || ' on ' || tbl_name AS n FROM sqlite_master ORDER BY n")
        .pluck()
        .all() as string[]
    ).concat(
      db
        .prepare(
          "SELECT 'column ' || m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' ORDER BY 1",
        )
        .pluck()
        .all() as string[],
    );
  } finally {
    db.close();
  }
}

test("a data directory at schema version 9 (cachix_* tables, uploads, files, marks in narinfos) converges to one schema", async () => {
  const dir = version9DataDir();
  const fresh = tempDir("nixcache-fresh-");
  try {
    const meta = await openMetadata({ dataDir: dir.path });
    await assertConverged(meta);
    await meta.close();

    const file = join(dir.path, "nixcache.db");
    const sqlite = new Database(file, { readonly: true });
    try {
      const names = sqlite.prepare("SELECT name FROM sqlite_master ORDER BY name").pluck().all() as string[];
      for (const gone of [
        "uploads",
        "files",
        "cachix_caches",
        "cachix_keys",
        "cachix_multipart",
        "cachix_parts",
      ])
        assert.ok(!names.includes(gone), `${gone} is gone`);
      assert.deepEqual(
        names.filter((n) => /^(uploads|files|cachix)|narinfos_marked/.test(n)),
        [],
        "no index or trigger keeps an old name",
      );
      for (const n of [
        "nars",
        "side_files",
        "client_keys",
        "multipart",
        "parts",
        "gc_marks",
        "tokens_account",
      ])
        assert.ok(names.includes(n), `${n} is there`);
      assert.deepEqual(
        sqlite
          .prepare(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'nars%' ORDER BY name",
          )
          .all(),
        ["nars_used_delete", "nars_used_insert", "nars_used_update"].map((name) => ({
          name,
          tbl_name: "nars",
        })),
      );
      assert.deepEqual(
        (sqlite.prepare("PRAGMA foreign_key_list(parts)").all() as Array<{ table: string }>).map(
          (f) => f.table,
        ),
        ["multipart"],
      );
      assert.deepEqual(sqlite.prepare("PRAGMA foreign_key_check").all(), []);
      assert.deepEqual(sqlite.prepare("SELECT cache, hash, marked_at FROM gc_marks").all(), [
        { cache: "old", hash: MARKED, marked_at: 123 },
      ]);
      assert.deepEqual(
        sqlite.prepare("SELECT version FROM schema_version ORDER BY version").pluck().all(),
        MIGRATIONS.map((m) => m.version),
      );
    } finally {
      sqlite.close();
    }
    // Migrated, it is what a fresh database is.
    await (await openMetadata({ dataDir: fresh.path })).close();
    assert.deepEqual(sqliteNames(file), sqliteNames(join(fresh.path, "nixcache.db")));

    const srv = await startServer({ dataDir: dir.path, port: 0 });
    try {
      await assertServes(srv.url);
    } finally {
      await srv.close();
    }
    const again = await openMetadata({ dataDir: dir.path });
    try {
      await assertMarksKept(again);
    } finally {
      await again.close();
    }
  } finally {
    dir.cleanup();
    fresh.cleanup();
  }
});

async function pgQuery(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Names of the schema's objects in PostgreSQL's catalog: tables, columns, indexes, constraints, triggers, functions. */
async function pgNames(url: string): Promise<string[]> {
  const rows = await pgQuery(
    url,
    `SELECT 'table ' || table_name || '.' || column_name || COALESCE(' collate ' || collation_name, '') AS n
       FROM information_schema.columns WHERE table_schema = 'public'
     UNION ALL SELECT 'index ' || indexname || ' on ' || tablename FROM pg_indexes WHERE schemaname = 'public'
     UNION ALL SELECT 'constraint ' || conname || ' on ' || conrelid::regclass FROM pg_constraint WHERE connamespace = 'public'::regnamespace
     UNION ALL SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass || ' runs ' || tgfoid::regproc FROM pg_trigger WHERE NOT tgisinternal
     UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
     ORDER BY 1`,
  );
  return rows.map((r) => r.n as string);
}

test("a PostgreSQL database at schema version 7 (uploads, files) converges to one schema", async () => {
  const url = await version7Database();
  const dir = tempDir("nixcache-pg7-");
  putNarBlob(dir.path);
  try {
    const meta = await openPostgresStore(url);
    try {
      await assertConverged(meta);
    } finally {
      await meta.close();
    }
    const names = await pgNames(url);
    assert.deepEqual(
      names.filter((n) => /\b(uploads|files|gc_reach)/.test(n)),
      [],
      "no table, index, constraint, trigger or function keeps an old name",
    );
    for (const n of [
      "index nars_blob on nars",
      "index nars_invisible on nars",
      "index side_files_blob on side_files",
      "constraint nars_pkey on nars",
      "constraint side_files_pkey on side_files",
      "trigger nars_used_insert on nars runs nixcache_nars_inserted",
      "trigger nars_used_delete on nars runs nixcache_nars_deleted",
      "trigger nars_used_update on nars runs nixcache_nars_updated",
    ])
      assert.ok(names.includes(n), n);
    assert.deepEqual(
      (await pgQuery(url, "SELECT version FROM schema_version ORDER BY version")).map((r) => r.version),
      PG_MIGRATIONS.map((m) => m.version),
    );
    // No column has a collation of its own: a join of two columns of different collations cannot
    // use the index of the one whose collation it does not take (a COLLATE "C" narinfos.hash made
    // the GC's count of referrers scan narinfo_refs for each path: minutes at a million).
    assert.deepEqual(
      names.filter((n) => n.includes(" collate ")),
      [],
    );
    // Migrated, it is what a fresh database is.
    const fresh = await freshDatabase();
    await (await openPostgresStore(fresh)).close();
    assert.deepEqual(names, await pgNames(fresh));

    const srv = await startServer({ db: url, dataDir: dir.path, port: 0 });
    try {
      await assertServes(srv.url);
    } finally {
      await srv.close();
    }
    const again = await openPostgresStore(url);
    try {
      await assertMarksKept(again);
      assert.deepEqual(
        (await pgQuery(url, "SELECT cache, hash FROM gc_marks")).map((r) => [r.cache, r.hash]),
        [["old", UNMARKED]],
        "the deleted path's mark went with it; the new mark stays",
      );
    } finally {
      await again.close();
    }
  } finally {
    dir.cleanup();
  }
});

test("both engines have the same tables, columns and indexes (PostgreSQL's GC scratch tables aside)", async () => {
  const dir = tempDir("nixcache-one-schema-");
  try {
    await (await openMetadata({ dataDir: dir.path })).close();
    const sqlite = new Database(join(dir.path, "nixcache.db"), { readonly: true });
    const lite = [
      ...(sqlite
        .prepare(
          `SELECT 'table ' || m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
           WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`,
        )
        .pluck()
        .all() as string[]),
      ...(sqlite
        .prepare(
          "SELECT 'index ' || name || ' on ' || tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        )
        .pluck()
        .all() as string[]),
      ...(sqlite
        .prepare("SELECT 'trigger ' || name || ' on ' || tbl_name FROM sqlite_master WHERE type = 'trigger'")
        .pluck()
        .all() as string[]),
    ].sort();
    sqlite.close();
    const url = await freshDatabase();
    await (await openPostgresStore(url)).close();
    const scratch = /^(table|index) gc_(unreached|doomed|saved)\b|^index gc_doomed_free /;
    const postgres = (await pgNames(url))
      .filter(
        (n) =>
          n.startsWith("table ") ||
          (n.startsWith("index ") && !/_(pkey|key) on /.test(n)) ||
          n.startsWith("trigger "),
      )
      .map((n) => n.replace(/ runs .*$/, "").replace(/ collate \S+$/, ""))
      .filter((n) => !scratch.test(n) && n !== "table trust_rules.seq")
      .sort();
    assert.deepEqual(lite, postgres);
  } finally {
    dir.cleanup();
  }
});

// Issue 30, item 2: pins from before their revisions were counted and kept their artifacts on the
// newest revision only. Built with every migration but that one, which opening then applies.
const PIN_COUNTS = /^pins: revisions counted/;
const PIN_ROWS = {
  pins: "INSERT INTO pins (cache, name, keep_revisions, keep_days, created_at) VALUES ('old', 'main', NULL, NULL, 1), ('old', 'empty', NULL, NULL, 1)",
  entries: `INSERT INTO pin_entries (cache, pin, hash, store_path, artifacts, created_at) VALUES
    ('old', 'main', 'h1', '/nix/store/h1-a', '["bin/1"]', 10),
    ('old', 'main', 'h2', '/nix/store/h2-a', '["bin/2"]', 20),
    ('old', 'main', 'h3', '/nix/store/h3-a', '["bin/3","bin/4"]', 30)`,
};

async function assertPinsMigrated(meta: MetadataStore): Promise<void> {
  const pins = await meta.listPins("old", { limit: 10, revisions: 10 });
  assert.deepEqual(
    pins.map((p) => [p.name, p.revisionCount, p.revisions.map((r) => [r.hash, r.artifacts])]),
    [
      ["empty", 0, []],
      [
        "main",
        3,
        [
          ["h3", ["bin/3", "bin/4"]],
          ["h2", []],
          ["h1", []],
        ],
      ],
    ],
  );
  // The counter moves with the revisions from now on.
  await meta.removePin("old", "empty");
  assert.equal((await meta.getPin("old", "main", { limit: 1 }))?.revisionCount, 3);
}

test("pins written before revisions were counted: counts filled in, artifacts kept by the newest revision (SQLite)", async () => {
  const dir = tempDir("nixcache-pins-");
  try {
    const db = new Database(join(dir.path, "nixcache.db"));
    db.pragma("foreign_keys = ON");
    db.exec(
      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    );
    for (const m of MIGRATIONS.filter((x) => !PIN_COUNTS.test(x.name))) {
      m.up(db);
      db.prepare("INSERT INTO schema_version VALUES (?, ?, 0)").run(m.version, m.name);
    }
    db.exec(
      "INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at) VALUES ('old', 1, 40, 's', 'p', 1)",
    );
    db.exec(PIN_ROWS.pins);
    db.exec(PIN_ROWS.entries);
    db.close();
    const meta = await openMetadata({ dataDir: dir.path });
    try {
      await assertPinsMigrated(meta);
    } finally {
      await meta.close();
    }
  } finally {
    dir.cleanup();
  }
});

test("pins written before revisions were counted: counts filled in, artifacts kept by the newest revision (PostgreSQL)", async () => {
  const url = await freshDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    );
    for (const m of PG_MIGRATIONS.filter((x) => !PIN_COUNTS.test(x.name))) {
      await client.query(m.sql);
      await client.query("INSERT INTO schema_version VALUES ($1, $2, 0)", [m.version, m.name]);
    }
    await client.query(
      "INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at) VALUES ('old', TRUE, 40, 's', 'p', 1)",
    );
    await client.query(PIN_ROWS.pins);
    await client.query(PIN_ROWS.entries);
  } finally {
    await client.end();
  }
  const meta = await openPostgresStore(url);
  try {
    await assertPinsMigrated(meta);
  } finally {
    await meta.close();
  }
});

test("SQLite's migration 15 and PostgreSQL's 13: listings count in the bytes used, derivers come out of the texts", async () => {
  const drv = `${"4".repeat(32)}-x.drv`;
  const text = `StorePath: /nix/store/${MARKED}-m\nDeriver: ${drv}\n`;
  /** The store opened on the migrated database: the listing counts, the log goes with the path. */
  async function check(meta: MetadataStore): Promise<void> {
    assert.equal(await meta.cacheUsage("c"), 8 + Buffer.byteLength(LISTING));
    const exported = (await meta.exportRecords("narinfos", null, 10)).records;
    assert.deepEqual(
      exported.map((n) => [n.hash, n.deriver]),
      [
        [MARKED, drv],
        [UNMARKED, null],
      ],
    );
  }

  const dir = tempDir("nixcache-v14-");
  try {
    const db = new Database(join(dir.path, "nixcache.db"));
    db.exec(
      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    );
    for (const m of MIGRATIONS.filter((x) => x.version <= 14)) {
      m.up(db);
      db.prepare("INSERT INTO schema_version VALUES (?, ?, 0)").run(m.version, m.name);
    }
    db.exec(`INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at) VALUES ('c', 1, 40, 's', 'p', 1);
INSERT INTO nars (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
  VALUES ('c', 'nar/a.nar', 'b', 'none', 'sha256:n', 8, 'sha256:f', 8, 1, 1);`);
    const narinfo = db.prepare(
      "INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at) VALUES ('c', ?, ?, 'nar/a.nar', ?, 1, 1, 1)",
    );
    narinfo.run(MARKED, `/nix/store/${MARKED}-m`, text);
    narinfo.run(UNMARKED, `/nix/store/${UNMARKED}-u`, "StorePath: u\nDeriver: unknown-deriver\n");
    db.prepare(
      "INSERT INTO side_files (cache, kind, name, body, content_type, created_at) VALUES ('c', 'ls', ?, ?, 'application/json', 1)",
    ).run(MARKED, Buffer.from(LISTING));
    db.close();
    const meta = await openMetadata({ dataDir: dir.path });
    try {
      await check(meta);
    } finally {
      await meta.close();
    }
  } finally {
    dir.cleanup();
  }

  const url = await freshDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    );
    for (const m of PG_MIGRATIONS.filter((x) => x.version <= 12)) {
      await client.query(m.sql);
      await client.query("INSERT INTO schema_version VALUES ($1, $2, 0)", [m.version, m.name]);
    }
    await client.query(`INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at) VALUES ('c', TRUE, 40, 's', 'p', 1);
INSERT INTO nars (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
  VALUES ('c', 'nar/a.nar', 'b', 'none', 'sha256:n', 8, 'sha256:f', 8, TRUE, 1);`);
    await client.query(
      `INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at)
       VALUES ('c', $1, $2, 'nar/a.nar', $3, 1, TRUE, 1), ('c', $4, $5, 'nar/a.nar', $6, 1, TRUE, 1)`,
      [
        MARKED,
        `/nix/store/${MARKED}-m`,
        text,
        UNMARKED,
        `/nix/store/${UNMARKED}-u`,
        "StorePath: u\nDeriver: unknown-deriver\n",
      ],
    );
    await client.query(
      "INSERT INTO side_files (cache, kind, name, body, content_type, created_at) VALUES ('c', 'ls', $1, $2, 'application/json', 1)",
      [MARKED, Buffer.from(LISTING)],
    );
  } finally {
    await client.end();
  }
  const meta = await openPostgresStore(url);
  try {
    await check(meta);
  } finally {
    await meta.close();
  }
});
