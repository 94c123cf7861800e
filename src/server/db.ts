// Server metadata in SQLite (WAL): caches and their signing keys, NAR uploads, narinfos, tokens,
// listings and build logs. Blobs live on disk (blobs.ts); rows here only name them by hash.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  formatPublicKey,
  formatSecretKey,
  generateSecretKey,
  parseSecretKey,
  publicKeyOf,
  type SecretKey,
} from "../nix/signing.js";

export type Permission = "read" | "write" | "admin";
export const PERMISSIONS: readonly Permission[] = ["read", "write", "admin"];
const RANK: Record<Permission, number> = { read: 1, write: 2, admin: 3 };

/** Whether a granted permission covers the one needed (admin ⊇ write ⊇ read). */
export function permits(granted: Permission, needed: Permission): boolean {
  return RANK[granted] >= RANK[needed];
}

export interface CacheRow {
  name: string;
  isPublic: boolean;
  priority: number;
  publicKey: string;
  createdAt: number;
}

export interface UploadRow {
  cache: string;
  url: string;
  blob: string;
  compression: string;
  narHash: string;
  narSize: number;
  fileHash: string;
  fileSize: number;
  visible: boolean;
}

export interface TokenRow {
  id: string;
  cache: string;
  perm: Permission;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  description: string | null;
  /** `cache` tokens hold `perm` on `cache`; `personal` tokens act for `account` (cache is ""). */
  kind: "cache" | "personal";
  account: string | null;
}

export interface StoredText {
  body: Buffer;
  contentType: string;
  contentEncoding: string | null;
}

export class DbError extends Error {
  override name = "DbError";
}

const SCHEMA = `
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
);
`;

/** Creates the file with mode 0600 first, so the signing keys inside are never world-readable. */
function createPrivateFile(path: string): void {
  closeSync(openSync(path, "a", 0o600));
}

export class ServerDb {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly keys = new Map<string, SecretKey>();
  private readonly cacheRows = new Map<string, { row: CacheRow | undefined; until: number }>();

  private constructor(db: Database.Database) {
    this.db = db;
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    db.exec(SCHEMA);
    migrate(db);
    this.stmts = {
      getCache: db.prepare(
        "SELECT name, is_public, priority, public_key, created_at FROM caches WHERE name = ?",
      ),
      getSecret: db.prepare("SELECT secret_key FROM caches WHERE name = ?"),
      listCaches: db.prepare(
        "SELECT name, is_public, priority, public_key, created_at FROM caches ORDER BY name",
      ),
      insertCache: db.prepare(
        "INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      countNarInfos: db.prepare("SELECT COUNT(*) AS n FROM narinfos WHERE cache = ?"),
      getUpload: db.prepare("SELECT * FROM uploads WHERE cache = ? AND url = ?"),
      putUpload: db.prepare(
        `INSERT INTO uploads (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
         VALUES (@cache, @url, @blob, @compression, @narHash, @narSize, @fileHash, @fileSize, 0, @now)
         ON CONFLICT (cache, url) DO UPDATE SET blob = excluded.blob, compression = excluded.compression,
           nar_hash = excluded.nar_hash, nar_size = excluded.nar_size, file_hash = excluded.file_hash,
           file_size = excluded.file_size, created_at = excluded.created_at
         WHERE uploads.visible = 0 OR uploads.blob = excluded.blob`,
      ),
      visibleNar: db.prepare(
        "SELECT blob, file_size FROM uploads WHERE cache = ? AND url = ? AND visible = 1",
      ),
      markVisible: db.prepare("UPDATE uploads SET visible = 1 WHERE cache = ? AND url = ?"),
      getNarInfo: db.prepare("SELECT text FROM narinfos WHERE cache = ? AND hash = ?").pluck(),
      putNarInfo: db.prepare(
        `INSERT INTO narinfos (cache, hash, store_path, url, text, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (cache, hash) DO UPDATE SET store_path = excluded.store_path, url = excluded.url,
           text = excluded.text, created_at = excluded.created_at`,
      ),
      findToken: db.prepare("SELECT * FROM tokens WHERE hash = ?"),
      insertToken: db.prepare(
        "INSERT INTO tokens (hash, id, cache, perm, description, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      revokeById: db.prepare("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
      tokenById: db.prepare("SELECT * FROM tokens WHERE id = ?"),
      listTokens: db.prepare("SELECT * FROM tokens ORDER BY created_at, id"),
      getFile: db.prepare(
        "SELECT body, content_type, content_encoding FROM files WHERE cache = ? AND kind = ? AND name = ?",
      ),
      putFile: db.prepare(
        `INSERT INTO files (cache, kind, name, body, content_type, content_encoding, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (cache, kind, name) DO UPDATE SET body = excluded.body,
           content_type = excluded.content_type, content_encoding = excluded.content_encoding,
           created_at = excluded.created_at`,
      ),
      allNarInfos: db.prepare(
        "SELECT n.cache, n.hash, n.url, u.blob FROM narinfos n LEFT JOIN uploads u ON u.cache = n.cache AND u.url = n.url",
      ),
      allBlobs: db.prepare("SELECT DISTINCT blob FROM uploads").pluck(),
    };
  }

  /** Opens (creating when absent) the database of a data directory. */
  static open(dataDir: string): ServerDb {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, "nixcache.db");
    createPrivateFile(file);
    return new ServerDb(new Database(file));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // --- caches ---

  createCache(opts: { name: string; isPublic: boolean; priority: number; keyName?: string }): CacheRow {
    const key = generateSecretKey(opts.keyName ?? `${opts.name}-1`);
    const publicKey = formatPublicKey(publicKeyOf(key));
    const now = Date.now();
    try {
      this.stmts.insertCache.run(
        opts.name,
        opts.isPublic ? 1 : 0,
        opts.priority,
        formatSecretKey(key),
        publicKey,
        now,
      );
    } catch (e) {
      if ((e as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY")
        throw new DbError(`cache ${JSON.stringify(opts.name)} already exists`);
      throw e;
    }
    this.cacheRows.delete(opts.name);
    return { name: opts.name, isPublic: opts.isPublic, priority: opts.priority, publicKey, createdAt: now };
  }

  /**
   * A cache by name. Rows are remembered for a second: every request needs one, and `cache create`
   * runs in another process, so a short lifetime is what lets new caches appear without a restart.
   */
  getCache(name: string): CacheRow | undefined {
    const now = Date.now();
    const hit = this.cacheRows.get(name);
    if (hit && hit.until > now) return hit.row;
    const r = this.stmts.getCache.get(name) as RawCache | undefined;
    const row = r && cacheFromRow(r);
    if (this.cacheRows.size > 10_000) this.cacheRows.clear();
    this.cacheRows.set(name, { row, until: now + 1000 });
    return row;
  }

  /** Changes a cache's visibility; the remembered row is dropped so the next request sees it. */
  setCachePublic(name: string, isPublic: boolean): void {
    this.db.prepare("UPDATE caches SET is_public = ? WHERE name = ?").run(isPublic ? 1 : 0, name);
    this.cacheRows.delete(name);
  }

  listCaches(): Array<CacheRow & { narinfos: number }> {
    return (this.stmts.listCaches.all() as RawCache[]).map((r) => ({
      ...cacheFromRow(r),
      narinfos: (this.stmts.countNarInfos.get(r.name) as { n: number }).n,
    }));
  }

  /** The cache's managed signing key; held in memory after first use. Never leaves the server. */
  signingKey(cache: string): SecretKey {
    let k = this.keys.get(cache);
    if (!k) {
      const text = this.stmts.getSecret.pluck().get(cache) as string | undefined;
      if (text === undefined) throw new DbError(`no cache named ${JSON.stringify(cache)}`);
      k = parseSecretKey(text);
      this.keys.set(cache, k);
    }
    return k;
  }

  // --- NAR uploads and narinfos ---

  /** Records a received NAR. False when the URL already serves a different blob (it must keep working). */
  recordUpload(u: Omit<UploadRow, "visible">): boolean {
    return this.stmts.putUpload.run({ ...u, now: Date.now() }).changes > 0;
  }

  getUpload(cache: string, url: string): UploadRow | undefined {
    const r = this.stmts.getUpload.get(cache, url) as RawUpload | undefined;
    if (!r) return undefined;
    return {
      cache: r.cache,
      url: r.url,
      blob: r.blob,
      compression: r.compression,
      narHash: r.nar_hash,
      narSize: r.nar_size,
      fileHash: r.file_hash,
      fileSize: r.file_size,
      visible: r.visible === 1,
    };
  }

  /** The blob behind a NAR URL, only once a narinfo has made it visible. */
  visibleNar(cache: string, url: string): { blob: string; fileSize: number } | undefined {
    const r = this.stmts.visibleNar.get(cache, url) as { blob: string; file_size: number } | undefined;
    return r && { blob: r.blob, fileSize: r.file_size };
  }

  /** Makes the NAR visible and stores the narinfo, atomically. */
  commitNarInfo(cache: string, hash: string, storePath: string, url: string, text: string): void {
    this.db.transaction(() => {
      this.stmts.markVisible.run(cache, url);
      this.stmts.putNarInfo.run(cache, hash, storePath, url, text, Date.now());
    })();
  }

  getNarInfoText(cache: string, hash: string): string | undefined {
    return this.stmts.getNarInfo.get(cache, hash) as string | undefined;
  }

  /** Every narinfo with the blob its URL resolves to (null when the URL has no upload): for checks. */
  narInfoBlobs(): Array<{ cache: string; hash: string; url: string; blob: string | null }> {
    return this.stmts.allNarInfos.all() as Array<{
      cache: string;
      hash: string;
      url: string;
      blob: string | null;
    }>;
  }

  allBlobs(): string[] {
    return this.stmts.allBlobs.all() as string[];
  }

  // --- side files ---

  putFile(cache: string, kind: "ls" | "log", name: string, f: StoredText): void {
    this.stmts.putFile.run(cache, kind, name, f.body, f.contentType, f.contentEncoding, Date.now());
  }

  getFile(cache: string, kind: "ls" | "log", name: string): StoredText | undefined {
    const r = this.stmts.getFile.get(cache, kind, name) as
      | { body: Buffer; content_type: string; content_encoding: string | null }
      | undefined;
    return r && { body: r.body, contentType: r.content_type, contentEncoding: r.content_encoding };
  }

  // --- tokens (stored as SHA-256 hashes only) ---

  insertToken(t: {
    hash: string;
    id: string;
    cache: string;
    perm: Permission;
    description?: string;
    expiresAt: number | null;
  }): void {
    this.stmts.insertToken.run(t.hash, t.id, t.cache, t.perm, t.description ?? null, Date.now(), t.expiresAt);
  }

  findTokenByHash(hash: string): TokenRow | undefined {
    const r = this.stmts.findToken.get(hash) as RawToken | undefined;
    return r && tokenFromRow(r);
  }

  findTokenById(id: string): TokenRow | undefined {
    const r = this.stmts.tokenById.get(id) as RawToken | undefined;
    return r && tokenFromRow(r);
  }

  /** Marks a token revoked; false when it was already revoked. */
  revokeToken(id: string): boolean {
    return this.stmts.revokeById.run(Date.now(), id).changes > 0;
  }

  listTokens(): TokenRow[] {
    return (this.stmts.listTokens.all() as RawToken[]).map(tokenFromRow);
  }
}

interface RawCache {
  name: string;
  is_public: number;
  priority: number;
  public_key: string;
  created_at: number;
}

interface RawUpload {
  cache: string;
  url: string;
  blob: string;
  compression: string;
  nar_hash: string;
  nar_size: number;
  file_hash: string;
  file_size: number;
  visible: number;
}

interface RawToken {
  hash: string;
  id: string;
  cache: string;
  perm: Permission;
  description: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  kind?: string;
  account?: string | null;
}

/**
 * Schema changes after the first release, applied in place so existing data is kept: token kinds
 * (personal tokens act for an account of the Cachix-compatible API; older rows are cache tokens).
 */
function migrate(db: Database.Database): void {
  const cols = new Set(
    (db.prepare("PRAGMA table_info(tokens)").all() as Array<{ name: string }>).map((c) => c.name),
  );
  if (!cols.has("kind")) db.exec("ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'cache'");
  if (!cols.has("account")) db.exec("ALTER TABLE tokens ADD COLUMN account TEXT");
}

function cacheFromRow(r: RawCache): CacheRow {
  return {
    name: r.name,
    isPublic: r.is_public === 1,
    priority: r.priority,
    publicKey: r.public_key,
    createdAt: r.created_at,
  };
}

function tokenFromRow(r: RawToken): TokenRow {
  return {
    id: r.id,
    cache: r.cache,
    perm: r.perm,
    description: r.description,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    kind: r.kind === "personal" ? "personal" : "cache",
    account: r.account ?? null,
  };
}
