// The MetadataStore in PostgreSQL, shared by any number of server replicas. Every write runs in a
// transaction that also NOTIFYs CHANGES_CHANNEL, so the other replicas' `changes.external()` moves
// (their narinfo caches drop what they hold). While the database is unreachable each call fails
// with DbError (unavailable), which routes answer with 503; the pool opens new connections on the
// next call, so service resumes by itself once the database is back.
import { randomBytes } from "node:crypto";
import pg from "pg";
import {
  formatPublicKey,
  formatSecretKey,
  generateSecretKey,
  parseSecretKey,
  publicKeyOf,
  type SecretKey,
} from "../../../nix/signing.js";
import { STORE_HASH_LENGTH } from "../../../nix/store-path.js";
import { DbError } from "../../errors.js";
import { closureReferences } from "../closure.js";
import { newTrustRuleId, tokenColumns } from "../columns.js";
import { pushFromRow, type RawPush, type RawReport, reportFromRow } from "../dashboard-rows.js";
import { BLOB_CLAIM_TTL_MS, claimedMessage, quotaMessage, withinQuota } from "../limits.js";
import { keepColumns, pinsFromRows, type RawPinRow } from "../pins.js";
import type { RecordKind, RecordPage, RecordTypes } from "../records.js";
import { ACTIVITY_KEPT_MS, type MetadataStore, REPORTS_KEPT_PER_BRANCH } from "../store.js";
import type {
  AccountRow,
  ActivityBatch,
  CacheRow,
  DashboardUsage,
  GcBatch,
  GcMarkResult,
  GcRunRow,
  GcThresholds,
  MultipartState,
  MultipartUpload,
  NarInfoBlob,
  NarInfoCommit,
  NewCache,
  NewMultipart,
  NewPin,
  NewReport,
  NewToken,
  NewTrustRule,
  PartRow,
  PathRecord,
  PinRow,
  PushActivityRow,
  RealisationCommit,
  RealisationKind,
  ReceivedNar,
  ReportRow,
  SideFile,
  SideFileKind,
  StoredRealisation,
  TokenRow,
  TrustRuleRow,
} from "../types.js";
import {
  CHANGES_CHANNEL,
  ChangeListener,
  ClosingClient,
  clientConfig,
  ErrorMapper,
  isConnectionError,
} from "./connection.js";
import { migrate } from "./migrations.js";
import { exportRecords as exportPgRecords, importRecords as importPgRecords } from "./records.js";
import {
  accountFromRow,
  CACHE_COLUMNS,
  cacheFromRow,
  fileFromRow,
  multipartFromRow,
  narFromRow,
  type RawAccount,
  type RawCache,
  type RawFile,
  type RawMultipart,
  type RawNar,
  type RawToken,
  type RawTrustRule,
  tokenFromRow,
  trustRuleFromRow,
} from "./rows.js";

/** A report's columns with its uploader's token description (`ci_reports r`, `tokens t`). */
const REPORT_COLUMNS = `r.id, r.cache, r.kind, r.commit_id, r.branch, r.run_id, r.run_url, r.token_id,
  r.created_at, r.ok, r.counts, t.description AS token_description
  FROM ci_reports r LEFT JOIN tokens t ON t.id = r.token_id`;

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long a new connection may take before the call fails as unavailable (default 10 s). */
  connectTimeoutMs?: number;
}

/**
 * For the GC's set queries: hash joins over millions of rows want more than the default work_mem,
 * and compiling them (JIT) cost more than it saved.
 */
const GC_SETTINGS = "SET LOCAL work_mem = '256MB'; SET LOCAL jit = off";

/** Of the blobs $1 (distinct), those no NAR record or side file names. */
const UNNAMED_BLOBS = `SELECT b AS blob FROM unnest($1::text[]) AS b
  WHERE NOT EXISTS (SELECT 1 FROM nars u WHERE u.blob = b)
    AND NOT EXISTS (SELECT 1 FROM side_files f WHERE f.blob = b)`;

const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";

type Tx = pg.PoolClient;

export class PostgresMetadataStore implements MetadataStore {
  private readonly keys = new Map<string, SecretKey>();
  private readonly cacheRows = new Map<string, { row: CacheRow | undefined; until: number }>();
  private writes = 0;
  /** Ends every write: the payload names this object, so its own listener does not count it. */
  private readonly notifyAndCommit: string;

  /**
   * `external` moves when another store object (another replica, an admin command) commits a
   * write: its NOTIFY reaches the listener within milliseconds. The narinfo cache reads it every
   * quarter second at most, so a replica serves another's change after at most 0.25 s + the
   * notification's latency; while the listener is disconnected every read moves it, so nothing
   * stale is trusted.
   */
  readonly changes: { local(): number; external(): number };

  private constructor(
    private readonly pool: pg.Pool,
    private readonly errors: ErrorMapper,
    private readonly listener: ChangeListener,
    self: string,
  ) {
    this.notifyAndCommit = `NOTIFY ${CHANGES_CHANNEL}, '${self}'; COMMIT`;
    this.changes = { local: () => this.writes, external: () => this.listener.value() };
  }

  /**
   * Connects to `url` (`postgres://user@host:port/dbname`; PG* variables and ~/.pgpass fill in
   * what it leaves out), applies missing migrations and starts listening for changes.
   */
  static async open(url: string, opts: PostgresOptions = {}): Promise<PostgresMetadataStore> {
    const errors = new ErrorMapper(url);
    const config = clientConfig(url, { connectTimeoutMs: opts.connectTimeoutMs });
    const pool = new pg.Pool({ ...config, max: opts.poolSize ?? 10, Client: ClosingClient });
    // An idle connection that dies (a server restart) is dropped from the pool, which opens a new
    // one on the next call; without a listener the event would end the process.
    pool.on("error", () => {});
    const self = randomBytes(8).toString("hex");
    const listener = new ChangeListener(config, self);
    try {
      const client = await pool.connect();
      try {
        await migrate(client, errors.where);
      } finally {
        client.release();
      }
      await listener.start();
    } catch (e) {
      await listener.close();
      await pool.end().catch(() => {});
      throw errors.opening(e);
    }
    return new PostgresMetadataStore(pool, errors, listener, self);
  }

  async close(): Promise<void> {
    await this.listener.close();
    await this.pool.end();
  }

  /** Connections of the pool, for the `nixcache_db_pool_*` metrics. */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  // --- plumbing ---

  private async rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw this.errors.map(e);
    }
  }

  private async one<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<R | undefined> {
    return (await this.rows<R>(sql, params))[0];
  }

  /** Runs `f` in a transaction that notifies the other replicas when it commits. */
  private async tx<T>(f: (c: Tx) => Promise<T>): Promise<T> {
    let c: Tx;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw this.errors.map(e);
    }
    let broken: Error | undefined;
    try {
      await c.query("BEGIN");
      const result = await f(c);
      await c.query(this.notifyAndCommit);
      return result;
    } catch (e) {
      if (isConnectionError(e)) broken = e as Error;
      else await c.query("ROLLBACK").catch((r: Error) => (broken = r));
      throw this.errors.map(e);
    } finally {
      // A failed commit may still have committed: count it, caches in front re-read either way.
      this.writes++;
      c.release(broken);
    }
  }

  /** One write statement (in a transaction, for its notification); the number of rows it changed. */
  private async write(sql: string, params: unknown[]): Promise<number> {
    return this.tx(async (c) => (await c.query(sql, params)).rowCount ?? 0);
  }

  // --- caches ---

  async createCache(c: NewCache): Promise<CacheRow> {
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
      await this.write(
        `INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at, owner, managed, compression)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          row.name,
          row.isPublic,
          row.priority,
          formatSecretKey(key),
          publicKey,
          row.createdAt,
          row.owner,
          row.managed,
          row.compression,
        ],
      );
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION)
        throw new DbError("conflict", `cache ${JSON.stringify(c.name)} already exists`);
      throw e;
    }
    this.cacheRows.delete(c.name);
    return row;
  }

  /** Rows are remembered for a second, as in SQLite: every request needs one. */
  async getCache(name: string): Promise<CacheRow | undefined> {
    const now = Date.now();
    const hit = this.cacheRows.get(name);
    if (hit && hit.until > now) return hit.row;
    const r = await this.one<RawCache>(`SELECT ${CACHE_COLUMNS} FROM caches WHERE name = $1`, [name]);
    const row = r && cacheFromRow(r);
    if (this.cacheRows.size > 10_000) this.cacheRows.clear();
    this.cacheRows.set(name, { row, until: now + 1000 });
    return row;
  }

  /** Visible narinfos as all minus pending: the primary key's index and the small pending one. */
  async listCaches(): Promise<Array<CacheRow & { narinfos: number; bytes: number }>> {
    const rows = await this.rows<RawCache & { narinfos: number; bytes: number }>(
      `SELECT ${CACHE_COLUMNS},
         (SELECT COUNT(*) FROM narinfos n WHERE n.cache = c.name)
           - (SELECT COUNT(*) FROM narinfos n WHERE n.cache = c.name AND NOT n.visible) AS narinfos,
         used_bytes AS bytes
       FROM caches c ORDER BY name COLLATE "C"`,
    );
    return rows.map((r) => ({ ...cacheFromRow(r), narinfos: r.narinfos, bytes: r.bytes }));
  }

  async updateCache(
    name: string,
    change: Partial<Pick<CacheRow, "isPublic" | "compression">>,
  ): Promise<void> {
    await this.write(
      "UPDATE caches SET is_public = COALESCE($2, is_public), compression = COALESCE($3, compression) WHERE name = $1",
      [name, change.isPublic ?? null, change.compression ?? null],
    );
    this.cacheRows.delete(name);
  }

  /** Held in memory after first use. */
  async signingKey(cache: string): Promise<SecretKey> {
    let k = this.keys.get(cache);
    if (!k) {
      const r = await this.one<{ secret_key: string }>("SELECT secret_key FROM caches WHERE name = $1", [
        cache,
      ]);
      if (!r) throw new DbError("notFound", `no cache named ${JSON.stringify(cache)}`);
      k = parseSecretKey(r.secret_key);
      this.keys.set(cache, k);
    }
    return k;
  }

  async clientKeys(cache: string): Promise<string[]> {
    const rows = await this.rows<{ name: string; public_key: string }>(
      `SELECT name, public_key FROM client_keys WHERE cache = $1 ORDER BY created_at, name COLLATE "C"`,
      [cache],
    );
    return rows.map((k) => `${k.name}:${k.public_key}`);
  }

  async addClientKey(cache: string, name: string, publicKeyB64: string): Promise<boolean> {
    const n = await this.write(
      `INSERT INTO client_keys (cache, name, public_key, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (cache, public_key) DO NOTHING`,
      [cache, name, publicKeyB64, Date.now()],
    );
    return n > 0;
  }

  // --- NARs and narinfos ---

  /**
   * Under the blob's lock (claimBlobs takes it too) and the cache row's (the quota check and the
   * usage trigger's update are then one step for concurrent recorders). Rows are locked in the
   * order a GC delete locks them (narinfos, then the NAR record, then the cache), so the two never
   * deadlock.
   */
  async recordNar(nar: Omit<ReceivedNar, "visible">): Promise<boolean> {
    return this.tx(async (c) => {
      await lockBlobs(c, [nar.blob]);
      const now = Date.now();
      // A NAR received again for a URL a narinfo has: that narinfo is being pushed again (an
      // access). One a GC holds is being deleted: skipped (its NAR record is then recorded anew).
      await c.query(
        `UPDATE narinfos SET accessed_at = $3 WHERE ctid IN (SELECT ctid FROM narinfos
           WHERE cache = $1 AND url = $2 AND accessed_at < $3 FOR UPDATE SKIP LOCKED)`,
        [nar.cache, nar.url, now],
      );
      const old = (
        await c.query<{ file_size: number; visible: boolean; blob: string }>(
          "SELECT file_size, visible, blob FROM nars WHERE cache = $1 AND url = $2 FOR UPDATE",
          [nar.cache, nar.url],
        )
      ).rows[0];
      const state = (
        await c.query<{ claimed: boolean; quota_bytes: number | null; used_bytes: number }>(
          `SELECT EXISTS (SELECT 1 FROM blob_claims WHERE blob = $2 AND claimed_at > $3) AS claimed,
             c.quota_bytes, c.used_bytes FROM caches c WHERE c.name = $1 FOR NO KEY UPDATE`,
          [nar.cache, nar.blob, now - BLOB_CLAIM_TTL_MS],
        )
      ).rows[0];
      if (state?.claimed) throw new DbError("unavailable", claimedMessage(nar.blob));
      if (state && state.quota_bytes !== null) {
        // A served URL keeps its blob (the upsert changes nothing then): only a change adds bytes.
        const replaces = !old?.visible || old.blob === nar.blob;
        const adding = nar.fileSize - (old?.file_size ?? 0);
        if (replaces && !withinQuota(state.used_bytes, adding, state.quota_bytes))
          throw new DbError("tooLarge", quotaMessage(nar.cache, state.used_bytes, adding, state.quota_bytes));
      }
      // A URL that is visible keeps its blob: a served NAR URL never changes.
      const r = await c.query(
        `INSERT INTO nars (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9)
         ON CONFLICT (cache, url) DO UPDATE SET blob = excluded.blob, compression = excluded.compression,
           nar_hash = excluded.nar_hash, nar_size = excluded.nar_size, file_hash = excluded.file_hash,
           file_size = excluded.file_size, created_at = excluded.created_at
         WHERE NOT nars.visible OR nars.blob = excluded.blob`,
        [
          nar.cache,
          nar.url,
          nar.blob,
          nar.compression,
          nar.narHash,
          nar.narSize,
          nar.fileHash,
          nar.fileSize,
          now,
        ],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  async getNar(cache: string, url: string): Promise<ReceivedNar | undefined> {
    const r = await this.one<RawNar>("SELECT * FROM nars WHERE cache = $1 AND url = $2", [cache, url]);
    return r && narFromRow(r);
  }

  async visibleNar(cache: string, url: string): Promise<{ blob: string; fileSize: number } | undefined> {
    const r = await this.one<{ blob: string; file_size: number }>(
      "SELECT blob, file_size FROM nars WHERE cache = $1 AND url = $2 AND visible",
      [cache, url],
    );
    return r && { blob: r.blob, fileSize: r.file_size };
  }

  /**
   * Narinfo commits of one cache are serialised by a transaction-scoped advisory lock. Without it,
   * A (referencing B) and B committed at once on two connections could each read the other as not
   * yet visible under their own snapshot: A would wait for B, and B's cascade, not seeing A's wait
   * row, would never release it. Under the lock each commit's reads (READ COMMITTED: one snapshot
   * per statement) see every commit that held the lock before it.
   */
  private async lockNarInfos(c: Tx, cache: string): Promise<void> {
    await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`nixcache narinfos ${cache}`]);
  }

  async commitNarInfo(n: NarInfoCommit): Promise<{ visible: boolean; missing: string[] }> {
    const refs = closureReferences(n.hash, n.references);
    return this.tx(async (c) => {
      // The lock first, before any row lock: a commit holding the upload's row while it waited
      // for the lock closed a cycle with recordNar (which locks the narinfo's row, then the
      // upload's) and a commit holding the lock (which needs that narinfo's row): a deadlock.
      await this.lockNarInfos(c, n.cache);
      await c.query("UPDATE nars SET visible = TRUE WHERE cache = $1 AND url = $2 AND NOT visible", [
        n.cache,
        n.url,
      ]);
      // One statement: which references are missing, what the row was (`prev` reads the snapshot
      // before the upsert), and the upsert; a visible narinfo stays visible.
      const state = (
        await c.query<{ was: boolean | null; missing: string[]; visible: boolean }>(
          `WITH prev AS (SELECT visible FROM narinfos WHERE cache = $1 AND hash = $2),
           unmark AS (DELETE FROM gc_marks WHERE cache = $1 AND hash = $2),
           missing AS (
             SELECT ARRAY(SELECT t.r FROM unnest($6::text[]) WITH ORDINALITY AS t(r, i)
               WHERE NOT EXISTS (SELECT 1 FROM narinfos x WHERE x.cache = $1 AND x.hash = t.r AND x.visible)
                 AND NOT EXISTS (SELECT 1 FROM upstream_paths u WHERE u.cache = $1 AND u.hash = t.r)
               ORDER BY t.i) AS refs)
           INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at)
           SELECT $1, $2, $3, $4, $5, $7, COALESCE((SELECT visible FROM prev), FALSE) OR cardinality(m.refs) = 0, $7
           FROM missing m
           ON CONFLICT (cache, hash) DO UPDATE SET store_path = excluded.store_path, url = excluded.url,
             text = excluded.text, created_at = excluded.created_at, visible = excluded.visible,
             accessed_at = excluded.accessed_at
           RETURNING visible, (SELECT visible FROM prev) AS was, (SELECT refs FROM missing) AS missing`,
          [n.cache, n.hash, n.storePath, n.url, n.text, refs, Date.now()],
        )
      ).rows[0] as { was: boolean | null; missing: string[]; visible: boolean };
      // The references, for the GC (a push is an access, and takes back a GC mark: above).
      await c.query(
        `WITH gone AS (DELETE FROM narinfo_refs WHERE cache = $1 AND hash = $2 AND NOT (ref = ANY($3::text[])))
         INSERT INTO narinfo_refs (cache, hash, ref) SELECT $1, $2, r FROM unnest($3::text[]) AS r
         ON CONFLICT DO NOTHING`,
        [n.cache, n.hash, refs],
      );
      // A pending narinfo committed again waits for what its new text references.
      if (state.was === false)
        await c.query("DELETE FROM narinfo_waits WHERE cache = $1 AND hash = $2", [n.cache, n.hash]);
      if (!state.visible)
        await c.query(
          "INSERT INTO narinfo_waits (cache, ref, hash) SELECT $1, r, $3 FROM unnest($2::text[]) AS r ON CONFLICT DO NOTHING",
          [n.cache, state.missing, n.hash],
        );
      else if (state.was !== true) await this.release(c, n.cache, [n.hash]);
      return { visible: state.visible, missing: state.missing };
    });
  }

  /**
   * Makes visible every narinfo whose last awaited reference is among `present`, then those
   * waiting on them, level by level (store paths form no cycles), and the realisations naming any
   * of them; returns the hashes made visible.
   */
  private async release(c: Tx, cache: string, present: readonly string[]): Promise<string[]> {
    const released: string[] = [];
    let level = [...present];
    while (level.length > 0) {
      // These paths are present now: the realisations naming them are served from now on.
      await c.query(
        "UPDATE realisations SET visible = TRUE WHERE cache = $1 AND out_hash = ANY($2::text[]) AND NOT visible",
        [cache, level],
      );
      const waiters = await c.query<{ hash: string }>(
        "DELETE FROM narinfo_waits WHERE cache = $1 AND ref = ANY($2::text[]) RETURNING hash",
        [cache, level],
      );
      if (waiters.rows.length === 0) break;
      const freed = await c.query<{ hash: string }>(
        `UPDATE narinfos n SET visible = TRUE
         WHERE n.cache = $1 AND n.hash = ANY($2::text[]) AND NOT n.visible
           AND NOT EXISTS (SELECT 1 FROM narinfo_waits w WHERE w.cache = $1 AND w.hash = n.hash)
         RETURNING n.hash`,
        [cache, [...new Set(waiters.rows.map((r) => r.hash))]],
      );
      level = freed.rows.map((r) => r.hash);
      released.push(...level);
    }
    return released;
  }

  async markUpstream(cache: string, hashes: readonly string[]): Promise<string[]> {
    if (hashes.length === 0) return [];
    return this.tx(async (c) => {
      await this.lockNarInfos(c, cache);
      await c.query(
        `INSERT INTO upstream_paths (cache, hash, created_at) SELECT $1, h, $3 FROM unnest($2::text[]) AS h
         ON CONFLICT DO NOTHING`,
        [cache, [...new Set(hashes)], Date.now()],
      );
      return this.release(c, cache, hashes);
    });
  }

  async pendingReferences(
    cache: string | undefined,
    limit: number,
  ): Promise<Array<{ cache: string; hash: string }>> {
    return this.rows<{ cache: string; hash: string }>(
      `SELECT DISTINCT w.cache, w.ref AS hash FROM narinfo_waits w
       WHERE ($1::text IS NULL OR w.cache = $1)
         AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = w.cache AND n.hash = w.ref)
       LIMIT $2`,
      [cache ?? null, limit],
    );
  }

  async pendingCount(cache: string): Promise<number> {
    const r = await this.one<{ n: number }>(
      "SELECT COUNT(*) AS n FROM narinfos WHERE cache = $1 AND NOT visible",
      [cache],
    );
    return r?.n ?? 0;
  }

  async getNarInfo(cache: string, hash: string): Promise<string | undefined> {
    const r = await this.one<{ text: string }>(
      "SELECT text FROM narinfos WHERE cache = $1 AND hash = $2 AND visible",
      [cache, hash],
    );
    return r?.text;
  }

  /** One query for any number of hashes (the Cachix client asks for tens of thousands at once). */
  async missingNarInfos(cache: string, hashes: readonly string[]): Promise<string[]> {
    if (hashes.length === 0) return [];
    const rows = await this.rows<{ h: string }>(
      `SELECT t.h FROM unnest($2::text[]) WITH ORDINALITY AS t(h, i)
       WHERE NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.hash = t.h AND n.visible)
       ORDER BY t.i`,
      [cache, hashes],
    );
    return rows.map((r) => r.h);
  }

  async narInfoBlobs(): Promise<NarInfoBlob[]> {
    return this.rows<NarInfoBlob>(
      "SELECT n.cache, n.hash, n.url, u.blob FROM narinfos n LEFT JOIN nars u ON u.cache = n.cache AND u.url = n.url",
    );
  }

  async unnamedBlobs(blobs: readonly string[]): Promise<string[]> {
    if (blobs.length === 0) return [];
    const rows = await this.rows<{ blob: string }>(UNNAMED_BLOBS, [[...new Set(blobs)]]);
    return rows.map((r) => r.blob);
  }

  async blobReferenced(blob: string): Promise<boolean> {
    const r = await this.one<{ referenced: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM nars WHERE blob = $1)
         OR EXISTS (SELECT 1 FROM side_files WHERE blob = $1) AS referenced`,
      [blob],
    );
    return r?.referenced === true;
  }

  async invisibleNarsBefore(time: number): Promise<Array<{ cache: string; url: string; blob: string }>> {
    return this.rows<{ cache: string; url: string; blob: string }>(
      "SELECT cache, url, blob FROM nars WHERE NOT visible AND created_at < $1 ORDER BY created_at",
      [time],
    );
  }

  async orphanNarUrls(cache: string, limit: number): Promise<string[]> {
    const r = await this.rows<{ url: string }>(
      `SELECT u.url FROM nars u WHERE u.cache = $1 AND u.visible
         AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.url = u.url) LIMIT $2`,
      [cache, limit],
    );
    return r.map((x) => x.url);
  }

  async deleteInvisibleNar(cache: string, url: string, before: number): Promise<boolean> {
    const n = await this.write(
      "DELETE FROM nars WHERE cache = $1 AND url = $2 AND NOT visible AND created_at < $3",
      [cache, url, before],
    );
    return n > 0;
  }

  // --- realisations ---

  /**
   * Under the cache's narinfo lock (commits and GC deletes take it too: none lands between the
   * presence check and the write), then the cache row's (the quota check and the usage trigger's
   * update are one step for concurrent writers).
   */
  async putRealisation(r: RealisationCommit): Promise<{ visible: boolean }> {
    const size = Buffer.byteLength(r.text);
    const outHash = r.outPath.slice(0, STORE_HASH_LENGTH);
    return this.tx(async (c) => {
      await this.lockNarInfos(c, r.cache);
      const state = (
        await c.query<{
          quota_bytes: number | null;
          used_bytes: number;
          old: number | null;
          present: boolean;
        }>(
          `SELECT c.quota_bytes, c.used_bytes,
             (SELECT size FROM realisations WHERE cache = $1 AND kind = $2 AND key = $3) AS old,
             EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.hash = $4 AND n.visible)
               OR EXISTS (SELECT 1 FROM upstream_paths u WHERE u.cache = $1 AND u.hash = $4) AS present
           FROM caches c WHERE c.name = $1 FOR NO KEY UPDATE`,
          [r.cache, r.kind, r.key, outHash],
        )
      ).rows[0];
      if (!state) throw new DbError("notFound", `no cache named ${JSON.stringify(r.cache)}`);
      const used = Number(state.used_bytes);
      const adding = size - Number(state.old ?? 0);
      const quota = state.quota_bytes === null ? null : Number(state.quota_bytes);
      if (!withinQuota(used, adding, quota))
        throw new DbError("tooLarge", quotaMessage(r.cache, used, adding, quota ?? 0, "realisation"));
      await c.query(
        `INSERT INTO realisations (cache, kind, key, out_hash, out_path, text, size, visible, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (cache, kind, key) DO UPDATE SET out_hash = excluded.out_hash, out_path = excluded.out_path,
           text = excluded.text, size = excluded.size, visible = excluded.visible, created_at = excluded.created_at`,
        [r.cache, r.kind, r.key, outHash, r.outPath, r.text, size, state.present, Date.now()],
      );
      return { visible: state.present };
    });
  }

  async getRealisation(cache: string, kind: RealisationKind, key: string): Promise<string | undefined> {
    const r = await this.one<{ text: string }>(
      "SELECT text FROM realisations WHERE cache = $1 AND kind = $2 AND key = $3 AND visible",
      [cache, kind, key],
    );
    return r?.text;
  }

  async realisationsOf(cache: string, hash: string): Promise<StoredRealisation[]> {
    const rows = await this.rows<{
      kind: RealisationKind;
      key: string;
      out_path: string;
      visible: boolean;
      size: number;
      created_at: number;
    }>(
      `SELECT kind, key, out_path, visible, size, created_at FROM realisations
       WHERE cache = $1 AND out_hash = $2 ORDER BY kind COLLATE "C", key COLLATE "C"`,
      [cache, hash],
    );
    return rows.map((x) => ({
      kind: x.kind,
      key: x.key,
      outPath: x.out_path,
      visible: x.visible,
      size: Number(x.size),
      createdAt: Number(x.created_at),
    }));
  }

  // --- side files ---

  async putSideFile(cache: string, kind: SideFileKind, name: string, f: SideFile): Promise<void> {
    await this.tx(async (c) => {
      const now = Date.now();
      if (f.blob !== null) {
        await lockBlobs(c, [f.blob]);
        const claimed = await c.query("SELECT 1 FROM blob_claims WHERE blob = $1 AND claimed_at > $2", [
          f.blob,
          now - BLOB_CLAIM_TTL_MS,
        ]);
        if ((claimed.rowCount ?? 0) > 0) throw new DbError("unavailable", claimedMessage(f.blob));
      }
      await c.query(
        `INSERT INTO side_files (cache, kind, name, body, blob, content_type, content_encoding, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (cache, kind, name) DO UPDATE SET body = excluded.body, blob = excluded.blob,
           content_type = excluded.content_type, content_encoding = excluded.content_encoding,
           created_at = excluded.created_at`,
        [cache, kind, name, f.body, f.blob, f.contentType, f.contentEncoding, now],
      );
    });
  }

  async getSideFile(cache: string, kind: SideFileKind, name: string): Promise<SideFile | undefined> {
    const r = await this.one<RawFile>(
      "SELECT body, blob, content_type, content_encoding FROM side_files WHERE cache = $1 AND kind = $2 AND name = $3",
      [cache, kind, name],
    );
    return r && fileFromRow(r);
  }

  // --- tokens and accounts ---

  async insertToken(t: NewToken): Promise<TokenRow> {
    const { cache, perm, account, grants } = tokenColumns(t);
    const row = await this.tx(
      async (c) =>
        (
          await c.query<RawToken>(
            `INSERT INTO tokens (hash, id, cache, perm, description, created_at, expires_at, kind, account, grants)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
            [
              t.hash,
              t.id,
              cache,
              perm,
              t.description ?? null,
              Date.now(),
              t.expiresAt,
              t.kind,
              account,
              grants,
            ],
          )
        ).rows[0],
    );
    if (!row) throw new DbError("internal", "token was not stored");
    return tokenFromRow(row);
  }

  async tokenByHash(hash: string): Promise<TokenRow | undefined> {
    const r = await this.one<RawToken>("SELECT * FROM tokens WHERE hash = $1", [hash]);
    return r && tokenFromRow(r);
  }

  async tokenById(id: string): Promise<TokenRow | undefined> {
    const r = await this.one<RawToken>("SELECT * FROM tokens WHERE id = $1", [id]);
    return r && tokenFromRow(r);
  }

  async revokeToken(id: string): Promise<boolean> {
    const n = await this.write("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [
      Date.now(),
      id,
    ]);
    return n > 0;
  }

  async listTokens(): Promise<TokenRow[]> {
    return (await this.rows<RawToken>(`SELECT * FROM tokens ORDER BY created_at, id COLLATE "C"`)).map(
      tokenFromRow,
    );
  }

  async tokensOfAccount(account: string): Promise<TokenRow[]> {
    const rows = await this.rows<RawToken>(
      `SELECT * FROM tokens WHERE (kind = 'personal' AND account = $1)
         OR (kind = 'cache' AND cache IN (SELECT name FROM caches WHERE owner = $1))
       ORDER BY created_at, id COLLATE "C"`,
      [account],
    );
    return rows.map(tokenFromRow);
  }

  async account(slug: string): Promise<AccountRow | undefined> {
    const r = await this.one<RawAccount>("SELECT * FROM accounts WHERE slug = $1", [slug]);
    return r && accountFromRow(r);
  }

  /** Insert-if-absent then read: two replicas creating the same account get the same row. */
  async ensureAccount(slug: string, opts: { email?: string; fullname?: string } = {}): Promise<AccountRow> {
    const existing = await this.account(slug);
    if (existing) return existing;
    await this.write(
      `INSERT INTO accounts (slug, email, fullname, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (slug) DO NOTHING`,
      [slug, opts.email ?? null, opts.fullname ?? null, Date.now()],
    );
    const row = await this.account(slug);
    if (!row) throw new DbError("internal", "account was not stored");
    return row;
  }

  // --- multipart uploads ---

  async createMultipart(u: NewMultipart): Promise<MultipartUpload> {
    const narId = u.narId ?? globalThis.crypto.randomUUID();
    const uploadId = u.uploadId ?? randomBytes(24).toString("base64url");
    const row = await this.tx(
      async (c) =>
        (
          await c.query<RawMultipart>(
            `INSERT INTO multipart (nar_id, upload_id, cache, compression, state, created_at, token_id)
             VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING *`,
            [narId, uploadId, u.cache, u.compression, Date.now(), u.tokenId ?? null],
          )
        ).rows[0],
    );
    if (!row) throw new DbError("internal", "multipart upload was not stored");
    return multipartFromRow(row);
  }

  async getMultipart(narId: string): Promise<MultipartUpload | undefined> {
    const r = await this.one<RawMultipart>("SELECT * FROM multipart WHERE nar_id = $1", [narId]);
    return r && multipartFromRow(r);
  }

  async openMultipartsBefore(time: number): Promise<string[]> {
    const rows = await this.rows<{ nar_id: string }>(
      "SELECT nar_id FROM multipart WHERE state IN ('open', 'completing') AND created_at < $1 ORDER BY created_at",
      [time],
    );
    return rows.map((r) => r.nar_id);
  }

  async openMultipartsOf(tokenId: string): Promise<number> {
    const r = await this.one<{ n: number }>(
      "SELECT COUNT(*) AS n FROM multipart WHERE token_id = $1 AND state IN ('open', 'completing')",
      [tokenId],
    );
    return r?.n ?? 0;
  }

  /** One UPDATE … WHERE state = from: the row lock makes exactly one caller, in any process, win. */
  async transitionMultipart(narId: string, from: MultipartState, to: MultipartState): Promise<boolean> {
    const n = await this.write("UPDATE multipart SET state = $1 WHERE nar_id = $2 AND state = $3", [
      to,
      narId,
      from,
    ]);
    return n === 1;
  }

  async putPart(narId: string, p: PartRow): Promise<void> {
    await this.write(
      `INSERT INTO parts (nar_id, part, etag, size) VALUES ($1, $2, $3, $4)
       ON CONFLICT (nar_id, part) DO UPDATE SET etag = excluded.etag, size = excluded.size`,
      [narId, p.part, p.etag, p.size],
    );
  }

  async parts(narId: string): Promise<PartRow[]> {
    return this.rows<PartRow>("SELECT part, etag, size FROM parts WHERE nar_id = $1 ORDER BY part", [narId]);
  }

  async deleteParts(narId: string): Promise<void> {
    await this.write("DELETE FROM parts WHERE nar_id = $1", [narId]);
  }

  /** Insert-if-absent then read: replicas racing on first use all get the one stored value. */
  async secret(name: string): Promise<Buffer> {
    const read = async () =>
      (await this.one<{ value: string }>("SELECT value FROM server_secrets WHERE name = $1", [name]))?.value;
    let value = await read();
    if (value === undefined) {
      await this.write(
        "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        [name, randomBytes(32).toString("base64")],
      );
      value = await read();
    }
    if (value === undefined) throw new DbError("internal", "server secret was not stored");
    return Buffer.from(value, "base64");
  }
  async exportRecords<K extends RecordKind>(
    kind: K,
    after: string | null,
    limit: number,
  ): Promise<RecordPage<K>> {
    return exportPgRecords((sql, params) => this.rows(sql, params), kind, after, limit);
  }

  async importRecords<K extends RecordKind>(
    kind: K,
    records: ReadonlyArray<RecordTypes[K]>,
  ): Promise<number> {
    if (records.length === 0) return 0;
    return this.tx((c) => importPgRecords(c, kind, records));
  }

  // --- OIDC trust rules ---

  async addTrustRule(rule: NewTrustRule): Promise<TrustRuleRow> {
    const row: TrustRuleRow = {
      id: newTrustRuleId(),
      cache: rule.cache,
      issuer: rule.issuer,
      subject: rule.subject,
      claims: { ...rule.claims },
      perm: rule.perm,
      createdAt: Date.now(),
    };
    try {
      await this.write(
        `INSERT INTO trust_rules (id, cache, issuer, subject, claims, perm, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [row.id, row.cache, row.issuer, row.subject, JSON.stringify(row.claims), row.perm, row.createdAt],
      );
    } catch (e) {
      if ((e as { code?: string }).code === FOREIGN_KEY_VIOLATION)
        throw new DbError("notFound", `no cache named ${JSON.stringify(rule.cache)}`);
      throw e;
    }
    return row;
  }

  async trustRules(filter: { cache?: string; issuer?: string } = {}): Promise<TrustRuleRow[]> {
    const rows = await this.rows<RawTrustRule>(
      `SELECT * FROM trust_rules WHERE ($1::text IS NULL OR cache = $1)
         AND ($2::text IS NULL OR issuer = $2) ORDER BY seq`,
      [filter.cache ?? null, filter.issuer ?? null],
    );
    return rows.map(trustRuleFromRow);
  }

  async removeTrustRule(cache: string, id: string): Promise<boolean> {
    return (await this.write("DELETE FROM trust_rules WHERE cache = $1 AND id = $2", [cache, id])) > 0;
  }

  // --- retention, quotas and access times ---

  async setCacheLimits(
    name: string,
    limits: { retentionMs?: number | null; quotaBytes?: number | null },
  ): Promise<void> {
    await this.tx(async (c) => {
      const before = (
        await c.query<{ retention_ms: number | null }>(
          "SELECT retention_ms FROM caches WHERE name = $1 FOR NO KEY UPDATE",
          [name],
        )
      ).rows[0];
      if (!before) throw new DbError("notFound", `no cache named ${JSON.stringify(name)}`);
      if (limits.retentionMs !== undefined && limits.retentionMs !== before.retention_ms) {
        await c.query("UPDATE caches SET retention_ms = $2 WHERE name = $1", [name, limits.retentionMs]);
        await c.query("DELETE FROM gc_marks WHERE cache = $1", [name]);
      }
      if (limits.quotaBytes !== undefined)
        await c.query("UPDATE caches SET quota_bytes = $2 WHERE name = $1", [name, limits.quotaBytes]);
    });
    this.cacheRows.delete(name);
  }

  async cacheUsage(cache: string): Promise<number> {
    return (
      (await this.one<{ used_bytes: number }>("SELECT used_bytes FROM caches WHERE name = $1", [cache]))
        ?.used_bytes ?? 0
    );
  }

  /**
   * One statement for the whole batch, outside the notifying transactions: access times change
   * nothing served, so the other replicas' narinfo caches need not hear of them.
   */
  async recordAccess(accesses: ReadonlyArray<{ cache: string; hash: string; at: number }>): Promise<void> {
    if (accesses.length === 0) return;
    await this.rows(
      `UPDATE narinfos n SET accessed_at = v.at
       FROM (SELECT cache, hash, MAX(at) AS at FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(cache, hash, at)
             GROUP BY cache, hash) v
       WHERE n.cache = v.cache AND n.hash = v.hash AND n.accessed_at < v.at`,
      [accesses.map((a) => a.cache), accesses.map((a) => a.hash), accesses.map((a) => a.at)],
    );
  }

  // --- pins ---

  async addPin(p: NewPin): Promise<PinRow> {
    return this.tx(async (c) => {
      const now = Date.now();
      // Under the cache's narinfo lock: a GC batch deciding on this path waits, then sees the pin.
      await this.lockNarInfos(c, p.cache);
      const stored = (
        await c.query<{ store_path: string }>(
          "SELECT store_path FROM narinfos WHERE cache = $1 AND hash = $2 AND visible",
          [p.cache, p.hash],
        )
      ).rows[0]?.store_path;
      if (stored === undefined)
        throw new DbError(
          "notFound",
          `cache ${JSON.stringify(p.cache)} has no store path ${p.storePath}: push it (with its closure) first`,
        );
      if (stored !== p.storePath)
        throw new DbError(
          "notFound",
          `cache ${JSON.stringify(p.cache)} has ${stored} for hash ${p.hash}, not ${p.storePath}`,
        );
      await c.query("INSERT INTO pins (cache, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [
        p.cache,
        p.name,
        now,
      ]);
      if (p.keep !== undefined)
        await c.query("UPDATE pins SET keep_revisions = $3, keep_days = $4 WHERE cache = $1 AND name = $2", [
          p.cache,
          p.name,
          ...keepColumns(p.keep),
        ]);
      await c.query("DELETE FROM pin_entries WHERE cache = $1 AND pin = $2 AND hash = $3", [
        p.cache,
        p.name,
        p.hash,
      ]);
      await c.query(
        "INSERT INTO pin_entries (cache, pin, hash, store_path, artifacts, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [p.cache, p.name, p.hash, p.storePath, JSON.stringify(p.artifacts ?? []), now],
      );
      await c.query(
        `DELETE FROM pin_entries e USING pins p
         WHERE p.cache = $1 AND p.name = $2 AND e.cache = p.cache AND e.pin = p.name AND (
           (p.keep_revisions IS NOT NULL AND e.id NOT IN
              (SELECT id FROM pin_entries WHERE cache = $1 AND pin = $2
                 ORDER BY created_at DESC, id DESC LIMIT p.keep_revisions))
           OR (p.keep_days IS NOT NULL AND e.created_at < $3 - p.keep_days * 86400000::bigint
              AND e.id <> (SELECT id FROM pin_entries WHERE cache = $1 AND pin = $2
                           ORDER BY created_at DESC, id DESC LIMIT 1)))`,
        [p.cache, p.name, now],
      );
      return (await this.pinsOf(c, p.cache, p.name))[0] as PinRow;
    });
  }

  private async pinsOf(c: pg.ClientBase | pg.Pool, cache: string, name: string | null): Promise<PinRow[]> {
    const rows = await c.query<RawPinRow>(
      `SELECT p.name, p.keep_revisions, p.keep_days, p.created_at, e.hash, e.store_path, e.artifacts,
         e.created_at AS added_at
       FROM pins p LEFT JOIN pin_entries e ON e.cache = p.cache AND e.pin = p.name
       WHERE p.cache = $1 AND ($2::text IS NULL OR p.name = $2) ORDER BY p.name COLLATE "C", e.created_at DESC, e.id DESC`,
      [cache, name],
    );
    return pinsFromRows(cache, rows.rows);
  }

  async listPins(cache: string): Promise<PinRow[]> {
    try {
      return await this.pinsOf(this.pool, cache, null);
    } catch (e) {
      throw this.errors.map(e);
    }
  }

  async removePin(cache: string, name: string): Promise<boolean> {
    return (await this.write("DELETE FROM pins WHERE cache = $1 AND name = $2", [cache, name])) > 0;
  }

  // --- garbage collection ---

  /** Expiry by the database's clock: replicas' clocks may disagree, the database's is one. */
  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const n = await this.write(
      `WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
       INSERT INTO leases (name, holder, expires_at) SELECT $1, $2, ms + $3 FROM now
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.expires_at < (SELECT ms FROM now) OR leases.holder = excluded.holder`,
      [name, holder, ttlMs],
    );
    return n > 0;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.write("DELETE FROM leases WHERE name = $1 AND holder = $2", [name, holder]);
  }

  /**
   * One transaction: the closure query reads one snapshot; commits go on meanwhile (they take no
   * lock this holds, but the marked rows). The unreached set it leaves is gcPlan's start.
   */
  async gcMark(cache: string, t: GcThresholds & { dryRun?: boolean }): Promise<GcMarkResult> {
    return this.tx(async (c) => {
      await c.query(GC_SETTINGS);
      if (!t.dryRun)
        await c.query(
          `DELETE FROM pin_entries WHERE id IN (
             SELECT e.id FROM pin_entries e JOIN pins p ON p.cache = e.cache AND p.name = e.pin
             WHERE e.cache = $1 AND p.keep_days IS NOT NULL AND e.created_at < $2 - p.keep_days * 86400000::bigint
               AND e.id <> (SELECT x.id FROM pin_entries x WHERE x.cache = e.cache AND x.pin = e.pin
                            ORDER BY x.created_at DESC, x.id DESC LIMIT 1))`,
          [cache, t.now],
        );
      await c.query("DELETE FROM gc_unreached WHERE run = $1", [t.run]);
      // Roots are pins and what was pushed or fetched within the retention. Everything else is a
      // candidate; those a root needs, directly or not, are taken out again. Working from the
      // candidates' side costs what the garbage is, not what the cache holds.
      await c.query(
        `INSERT INTO gc_unreached (run, hash)
         SELECT $3, n.hash FROM narinfos n WHERE n.cache = $1 AND n.accessed_at < $2
           AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = $1 AND e.hash = n.hash)`,
        [cache, t.cutoff, t.run],
      );
      // The scratch table was empty when last analyzed: without this the planner loops.
      await c.query("ANALYZE gc_unreached");
      // What a root references, directly or through other candidates, stays.
      await keepClosure(
        c,
        "gc_unreached",
        `SELECT r.ref FROM gc_unreached d JOIN narinfo_refs r ON r.cache = $1 AND r.ref = d.hash
         WHERE d.run = $2 AND NOT EXISTS (SELECT 1 FROM gc_unreached x WHERE x.run = $2 AND x.hash = r.hash)`,
        cache,
        t.run,
      );
      if (!t.dryRun) {
        await c.query(
          `DELETE FROM gc_marks m WHERE m.cache = $1
             AND NOT EXISTS (SELECT 1 FROM gc_unreached g WHERE g.run = $2 AND g.hash = m.hash)`,
          [cache, t.run],
        );
        await c.query(
          // The anti-join first: a conflict found by the insert itself costs a speculative insertion
          // per row, and from the second run on nearly every unreached narinfo is marked already.
          `INSERT INTO gc_marks (cache, hash, marked_at) SELECT $1, g.hash, $3 FROM gc_unreached g
           WHERE g.run = $2 AND NOT EXISTS (SELECT 1 FROM gc_marks m WHERE m.cache = $1 AND m.hash = g.hash)
           ON CONFLICT (cache, hash) DO NOTHING`,
          [cache, t.run, t.now],
        );
        // The marks just changed, maybe by a third of the cache: plans for the batches need to know.
        await c.query("ANALYZE gc_marks");
      }
      const counts = (
        await c.query<{ paths: number; marked: number }>(
          `SELECT (SELECT COUNT(*) FROM narinfos WHERE cache = $1)::bigint AS paths,
             (SELECT COUNT(*) FROM gc_unreached WHERE run = $2)::bigint AS marked`,
          [cache, t.run],
        )
      ).rows[0];
      // The unreached set stays for gcPlan (gcFinish drops it).
      return { paths: counts?.paths ?? 0, marked: counts?.marked ?? 0 };
    });
  }

  async gcPlan(
    cache: string,
    t: GcThresholds & { bytes?: boolean },
  ): Promise<{ paths: number; bytes: number }> {
    return this.tx(async (c) => {
      await c.query(GC_SETTINGS);
      await c.query("DELETE FROM gc_doomed WHERE run = $1", [t.run]);
      // Unreached at the mark, marked long enough, and not roots since (pushed, fetched, pinned).
      // Every referrer one had at the mark was unreached too; a referrer pushed since counts as
      // well, and keeps it. The count is how many must go before it.
      await c.query(
        `INSERT INTO gc_doomed (run, hash, url, referrers)
         SELECT $2, n.hash, n.url, (SELECT COUNT(*) FROM narinfo_refs r WHERE r.cache = $1 AND r.ref = n.hash)
         FROM gc_unreached u JOIN narinfos n ON n.cache = $1 AND n.hash = u.hash
           JOIN gc_marks m ON m.cache = $1 AND m.hash = u.hash
         WHERE u.run = $2 AND m.marked_at < $4 AND n.accessed_at < $3
           AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = $1 AND e.hash = n.hash)`,
        [cache, t.run, t.cutoff, t.markedBefore],
      );
      // For the query below, and for the batches, which pick by referrer count and delete by hash.
      await c.query("ANALYZE gc_doomed");
      // Only unreached narinfos reference unreached ones: what those marked too recently (or
      // fetched since) reference stays, with its closure.
      await keepClosure(
        c,
        "gc_doomed",
        `SELECT r.ref FROM gc_unreached u JOIN narinfo_refs r ON r.cache = $1 AND r.hash = u.hash
         WHERE u.run = $2 AND NOT EXISTS (SELECT 1 FROM gc_doomed x WHERE x.run = $2 AND x.hash = u.hash)
           AND EXISTS (SELECT 1 FROM gc_doomed x WHERE x.run = $2 AND x.hash = r.ref)`,
        cache,
        t.run,
      );
      const paths = Number(
        (await c.query<{ n: number }>("SELECT COUNT(*)::bigint AS n FROM gc_doomed WHERE run = $1", [t.run]))
          .rows[0]?.n ?? 0,
      );
      if (!t.bytes) return { paths, bytes: 0 };
      // Blobs of planned NAR records that nothing staying names: a URL no staying narinfo has,
      // and no other record or side file with the blob. `gone` is one cache's: the uncorrelated
      // IN is hashed once (a correlated lookup into the CTE was quadratic).
      const r = (
        await c.query<{ bytes: number }>(
          `WITH gone AS MATERIALIZED (
             SELECT u.url, u.blob, u.file_size FROM nars u
             WHERE u.cache = $1 AND u.url IN (SELECT url FROM gc_doomed WHERE run = $2)
               AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.url = u.url
                 AND NOT EXISTS (SELECT 1 FROM gc_doomed x WHERE x.run = $2 AND x.hash = n.hash))),
           freed AS (
             SELECT blob, MAX(file_size) AS size FROM gone g
             WHERE NOT EXISTS (SELECT 1 FROM nars o WHERE o.blob = g.blob
                 AND NOT (o.cache = $1 AND o.url IN (SELECT url FROM gone)))
               AND NOT EXISTS (SELECT 1 FROM side_files f WHERE f.blob = g.blob)
             GROUP BY blob)
           SELECT COALESCE(SUM(size), 0)::bigint AS bytes FROM freed`,
          [cache, t.run],
        )
      ).rows[0];
      return { paths, bytes: Number(r?.bytes ?? 0) };
    });
  }

  /**
   * Under the cache's narinfo lock, which commits take too: a commit that references a candidate
   * either lands first (the candidate then has a referrer and stays) or after (it finds the path
   * gone and waits for it, pending): it never sees a closure that is being broken.
   */
  async gcDeleteBatch(
    cache: string,
    t: GcThresholds & {
      limit: number;
      protect?: (hashes: readonly string[]) => ReadonlySet<string>;
      dropNars?: readonly string[];
      dropNarsSince?: number;
    },
  ): Promise<GcBatch | undefined> {
    return this.tx(async (c) => {
      await this.lockNarInfos(c, cache);
      const now = Date.now();
      const ready = now - (t.lingerMs ?? 0);
      const drop = [...new Set(t.dropNars ?? [])];
      const nars =
        drop.length === 0
          ? []
          : (
              await c.query<{ blob: string; file_size: number }>(
                `DELETE FROM nars u WHERE u.cache = $1 AND u.url = ANY($2::text[]) AND u.created_at <= $3
                   AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.url = u.url)
                 RETURNING u.blob, u.file_size`,
                [cache, drop, t.dropNarsSince ?? Number.MAX_SAFE_INTEGER],
              )
            ).rows;
      const batch = (
        await c.query<{ hash: string }>(
          // In index order: a scan of the table would pass every row deleted so far, each batch.
          // Within a release time that is the plan's insertion order, which follows the narinfos'
          // table: a batch is paths stored together, and their rows share pages (a batch in hash
          // order, random to the table, made the reference updates twice as slow).
          "SELECT hash FROM gc_doomed WHERE run = $1 AND referrers = 0 AND freed_at <= $2 ORDER BY freed_at LIMIT $3",
          [t.run, ready, t.limit],
        )
      ).rows.map((r) => r.hash);
      const out: GcBatch = {
        deleted: [],
        survived: 0,
        narUrls: [],
        nars: nars.map((r) => ({ blob: r.blob, fileSize: r.file_size })),
      };
      if (batch.length > 0) {
        const spared = [...(t.protect?.(batch) ?? [])];
        const deleted = await c.query<{ hash: string; url: string }>(
          `DELETE FROM narinfos n WHERE n.cache = $1 AND n.hash = ANY($2::text[]) AND NOT (n.hash = ANY($3::text[]))
             AND n.accessed_at < $5
             AND EXISTS (SELECT 1 FROM gc_marks m WHERE m.cache = $1 AND m.hash = n.hash AND m.marked_at < $4)
             AND NOT EXISTS (SELECT 1 FROM pin_entries e WHERE e.cache = $1 AND e.hash = n.hash)
             AND NOT EXISTS (SELECT 1 FROM narinfo_refs r WHERE r.cache = $1 AND r.ref = n.hash)
           RETURNING n.hash, n.url`,
          [cache, batch, spared, t.markedBefore, t.cutoff],
        );
        const hashes = deleted.rows.map((r) => r.hash);
        if (hashes.length > 0) {
          await c.query(
            `WITH gone AS (DELETE FROM narinfo_refs WHERE cache = $1 AND hash = ANY($2::text[]) RETURNING ref)
             UPDATE gc_doomed d SET referrers = d.referrers - x.n, freed_at = $4
             FROM (SELECT ref, COUNT(*) AS n FROM gone GROUP BY ref) x WHERE d.run = $3 AND d.hash = x.ref`,
            [cache, hashes, t.run, now],
          );
          await c.query("DELETE FROM narinfo_waits WHERE cache = $1 AND hash = ANY($2::text[])", [
            cache,
            hashes,
          ]);
          await c.query("DELETE FROM gc_marks WHERE cache = $1 AND hash = ANY($2::text[])", [cache, hashes]);
          await c.query(
            "DELETE FROM side_files WHERE cache = $1 AND kind = 'ls' AND name = ANY($2::text[])",
            [cache, hashes],
          );
          // The realisations naming a deleted path go with it.
          await c.query("DELETE FROM realisations WHERE cache = $1 AND out_hash = ANY($2::text[])", [
            cache,
            hashes,
          ]);
        }
        await c.query("DELETE FROM gc_doomed WHERE run = $1 AND hash = ANY($2::text[])", [t.run, batch]);
        out.deleted = hashes;
        out.survived = batch.length - hashes.length;
        out.narUrls = [...new Set(deleted.rows.map((r) => r.url))];
      }
      if (batch.length > 0) return out;
      const next = (
        await c.query<{ at: number | null }>(
          "SELECT MIN(freed_at) AS at FROM gc_doomed WHERE run = $1 AND referrers = 0",
          [t.run],
        )
      ).rows[0]?.at;
      if (next === null || next === undefined) return drop.length > 0 ? out : undefined;
      return { ...out, retryInMs: Math.max(1, next + (t.lingerMs ?? 0) - now) };
    });
  }

  async gcFinish(): Promise<void> {
    await this.tx(async (c) => {
      await c.query("DELETE FROM gc_doomed");
      await c.query("DELETE FROM gc_unreached");
      await c.query("DELETE FROM gc_saved");
    });
  }

  async claimBlobs(blobs: readonly string[]): Promise<string[]> {
    const all = [...new Set(blobs)];
    if (all.length === 0) return [];
    return this.tx(async (c) => {
      await lockBlobs(c, all);
      const free = (await c.query<{ blob: string }>(UNNAMED_BLOBS, [all])).rows.map((r) => r.blob);
      const taken = new Set(free);
      await c.query("DELETE FROM blob_claims WHERE blob = ANY($1::text[])", [
        all.filter((b) => !taken.has(b)),
      ]);
      await c.query(
        `INSERT INTO blob_claims (blob, claimed_at) SELECT b, $2 FROM unnest($1::text[]) AS b
         ON CONFLICT (blob) DO UPDATE SET claimed_at = excluded.claimed_at`,
        [free, Date.now()],
      );
      return free;
    });
  }

  async releaseBlobClaims(blobs: readonly string[]): Promise<void> {
    if (blobs.length > 0) await this.write("DELETE FROM blob_claims WHERE blob = ANY($1::text[])", [blobs]);
  }

  async blobClaimsBefore(time: number): Promise<string[]> {
    const rows = await this.rows<{ blob: string }>(
      `SELECT blob FROM blob_claims WHERE claimed_at < $1 ORDER BY blob COLLATE "C"`,
      [time],
    );
    return rows.map((r) => r.blob);
  }

  // --- the dashboard ---

  /**
   * A transaction of its own that notifies nobody and is not counted in `changes`: activity bears
   * on no narinfo, and a flush must not empty every replica's narinfo cache. Rows come sorted by
   * key (server/activity.ts), so replicas flushing at once take row locks in one order.
   */
  async recordActivity(batch: ActivityBatch): Promise<void> {
    let c: Tx;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw this.errors.map(e);
    }
    let broken: Error | undefined;
    try {
      await c.query("BEGIN");
      const p = batch.pushes;
      if (p.length > 0)
        await c.query(
          `INSERT INTO push_activity (cache, minute, token_id, run_id, paths, bytes)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
           ON CONFLICT (cache, minute, token_id, run_id) DO UPDATE
             SET paths = push_activity.paths + excluded.paths, bytes = push_activity.bytes + excluded.bytes`,
          [
            p.map((x) => x.cache),
            p.map((x) => x.minute),
            p.map((x) => x.tokenId ?? ""),
            p.map((x) => x.run ?? ""),
            p.map((x) => x.paths),
            p.map((x) => x.bytes),
          ],
        );
      const l = batch.lookups;
      if (l.length > 0)
        await c.query(
          `INSERT INTO narinfo_lookups (cache, hour, hits, misses)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
           ON CONFLICT (cache, hour) DO UPDATE
             SET hits = narinfo_lookups.hits + excluded.hits, misses = narinfo_lookups.misses + excluded.misses`,
          [l.map((x) => x.cache), l.map((x) => x.hour), l.map((x) => x.hits), l.map((x) => x.misses)],
        );
      if (batch.prune) {
        const cutoff = Date.now() - ACTIVITY_KEPT_MS;
        await c.query("DELETE FROM push_activity WHERE minute < $1", [cutoff]);
        await c.query("DELETE FROM narinfo_lookups WHERE hour < $1", [cutoff]);
      }
      await c.query("COMMIT");
    } catch (e) {
      if (isConnectionError(e)) broken = e as Error;
      else await c.query("ROLLBACK").catch((r: Error) => (broken = r));
      throw this.errors.map(e);
    } finally {
      c.release(broken);
    }
  }

  async insertReport(r: NewReport): Promise<ReportRow> {
    const id = await this.tx(async (c) => {
      const row = (
        await c.query<{ id: number }>(
          `INSERT INTO ci_reports (cache, kind, commit_id, branch, run_id, run_url, token_id, created_at, ok, counts, targets)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
          [
            r.cache,
            r.kind,
            r.commit,
            r.branch,
            r.runId,
            r.runUrl,
            r.tokenId,
            Date.now(),
            r.ok,
            r.counts,
            r.targets,
          ],
        )
      ).rows[0];
      await c.query(
        `DELETE FROM ci_reports WHERE cache = $1 AND branch IS NOT DISTINCT FROM $2 AND id <= (
           SELECT id FROM ci_reports WHERE cache = $1 AND branch IS NOT DISTINCT FROM $2
           ORDER BY id DESC LIMIT 1 OFFSET $3)`,
        [r.cache, r.branch, REPORTS_KEPT_PER_BRANCH],
      );
      return Number(row?.id);
    });
    const report = await this.getReport(r.cache, id);
    if (!report) throw new DbError("internal", "report was not stored");
    const { targets: _, ...row } = report;
    return row;
  }

  async listReports(
    cache: string,
    q: { branch?: string | null; before?: number; limit: number },
  ): Promise<ReportRow[]> {
    const rows = await this.rows<RawReport>(
      `SELECT ${REPORT_COLUMNS} WHERE r.cache = $1 AND r.id < $2
         AND ($3::boolean OR r.branch IS NOT DISTINCT FROM $4) ORDER BY r.id DESC LIMIT $5`,
      [cache, q.before ?? Number.MAX_SAFE_INTEGER, q.branch === undefined, q.branch ?? null, q.limit],
    );
    return rows.map(reportFromRow);
  }

  async latestReports(cache: string): Promise<ReportRow[]> {
    const rows = await this.rows<RawReport>(
      `SELECT ${REPORT_COLUMNS} WHERE r.id IN (SELECT MAX(id) FROM ci_reports WHERE cache = $1 GROUP BY branch)
       ORDER BY r.id DESC`,
      [cache],
    );
    return rows.map(reportFromRow);
  }

  async getReport(cache: string, id: number): Promise<ReportRow | undefined> {
    const r = await this.one<RawReport>(
      `SELECT ${REPORT_COLUMNS.replace(" FROM", ", r.targets FROM")} WHERE r.cache = $1 AND r.id = $2`,
      [cache, id],
    );
    return r && reportFromRow(r);
  }

  async reportsOfRuns(cache: string, runs: readonly string[]): Promise<ReportRow[]> {
    if (runs.length === 0) return [];
    const rows = await this.rows<RawReport>(
      `SELECT ${REPORT_COLUMNS} WHERE r.id IN (SELECT MAX(id) FROM ci_reports
         WHERE cache = $1 AND run_id = ANY($2::text[]) GROUP BY run_id)`,
      [cache, [...runs]],
    );
    return rows.map(reportFromRow);
  }

  /** One round trip; each part reads an index (the pending one, narinfos_created, keys). */
  async dashboardUsage(cache: string, since: number): Promise<DashboardUsage> {
    const r = await this.one<DashboardUsage>(
      `SELECT
         (SELECT COUNT(*) FROM narinfos WHERE cache = $1 AND NOT visible) AS pending,
         (SELECT MAX(created_at) FROM narinfos WHERE cache = $1) AS "lastPushAt",
         (SELECT COALESCE(SUM(hits), 0) FROM narinfo_lookups WHERE cache = $1 AND hour >= $2)::bigint AS hits,
         (SELECT COALESCE(SUM(misses), 0) FROM narinfo_lookups WHERE cache = $1 AND hour >= $2)::bigint AS misses`,
      [cache, since],
    );
    return {
      pending: Number(r?.pending ?? 0),
      lastPushAt: r?.lastPushAt === null || r?.lastPushAt === undefined ? null : Number(r.lastPushAt),
      hits: Number(r?.hits ?? 0),
      misses: Number(r?.misses ?? 0),
    };
  }

  async recentPushes(cache: string, q: { before?: number; limit: number }): Promise<PushActivityRow[]> {
    const rows = await this.rows<RawPush>(
      `SELECT a.cache, a.minute, a.token_id, a.run_id, a.paths, a.bytes, t.description, t.perm, t.kind
       FROM push_activity a LEFT JOIN tokens t ON t.id = a.token_id
       WHERE a.cache = $1 AND a.minute < $2 AND a.minute >= COALESCE((SELECT MIN(minute) FROM
         (SELECT minute FROM push_activity WHERE cache = $1 AND minute < $2 ORDER BY minute DESC LIMIT $3) m), 0)
       ORDER BY a.minute DESC, a.token_id COLLATE "C", a.run_id COLLATE "C"`,
      [cache, q.before ?? Number.MAX_SAFE_INTEGER, q.limit],
    );
    return rows.map(pushFromRow);
  }

  async pathRecord(cache: string, hash: string): Promise<PathRecord> {
    const r = await this.one<{
      hash: string | null;
      store_path: string;
      url: string;
      text: string;
      visible: boolean;
      created_at: number;
      accessed_at: number;
      upstream: boolean;
    }>(
      `SELECT n.hash, n.store_path, n.url, n.text, n.visible, n.created_at, n.accessed_at,
         EXISTS (SELECT 1 FROM upstream_paths u WHERE u.cache = $1 AND u.hash = $2) AS upstream
       FROM (SELECT 1) one LEFT JOIN narinfos n ON n.cache = $1 AND n.hash = $2`,
      [cache, hash],
    );
    const upstream = r?.upstream === true;
    if (!r || r.hash === null) return { upstream };
    const waits = r.visible
      ? []
      : await this.rows<{ hash: string; store_path: string | null }>(
          `SELECT w.ref AS hash, n.store_path FROM narinfo_waits w
           LEFT JOIN narinfos n ON n.cache = w.cache AND n.hash = w.ref
           WHERE w.cache = $1 AND w.hash = $2 ORDER BY w.ref COLLATE "C"`,
          [cache, hash],
        );
    return {
      upstream,
      narinfo: {
        hash: r.hash,
        storePath: r.store_path,
        url: r.url,
        text: r.text,
        visible: r.visible,
        createdAt: r.created_at,
        accessedAt: r.accessed_at,
        waitingFor: waits.map((w) => ({ hash: w.hash, storePath: w.store_path })),
      },
    };
  }

  async recordGcRun(run: GcRunRow): Promise<void> {
    await this.write(
      `INSERT INTO gc_last_runs (cache, ended_at, deleted_paths, deleted_bytes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (cache) DO UPDATE SET ended_at = excluded.ended_at, deleted_paths = excluded.deleted_paths,
         deleted_bytes = excluded.deleted_bytes`,
      [run.cache, run.endedAt, run.deletedPaths, run.deletedBytes],
    );
  }

  async lastGcRun(cache: string): Promise<GcRunRow | undefined> {
    const r = await this.one<{
      cache: string;
      ended_at: number;
      deleted_paths: number;
      deleted_bytes: number;
    }>("SELECT cache, ended_at, deleted_paths, deleted_bytes FROM gc_last_runs WHERE cache = $1", [cache]);
    return (
      r && {
        cache: r.cache,
        endedAt: r.ended_at,
        deletedPaths: r.deleted_paths,
        deletedBytes: r.deleted_bytes,
      }
    );
  }

  /** Down from each pin's revisions, as SQLite's: pins are few, a common path's dependents many. */
  async pinsKeeping(cache: string, hash: string): Promise<string[]> {
    const rows = await this.rows<{ pin: string }>(
      `WITH RECURSIVE down(pin, h) AS (
         SELECT pin, hash FROM pin_entries WHERE cache = $1
         UNION SELECT down.pin, r.ref FROM down JOIN narinfo_refs r ON r.cache = $1 AND r.hash = down.h)
       SELECT pin FROM down WHERE h = $2 GROUP BY pin ORDER BY pin COLLATE "C"`,
      [cache, hash],
    );
    return rows.map((r) => r.pin);
  }
}

/**
 * Takes out of `table`'s rows of `run` the `seeds` (a query over $1 = cache, $2 = run naming rows
 * of it) and what they reference within it, directly or not: those stay. The seeds go to a table
 * of their own first: estimated inside the recursive query, they were millions, and the planner
 * hashed every reference of the cache for what were a few dozen lookups.
 */
async function keepClosure(
  c: Tx,
  table: "gc_unreached" | "gc_doomed",
  seeds: string,
  cache: string,
  run: string,
): Promise<void> {
  await c.query("DELETE FROM gc_saved WHERE run = $1", [run]);
  await c.query(`INSERT INTO gc_saved (run, hash) SELECT DISTINCT $2, s.ref FROM (${seeds}) s`, [cache, run]);
  await c.query("ANALYZE gc_saved");
  await c.query(
    `WITH RECURSIVE saved(hash) AS (
       SELECT hash FROM gc_saved WHERE run = $2
       UNION
       SELECT r.ref FROM saved JOIN narinfo_refs r ON r.cache = $1 AND r.hash = saved.hash
       WHERE EXISTS (SELECT 1 FROM ${table} x WHERE x.run = $2 AND x.hash = r.ref))
     DELETE FROM ${table} d USING saved WHERE d.run = $2 AND d.hash = saved.hash`,
    [cache, run],
  );
  await c.query("DELETE FROM gc_saved WHERE run = $1", [run]);
}

/**
 * Transaction-scoped locks on blob names, in one order (no two lockers deadlock): recording a NAR
 * and claiming its blob for deletion exclude each other.
 */
async function lockBlobs(c: Tx, blobs: readonly string[]): Promise<void> {
  await c.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('nixcache blob ' || b, 0))
     FROM (SELECT DISTINCT b FROM unnest($1::text[]) AS b ORDER BY b) s`,
    [blobs],
  );
}
