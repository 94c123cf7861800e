// What PostgreSQL does its own way under the metadata store (engine.ts): transactions of the pool
// that lock rows and names (advisory locks) so that replicas writing at once stay consistent,
// arrays bound as one parameter, the visibility cascade level by level, the database's clock for
// leases. Every write transaction notifies the other replicas but recordAccess's.
import { DbError } from "../../errors.js";
import { closureReferences } from "../closure.js";
import type { PostgresDb } from "../db/postgres.js";
import type { StoreEngine } from "../engine.js";
import {
  ACCESS_SLACK_DIVISOR,
  BLOB_CLAIM_TTL_MS,
  claimedMessage,
  quotaMessage,
  ReferencesMissingError,
  withinQuota,
} from "../limits.js";
import { lockBlobs, lockNarInfos } from "../locks.js";
import type { GcBatch, GcMarkResult, GcThresholds, NarInfoCommit, ReceivedNar } from "../types.js";
import { bulkPlan } from "./bulk-plan.js";
import { gcDeleteBatch, gcFinish, gcMark, gcPlan } from "./gc.js";
import { type FoundNarInfo, MergedLookups } from "./lookups.js";

/**
 * The bulk query: of the hashes in $2 (distinct, sorted, space-separated: pg spent longer building
 * an array literal of 32,768 strings than PostgreSQL spent answering), those with a visible
 * narinfo in cache $1. A path is visible when the primary key has it and the pending index
 * (narinfos_pending_hash: pending rows only, few) does not, both answered from the indexes alone
 * where the visibility map allows. Two plans, chosen by the cache's size (bulk-plan.ts):
 * - PROBES: a descent of the primary key per hash, in order (neighbouring probes read neighbouring
 *   pages). LATERAL … LIMIT 1 keeps the planner from its own choice, a hash join over every
 *   narinfo of the cache, whatever its size.
 * - MERGE: one pass over the cache's range of the primary key in order, merged with the sorted
 *   hashes (the planner made to merge by BULK_MERGE).
 * The answer is one string too (VISIBLE_AS_ONE): a row per visible hash was a protocol message
 * each, sent by PostgreSQL and parsed by pg (for 16,384 hashes, 23 ms of the server's CPU in a
 * profile of one request).
 */
const HASHES = "unnest(string_to_array($2::text, ' ')) AS t(h)";
const NOT_PENDING =
  "NOT EXISTS (SELECT 1 FROM narinfos p WHERE p.cache = $1 AND p.hash = t.h AND NOT p.visible)";
const VISIBLE_OF_PROBES = `SELECT t.h FROM ${HASHES}
  CROSS JOIN LATERAL (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.hash = t.h LIMIT 1) x
  WHERE ${NOT_PENDING}`;
const VISIBLE_OF_MERGE = `SELECT t.h FROM ${HASHES}
  WHERE EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = $1 AND n.hash = t.h) AND ${NOT_PENDING}`;
const VISIBLE_AS_ONE = (q: string) => `SELECT string_agg(v.h, ' ') AS hs FROM (${q}) v`;
/**
 * For the bulk query: compiling it (JIT, for the probes' estimated cost) took longer than running
 * it, and the sort of 32,768 hashes spilled to disk at the default work_mem.
 */
const BULK_SETTINGS = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off";
const BULK_MERGE = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_nestloop = off";

/** Of the blobs $1 (distinct), those no NAR record or side file names. */
const UNNAMED_BLOBS = `SELECT b AS blob FROM unnest($1::text[]) AS b
  WHERE NOT EXISTS (SELECT 1 FROM nars u WHERE u.blob = b)
    AND NOT EXISTS (SELECT 1 FROM side_files f WHERE f.blob = b)`;

/** The references (`refs`, in order) neither visible in `cache` nor upstream, as one array. */
const missingRefs = (
  cache: string,
  refs: string,
) => `SELECT ARRAY(SELECT t.r FROM unnest(${refs}::text[]) WITH ORDINALITY AS t(r, i)
    WHERE NOT EXISTS (SELECT 1 FROM narinfos x WHERE x.cache = ${cache} AND x.hash = t.r AND x.visible)
      AND NOT EXISTS (SELECT 1 FROM upstream_paths u WHERE u.cache = ${cache} AND u.hash = t.r)
    ORDER BY t.i) AS refs`;

/**
 * The upsert of a commit ($1 cache … $5 text, $7 now, $8 deriver), visible when it was or nothing
 * is missing.
 */
const UPSERT_NARINFO = `INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at, deriver)
  SELECT $1, $2, $3, $4, $5, $7, COALESCE((SELECT visible FROM prev), FALSE) OR cardinality(m.refs) = 0, $7, $8
  FROM missing m
  ON CONFLICT (cache, hash) DO UPDATE SET store_path = excluded.store_path, url = excluded.url,
    text = excluded.text, created_at = excluded.created_at, visible = excluded.visible,
    accessed_at = excluded.accessed_at, deriver = excluded.deriver`;

/** A transaction of PostgresDb, with its connection. */
type PgTx = Parameters<Parameters<PostgresDb["tx"]>[0]>[0];

export class PostgresEngine implements StoreEngine {
  constructor(private readonly db: PostgresDb) {}

  /**
   * Under the blob's lock (claimBlobs takes it too) and the cache row's (the quota check and the
   * usage trigger's update are then one step for concurrent recorders). Rows are locked in the
   * order a GC delete locks them (narinfos, then the NAR record, then the cache), so the two never
   * deadlock.
   */
  recordNar(nar: Omit<ReceivedNar, "visible">): Promise<boolean> {
    return this.db.tx(async (t) => {
      const c = t.client;
      await lockBlobs(t, [nar.blob]);
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
      // Claims are dated by the database's clock (claimBlobs): a replica's own may be off by more
      // than a claim lives.
      const state = (
        await c.query<{ claimed: boolean; quota_bytes: number | null; used_bytes: number }>(
          `SELECT EXISTS (SELECT 1 FROM blob_claims WHERE blob = $2
               AND claimed_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint - $3::bigint) AS claimed,
             c.quota_bytes, c.used_bytes FROM caches c WHERE c.name = $1 FOR NO KEY UPDATE`,
          [nar.cache, nar.blob, BLOB_CLAIM_TTL_MS],
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
  /** Prepared statements, merged while busy (lookups.ts). */
  private readonly lookups = new MergedLookups(
    async (cache, hash) =>
      (
        await this.db.prepared<{ text: string }>(
          "nixcache_narinfo",
          "SELECT text FROM narinfos WHERE cache = $1 AND hash = $2 AND visible",
          [cache, hash],
        )
      )[0]?.text,
    (caches, hashes) =>
      this.db.prepared<FoundNarInfo>(
        "nixcache_narinfos",
        `SELECT n.cache, n.hash, n.text FROM unnest($1::text[], $2::text[]) AS t(cache, hash)
         JOIN narinfos n ON n.cache = t.cache AND n.hash = t.hash WHERE n.visible`,
        [caches, hashes],
      ),
  );

  getNarInfo(cache: string, hash: string): Promise<string | undefined> {
    return this.lookups.get(cache, hash);
  }

  /** A quiet transaction of its own, for its settings. */
  async missingNarInfos(cache: string, hashes: readonly string[]): Promise<string[]> {
    if (hashes.length === 0) return [];
    const sorted = [...new Set(hashes)].sort();
    const found = await this.db.tx(
      async (t) => {
        await t.client.query(BULK_SETTINGS);
        // The planner's estimate of the cache's narinfos (its statistics: planning only, no rows read).
        const plan = await t.client.query<{ "QUERY PLAN": Array<{ Plan: { "Plan Rows": number } }> }>(
          "EXPLAIN (FORMAT JSON) SELECT 1 FROM narinfos WHERE cache = $1",
          [cache],
        );
        const estimate = plan.rows[0]?.["QUERY PLAN"][0]?.Plan["Plan Rows"] ?? Number.POSITIVE_INFINITY;
        const merge = bulkPlan(estimate, sorted.length) === "merge";
        if (merge) await t.client.query(BULK_MERGE);
        const q = merge ? VISIBLE_OF_MERGE : VISIBLE_OF_PROBES;
        const r = await t.client.query<{ hs: string | null }>(VISIBLE_AS_ONE(q), [cache, sorted.join(" ")]);
        return r.rows[0]?.hs ?? "";
      },
      { quiet: true },
    );
    const visible = new Set(found === "" ? [] : found.split(" "));
    return hashes.filter((h) => !visible.has(h));
  }

  commitNarInfo(n: NarInfoCommit): Promise<{ visible: boolean; missing: string[] }> {
    const refs = closureReferences(n.hash, n.references);
    return this.db.tx(async (t) => {
      const c = t.client;
      // The lock first, before any row lock: a commit holding the NAR record's row while it waited
      // for the lock closed a cycle with recordNar (which locks the narinfo's row, then the
      // NAR record's) and a commit holding the lock (which needs that narinfo's row): a deadlock.
      await lockNarInfos(t, n.cache);
      await c.query("UPDATE nars SET visible = TRUE WHERE cache = $1 AND url = $2 AND NOT visible", [
        n.cache,
        n.url,
      ]);
      // One statement: which references are missing, what the row was (`prev` reads the snapshot
      // before the upsert), and the upsert; a visible narinfo stays visible, and is replaced only
      // by one whose closure is here too (no row comes back otherwise: refused below).
      const state = (
        await c.query<{ was: boolean | null; missing: string[]; visible: boolean }>(
          `WITH prev AS (SELECT visible FROM narinfos WHERE cache = $1 AND hash = $2),
           unmark AS (DELETE FROM gc_marks WHERE cache = $1 AND hash = $2),
           missing AS (${missingRefs("$1", "$6")})
           ${UPSERT_NARINFO}
           WHERE NOT narinfos.visible OR cardinality((SELECT refs FROM missing)) = 0
           RETURNING visible, (SELECT visible FROM prev) AS was, (SELECT refs FROM missing) AS missing`,
          [n.cache, n.hash, n.storePath, n.url, n.text, refs, Date.now(), n.deriver ?? null],
        )
      ).rows[0] as { was: boolean | null; missing: string[]; visible: boolean } | undefined;
      if (!state) {
        const missing =
          (await c.query<{ refs: string[] }>(missingRefs("$1", "$2"), [n.cache, refs])).rows[0]?.refs ?? [];
        throw new ReferencesMissingError(n.cache, n.hash, missing);
      }
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
      else if (state.was !== true) await this.release(t, n.cache, [n.hash]);
      return { visible: state.visible, missing: state.missing };
    });
  }

  /**
   * Makes visible every narinfo whose last awaited reference is among `present`, then those
   * waiting on them, level by level (store paths form no cycles), and the realisations naming any
   * of them; returns the hashes made visible. Inside the caller's transaction, under its narinfo lock.
   */
  private async release(t: PgTx, cache: string, present: readonly string[]): Promise<string[]> {
    const c = t.client;
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
    return this.db.tx(async (t) => {
      await lockNarInfos(t, cache);
      await t.client.query(
        `INSERT INTO upstream_paths (cache, hash, created_at) SELECT $1, h, $3 FROM unnest($2::text[]) AS h
         ON CONFLICT DO NOTHING`,
        [cache, [...new Set(hashes)], Date.now()],
      );
      return this.release(t, cache, hashes);
    });
  }

  /** Dated by the database's clock, which recordNar compares with: replicas' clocks may disagree. */
  async claimBlobs(
    blobs: readonly string[],
    holder: string,
    takeOver: readonly string[] = [],
  ): Promise<string[]> {
    const all = [...new Set(blobs)];
    if (all.length === 0) return [];
    return this.db.tx(async (t) => {
      const c = t.client;
      await lockBlobs(t, all);
      const free = (await c.query<{ blob: string }>(UNNAMED_BLOBS, [all])).rows.map((r) => r.blob);
      const taken = new Set(free);
      await c.query("DELETE FROM blob_claims WHERE blob = ANY($1::text[])", [
        all.filter((b) => !taken.has(b)),
      ]);
      // Another holder's claim is taken over only once stale, or when that holder is gone.
      const claimed = await c.query<{ blob: string }>(
        `INSERT INTO blob_claims (blob, holder, claimed_at)
         SELECT b, $2::text, (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM unnest($1::text[]) AS b
         ON CONFLICT (blob) DO UPDATE SET holder = excluded.holder, claimed_at = excluded.claimed_at
         WHERE blob_claims.holder = excluded.holder OR blob_claims.claimed_at <= excluded.claimed_at - $3::bigint
           OR blob_claims.holder = ANY($4::text[])
         RETURNING blob`,
        [free, holder, BLOB_CLAIM_TTL_MS, takeOver],
      );
      return claimed.rows.map((r) => r.blob);
    });
  }

  /** Expiry by the database's clock: replicas' clocks may disagree, the database's is one. */
  acquireLease(name: string, holder: string, ttlMs: number, gone?: string): Promise<boolean> {
    return this.db.tx(async (t) => {
      const r = await t.client.query(
        `WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
         INSERT INTO leases (name, holder, expires_at) SELECT $1, $2, ms + $3 FROM now
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.expires_at < (SELECT ms FROM now) OR leases.holder = excluded.holder
           OR leases.holder = $4::text`,
        [name, holder, ttlMs, gone ?? null],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  /**
   * One statement for the whole batch, in a quiet transaction: access times change nothing
   * served, so the other replicas' narinfo caches need not hear of them. Only what the GC needs is
   * written (ACCESS_SLACK_DIVISOR): a cache kept forever has a null retention, and the comparison
   * with null is never true.
   */
  async recordAccess(accesses: ReadonlyArray<{ cache: string; hash: string; at: number }>): Promise<void> {
    if (accesses.length === 0) return;
    await this.db.tx(
      async (t) => {
        await t.client.query(
          `UPDATE narinfos n SET accessed_at = v.at
           FROM (SELECT cache, hash, MAX(at) AS at FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(cache, hash, at)
                 GROUP BY cache, hash) v JOIN caches c ON c.name = v.cache
           WHERE n.cache = v.cache AND n.hash = v.hash
             AND n.accessed_at < v.at - c.retention_ms / ${ACCESS_SLACK_DIVISOR}`,
          [accesses.map((a) => a.cache), accesses.map((a) => a.hash), accesses.map((a) => a.at)],
        );
      },
      { quiet: true },
    );
  }

  gcMark(cache: string, t: GcThresholds & { dryRun?: boolean }): Promise<GcMarkResult> {
    return gcMark(this.db, cache, t);
  }

  gcPlan(cache: string, t: GcThresholds & { bytes?: boolean }): Promise<{ paths: number; bytes: number }> {
    return gcPlan(this.db, cache, t);
  }

  gcDeleteBatch(
    cache: string,
    t: GcThresholds & {
      limit: number;
      protect?: (hashes: readonly string[]) => ReadonlySet<string>;
      dropNars?: readonly string[];
      dropNarsSince?: number;
    },
  ): Promise<GcBatch | undefined> {
    return gcDeleteBatch(this.db, cache, t);
  }

  gcFinish(): Promise<void> {
    return gcFinish(this.db);
  }
}
