// Metadata of the Cachix-compatible API, in the server's own SQLite file: accounts (what personal
// tokens act for), per-cache settings Cachix has and Nix does not (owner, managed signing,
// preferred compression), public keys of self-signed caches, multipart uploads and their parts,
// and the server secret that signs part URLs. Tables are created in place; existing data is kept.
import { randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
import { hashToken, tokenId } from "./auth.js";
import type { ServerDb, TokenRow } from "./db.js";

export type CachixCompression = "XZ" | "ZSTD";

export interface AccountRow {
  id: number;
  slug: string;
  email: string | null;
  fullname: string | null;
  createdAt: number;
}

export interface CachixSettings {
  /** The account whose personal tokens administer the cache; null for caches made offline. */
  owner: string | null;
  /** Whether the server signs narinfos with the cache's own key (Cachix's "managed" caches). */
  managed: boolean;
  compression: CachixCompression;
}

export interface MultipartRow {
  narId: string;
  uploadId: string;
  cache: string;
  compression: "zstd" | "xz";
  state: "open" | "completed" | "aborted";
  createdAt: number;
}

export interface PartRow {
  part: number;
  etag: string;
  size: number;
}

const SCHEMA = `
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
);
`;

const stores = new WeakMap<ServerDb, CachixDb>();

/** The Cachix metadata beside a server database (one per ServerDb, tables created on first use). */
export function cachixDb(db: ServerDb): CachixDb {
  let s = stores.get(db);
  if (!s) {
    s = new CachixDb(db);
    stores.set(db, s);
  }
  return s;
}

export class CachixDb {
  private readonly sql: Database.Database;
  private readonly st;

  constructor(readonly server: ServerDb) {
    this.sql = server.db;
    this.sql.exec(SCHEMA);
    const p = (q: string) => this.sql.prepare(q);
    this.st = {
      accountBySlug: p("SELECT * FROM accounts WHERE slug = ?"),
      insertAccount: p("INSERT INTO accounts (slug, email, fullname, created_at) VALUES (?, ?, ?, ?)"),
      settings: p("SELECT owner, managed, compression FROM cachix_caches WHERE cache = ?"),
      upsertSettings: p(
        `INSERT INTO cachix_caches (cache, owner, managed, compression) VALUES (@cache, @owner, @managed, @compression)
         ON CONFLICT (cache) DO UPDATE SET owner = excluded.owner, managed = excluded.managed, compression = excluded.compression`,
      ),
      keys: p("SELECT name, public_key FROM cachix_keys WHERE cache = ? ORDER BY created_at, name"),
      insertKey: p(
        "INSERT OR IGNORE INTO cachix_keys (cache, name, public_key, created_at) VALUES (?, ?, ?, ?)",
      ),
      insertPersonal: p(
        "INSERT INTO tokens (hash, id, cache, perm, description, created_at, expires_at, kind, account) VALUES (?, ?, '', 'admin', ?, ?, ?, 'personal', ?)",
      ),
      tokensOfAccount: p(
        `SELECT * FROM tokens WHERE (kind = 'personal' AND account = @account)
           OR (kind = 'cache' AND cache IN (SELECT cache FROM cachix_caches WHERE owner = @account))
         ORDER BY created_at, id`,
      ),
      insertUpload: p(
        "INSERT INTO cachix_multipart (nar_id, upload_id, cache, compression, state, created_at) VALUES (?, ?, ?, ?, 'open', ?)",
      ),
      upload: p("SELECT * FROM cachix_multipart WHERE nar_id = ?"),
      openUploadsBefore: p(
        "SELECT nar_id FROM cachix_multipart WHERE state = 'open' AND created_at < ? ORDER BY created_at",
      ).pluck(),
      setState: p("UPDATE cachix_multipart SET state = ? WHERE nar_id = ? AND state = 'open'"),
      putPart: p(
        `INSERT INTO cachix_parts (nar_id, part, etag, size) VALUES (?, ?, ?, ?)
         ON CONFLICT (nar_id, part) DO UPDATE SET etag = excluded.etag, size = excluded.size`,
      ),
      parts: p("SELECT part, etag, size FROM cachix_parts WHERE nar_id = ? ORDER BY part"),
      deleteParts: p("DELETE FROM cachix_parts WHERE nar_id = ?"),
      secret: p("SELECT value FROM server_secrets WHERE name = ?").pluck(),
      insertSecret: p("INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?, ?)"),
    };
  }

  // --- accounts and personal tokens ---

  account(slug: string): AccountRow | undefined {
    const r = this.st.accountBySlug.get(slug) as
      | { id: number; slug: string; email: string | null; fullname: string | null; created_at: number }
      | undefined;
    return r && { id: r.id, slug: r.slug, email: r.email, fullname: r.fullname, createdAt: r.created_at };
  }

  /** The account named `slug`, created when absent. */
  ensureAccount(slug: string, opts: { email?: string; fullname?: string } = {}): AccountRow {
    const existing = this.account(slug);
    if (existing) return existing;
    this.st.insertAccount.run(slug, opts.email ?? null, opts.fullname ?? null, Date.now());
    const row = this.account(slug);
    if (!row) throw new Error("account was not stored");
    return row;
  }

  /** Creates a personal token for an account; returns its text (only its hash is stored). */
  createPersonalToken(
    account: string,
    opts: { expiresAt: number | null; description?: string },
  ): { token: string; row: TokenRow } {
    const token = `nxc_${randomBytes(32).toString("base64url")}`;
    const hash = hashToken(token);
    const id = tokenId(hash);
    this.st.insertPersonal.run(hash, id, opts.description ?? null, Date.now(), opts.expiresAt, account);
    const row = this.server.findTokenById(id);
    if (!row) throw new Error("token was not stored");
    return { token, row };
  }

  /** The personal tokens of an account and the cache tokens of the caches it owns. */
  tokensOfAccount(account: string): TokenRow[] {
    return (this.st.tokensOfAccount.all({ account }) as Array<{ id: string }>)
      .map((r) => this.server.findTokenById(r.id))
      .filter((r): r is TokenRow => r !== undefined);
  }

  // --- cache settings and keys ---

  settings(cache: string): CachixSettings {
    const r = this.st.settings.get(cache) as
      | { owner: string | null; managed: number; compression: string }
      | undefined;
    if (!r) return { owner: null, managed: true, compression: "ZSTD" };
    return { owner: r.owner, managed: r.managed === 1, compression: r.compression === "XZ" ? "XZ" : "ZSTD" };
  }

  setSettings(cache: string, s: CachixSettings): void {
    this.st.upsertSettings.run({
      cache,
      owner: s.owner,
      managed: s.managed ? 1 : 0,
      compression: s.compression,
    });
  }

  /** Creates a cache with its settings in one transaction. */
  createCache(opts: { name: string; isPublic: boolean; owner: string | null; managed: boolean }): void {
    this.sql.transaction(() => {
      this.server.createCache({ name: opts.name, isPublic: opts.isPublic, priority: 41 });
      this.setSettings(opts.name, { owner: opts.owner, managed: opts.managed, compression: "ZSTD" });
    })();
  }

  /** Public keys of the clients that sign for this cache, in Nix's `name:base64` form. */
  userKeys(cache: string): string[] {
    return (this.st.keys.all(cache) as Array<{ name: string; public_key: string }>).map(
      (k) => `${k.name}:${k.public_key}`,
    );
  }

  /** Registers a client public key (base64 of 32 bytes); false when it was already there. */
  addUserKey(cache: string, name: string, publicKeyB64: string): boolean {
    return this.st.insertKey.run(cache, name, publicKeyB64, Date.now()).changes > 0;
  }

  // --- multipart uploads ---

  createUpload(cache: string, compression: "zstd" | "xz"): MultipartRow {
    const narId = randomUuid();
    const uploadId = randomBytes(24).toString("base64url");
    this.st.insertUpload.run(narId, uploadId, cache, compression, Date.now());
    return this.upload(narId) as MultipartRow;
  }

  upload(narId: string): MultipartRow | undefined {
    const r = this.st.upload.get(narId) as
      | {
          nar_id: string;
          upload_id: string;
          cache: string;
          compression: "zstd" | "xz";
          state: MultipartRow["state"];
          created_at: number;
        }
      | undefined;
    return (
      r && {
        narId: r.nar_id,
        uploadId: r.upload_id,
        cache: r.cache,
        compression: r.compression,
        state: r.state,
        createdAt: r.created_at,
      }
    );
  }

  /** NAR ids of uploads still open that were created before `time` (ms since the epoch). */
  openUploadsBefore(time: number): string[] {
    return this.st.openUploadsBefore.all(time) as string[];
  }

  /** Ends an open upload; false when it was not open (so only one of complete/abort wins). */
  finishUpload(narId: string, state: "completed" | "aborted"): boolean {
    return this.st.setState.run(state, narId).changes > 0;
  }

  putPart(narId: string, part: number, etag: string, size: number): void {
    this.st.putPart.run(narId, part, etag, size);
  }

  parts(narId: string): PartRow[] {
    return this.st.parts.all(narId) as PartRow[];
  }

  deleteParts(narId: string): void {
    this.st.deleteParts.run(narId);
  }

  /** A random server secret by name, created on first use; it stays inside the 0600 database. */
  secret(name: string): Buffer {
    const existing = this.st.secret.get(name) as string | undefined;
    if (existing) return Buffer.from(existing, "base64");
    this.st.insertSecret.run(name, randomBytes(32).toString("base64"));
    return Buffer.from(this.st.secret.get(name) as string, "base64");
  }
}

/** The owner of a cache, for authorizing personal tokens. */
export function cacheOwner(db: ServerDb, cache: string): string | null {
  return cachixDb(db).settings(cache).owner;
}

function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}
