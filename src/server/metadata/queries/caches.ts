// Caches: their rows (remembered briefly: every request reads one), signing keys, client keys,
// retention and quota, and the server's own secrets.
import { randomBytes } from "node:crypto";
import {
  formatPublicKey,
  formatSecretKey,
  generateSecretKey,
  parseSecretKey,
  publicKeyOf,
  type SecretKey,
} from "../../../nix/signing.js";
import { DbError } from "../../errors.js";
import type { Db } from "../db/database.js";
import { violation } from "../db/database.js";
import { BYTE_ORDER, raw, rowLock, sql } from "../db/sql.js";
import { accessShift } from "../limits.js";
import { cacheFromRow, type RawCache } from "../rows.js";
import type { CacheRow, NewCache } from "../types.js";

const CACHE_COLUMNS = raw(
  "name, is_public, priority, public_key, created_at, owner, managed, compression, retention_ms, quota_bytes",
);

export interface CacheMemoOptions {
  /** How long a cache row is trusted (default a second). */
  ttlMs?: number;
  /** The clock the memo reads (tests pass their own). */
  now?: () => number;
}

/**
 * Cache rows remembered for a short time: every request needs one, and `cache create` runs in
 * another process, so a short lifetime is what lets new caches appear without a restart.
 */
export class CacheRows {
  private readonly rows = new Map<string, { row: CacheRow | undefined; until: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    o: CacheMemoOptions = {},
  ) {
    this.ttlMs = o.ttlMs ?? 1000;
    this.now = o.now ?? Date.now;
  }

  async get(name: string): Promise<CacheRow | undefined> {
    const now = this.now();
    const hit = this.rows.get(name);
    if (hit && hit.until > now) return hit.row;
    const r = await this.db.get<RawCache>(sql`SELECT ${CACHE_COLUMNS} FROM caches WHERE name = ${name}`);
    const row = r && cacheFromRow(r);
    if (this.rows.size > 10_000) this.rows.clear();
    this.rows.set(name, { row, until: now + this.ttlMs });
    return row;
  }

  forget(name: string): void {
    this.rows.delete(name);
  }
}

export async function createCache(db: Db, c: NewCache): Promise<CacheRow> {
  const key = generateSecretKey(c.keyName ?? `${c.name}-1`);
  const publicKey = formatPublicKey(publicKeyOf(key));
  const row: CacheRow = {
    name: c.name,
    isPublic: c.isPublic,
    priority: c.priority,
    publicKey,
    createdAt: Date.now(),
    owner: c.owner ?? null,
    managed: c.managed ?? true,
    compression: "ZSTD",
    retentionMs: null,
    quotaBytes: null,
  };
  try {
    await db.run(
      sql`INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at, owner, managed, compression)
          VALUES (${row.name}, ${row.isPublic}, ${row.priority}, ${formatSecretKey(key)}, ${publicKey},
            ${row.createdAt}, ${row.owner}, ${row.managed}, ${row.compression})`,
    );
  } catch (e) {
    if (violation(e) === "unique")
      throw new DbError("conflict", `cache ${JSON.stringify(c.name)} already exists`);
    throw e;
  }
  return row;
}

/** Visible narinfos as all minus pending: the primary key's index and the small pending one. */
export async function listCaches(db: Db): Promise<Array<CacheRow & { narinfos: number; bytes: number }>> {
  const rows = await db.all<RawCache & { narinfos: number; bytes: number }>(
    sql`SELECT ${CACHE_COLUMNS},
          (SELECT COUNT(*) FROM narinfos n WHERE n.cache = c.name)
            - (SELECT COUNT(*) FROM narinfos n WHERE n.cache = c.name AND NOT n.visible) AS narinfos,
          used_bytes AS bytes
        FROM caches c ORDER BY name${BYTE_ORDER}`,
  );
  return rows.map((r) => ({ ...cacheFromRow(r), narinfos: Number(r.narinfos), bytes: Number(r.bytes) }));
}

export async function updateCache(
  db: Db,
  name: string,
  change: Partial<Pick<CacheRow, "isPublic" | "compression">>,
): Promise<void> {
  await db.run(
    sql`UPDATE caches SET is_public = COALESCE(${change.isPublic ?? null}, is_public),
          compression = COALESCE(${change.compression ?? null}, compression) WHERE name = ${name}`,
  );
}

export async function signingKey(db: Db, cache: string): Promise<SecretKey> {
  const r = await db.get<{ secret_key: string }>(sql`SELECT secret_key FROM caches WHERE name = ${cache}`);
  if (!r) throw new DbError("notFound", `no cache named ${JSON.stringify(cache)}`);
  return parseSecretKey(r.secret_key);
}

export async function clientKeys(db: Db, cache: string): Promise<string[]> {
  const rows = await db.all<{ name: string; public_key: string }>(
    sql`SELECT name, public_key FROM client_keys WHERE cache = ${cache} ORDER BY created_at, name${BYTE_ORDER}`,
  );
  return rows.map((k) => `${k.name}:${k.public_key}`);
}

export async function addClientKey(
  db: Db,
  cache: string,
  name: string,
  publicKeyB64: string,
): Promise<boolean> {
  const n = await db.run(
    sql`INSERT INTO client_keys (cache, name, public_key, created_at) VALUES (${cache}, ${name}, ${publicKeyB64}, ${Date.now()})
        ON CONFLICT (cache, public_key) DO NOTHING`,
  );
  return n > 0;
}

/**
 * A new retention drops the cache's GC marks (they were made under the old one); a first or a
 * shorter one moves stored access times later (`accessShift` in limits.ts).
 */
export async function setCacheLimits(
  db: Db,
  name: string,
  limits: { retentionMs?: number | null; quotaBytes?: number | null },
): Promise<void> {
  await db.tx(async (t) => {
    const before = await t.get<{ retention_ms: number | null }>(
      sql`SELECT retention_ms FROM caches WHERE name = ${name}${rowLock("FOR NO KEY UPDATE")}`,
    );
    if (!before) throw new DbError("notFound", `no cache named ${JSON.stringify(name)}`);
    if (limits.retentionMs !== undefined && limits.retentionMs !== before.retention_ms) {
      await t.run(sql`UPDATE caches SET retention_ms = ${limits.retentionMs} WHERE name = ${name}`);
      await t.run(sql`DELETE FROM gc_marks WHERE cache = ${name}`);
      const now = Date.now();
      const shift = accessShift(before.retention_ms, limits.retentionMs, now);
      if (shift) {
        const later = sql`accessed_at + ${shift.by}`;
        await t.run(
          sql`UPDATE narinfos SET accessed_at = CASE WHEN ${later} < ${now} THEN ${later} ELSE ${now} END
              WHERE cache = ${name} AND accessed_at >= ${shift.from} AND accessed_at < ${now}`,
        );
      }
    }
    if (limits.quotaBytes !== undefined)
      await t.run(sql`UPDATE caches SET quota_bytes = ${limits.quotaBytes} WHERE name = ${name}`);
  });
}

export async function cacheUsage(db: Db, cache: string): Promise<number> {
  const r = await db.get<{ used_bytes: number }>(sql`SELECT used_bytes FROM caches WHERE name = ${cache}`);
  return Number(r?.used_bytes ?? 0);
}

/** Insert-if-absent then read: processes racing on first use all get the one stored value. */
export async function secret(db: Db, name: string): Promise<Buffer> {
  const read = async () =>
    (await db.get<{ value: string }>(sql`SELECT value FROM server_secrets WHERE name = ${name}`))?.value;
  let value = await read();
  if (value === undefined) {
    await db.run(
      sql`INSERT INTO server_secrets (name, value) VALUES (${name}, ${randomBytes(32).toString("base64")})
          ON CONFLICT (name) DO NOTHING`,
    );
    value = await read();
  }
  if (value === undefined) throw new DbError("internal", "server secret was not stored");
  return Buffer.from(value, "base64");
}
