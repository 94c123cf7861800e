// What SQLite does its own way under the metadata store (engine.ts): synchronous better-sqlite3
// transactions, each run in the connection's turn (SqliteDb.exclusive) so that none interleaves
// with the store's async transactions. Statements are prepared once per connection, on first use.
import { setImmediate as nextTurn } from "node:timers/promises";
import type Database from "better-sqlite3";
import { DbError } from "../../errors.js";
import { closureReferences } from "../closure.js";
import type { SqliteDb } from "../db/sqlite.js";
import type { StoreEngine } from "../engine.js";
import {
  ACCESS_SLACK_DIVISOR,
  BLOB_CLAIM_TTL_MS,
  claimedMessage,
  quotaMessage,
  ReferencesMissingError,
  withinQuota,
} from "../limits.js";
import type { GcBatch, GcMarkResult, GcThresholds, NarInfoCommit, ReceivedNar } from "../types.js";
import { SqliteGc, type Stmt } from "./gc.js";

/**
 * Units of work (a reference checked or stored, a waiter released) between two yields to the event
 * loop in a long commit: about 15 ms of work on a small machine.
 */
const SLICE = 200;

/**
 * Access times written per transaction: at a million narinfos an update took about 150 µs, and
 * a flush's 1,000 in one transaction held the event loop, and every request with it, for 130-160 ms
 * (in slices of 25, the longest wait was 5-7 ms).
 */
const ACCESS_SLICE = 25;

/** Counts steps: true every SLICE of them (time to yield). */
function slicer(): () => boolean {
  let steps = 0;
  return () => ++steps % SLICE === 0;
}

/**
 * Of the hashes in the JSON array @hashes (sorted: neighbouring probes read neighbouring pages),
 * those with a visible narinfo in the cache: the primary key's index has the path and the pending
 * index does not, both answered from the indexes alone (reading `visible` from each row took a
 * table page per hash).
 */
export const VISIBLE_OF = `SELECT j.value FROM json_each(@hashes) j
  WHERE EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = @cache AND n.hash = j.value)
    AND NOT EXISTS (SELECT 1 FROM narinfos p INDEXED BY narinfos_pending_hash
      WHERE p.cache = @cache AND p.hash = j.value AND NOT p.visible)`;

/**
 * A NAR received again for a URL a narinfo has: that narinfo is being pushed again (an access).
 * `+accessed_at` keeps the planner off narinfos_accessed, which it chose without statistics: a
 * range over every narinfo of the cache (62 ms a push at 100,000 narinfos) instead of the URL's.
 */
export const TOUCH_BY_URL =
  "UPDATE narinfos SET accessed_at = @now WHERE cache = @cache AND url = @url AND +accessed_at < @now";

function prepareStatements(db: Database.Database) {
  const p = (sql: string): Stmt => db.prepare(sql);
  return {
    getNar: p("SELECT * FROM nars WHERE cache = ? AND url = ?"),
    // A URL that is visible keeps its blob: a served NAR URL never changes.
    putNar: p(
      `INSERT INTO nars (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
       VALUES (@cache, @url, @blob, @compression, @narHash, @narSize, @fileHash, @fileSize, 0, @now)
       ON CONFLICT (cache, url) DO UPDATE SET blob = excluded.blob, compression = excluded.compression,
         nar_hash = excluded.nar_hash, nar_size = excluded.nar_size, file_hash = excluded.file_hash,
         file_size = excluded.file_size, created_at = excluded.created_at
       WHERE nars.visible = 0 OR nars.blob = excluded.blob`,
    ),
    markVisible: p("UPDATE nars SET visible = 1 WHERE cache = ? AND url = ?"),
    narInfoVisible: p("SELECT visible FROM narinfos WHERE cache = ? AND hash = ?").pluck(),
    // A push is an access (accessed_at), and takes back a GC mark (unmark).
    putNarInfo: p(
      `INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at, deriver)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (cache, hash) DO UPDATE SET store_path = excluded.store_path, url = excluded.url,
         text = excluded.text, created_at = excluded.created_at, visible = excluded.visible,
         accessed_at = excluded.accessed_at, deriver = excluded.deriver`,
    ),
    unmark: p("DELETE FROM gc_marks WHERE cache = ? AND hash = ?"),
    dropRefsOf: p("DELETE FROM narinfo_refs WHERE cache = ? AND hash = ?"),
    insertRef: p("INSERT OR IGNORE INTO narinfo_refs (cache, hash, ref) VALUES (?, ?, ?)"),
    touchByUrl: p(TOUCH_BY_URL),
    cacheLimits: p("SELECT quota_bytes, used_bytes FROM caches WHERE name = ?"),
    blobClaimed: p("SELECT EXISTS (SELECT 1 FROM blob_claims WHERE blob = ? AND claimed_at > ?)").pluck(),
    /** Whether a path counts for closures: a visible narinfo here, or served upstream. */
    present: p(
      `SELECT EXISTS (SELECT 1 FROM narinfos WHERE cache = @cache AND hash = @hash AND visible = 1)
         OR EXISTS (SELECT 1 FROM upstream_paths WHERE cache = @cache AND hash = @hash)`,
    ).pluck(),
    dropWaitsOf: p("DELETE FROM narinfo_waits WHERE cache = ? AND hash = ?"),
    insertWait: p("INSERT OR IGNORE INTO narinfo_waits (cache, ref, hash) VALUES (?, ?, ?)"),
    /** Some of the narinfos that were waiting for `ref`, which is now present (a slice at a time). */
    waiters: p("SELECT hash FROM narinfo_waits WHERE cache = ? AND ref = ? LIMIT ?").pluck(),
    dropWait: p("DELETE FROM narinfo_waits WHERE cache = ? AND ref = ? AND hash = ?"),
    stillWaits: p("SELECT EXISTS (SELECT 1 FROM narinfo_waits WHERE cache = ? AND hash = ?)").pluck(),
    setVisible: p("UPDATE narinfos SET visible = 1 WHERE cache = ? AND hash = ? AND visible = 0"),
    insertUpstream: p("INSERT OR IGNORE INTO upstream_paths (cache, hash, created_at) VALUES (?, ?, ?)"),
    /** The realisations naming `hash`, which is now present. */
    showRealisations: p(
      "UPDATE realisations SET visible = 1 WHERE cache = ? AND out_hash = ? AND visible = 0",
    ),

    // Only what the GC needs (ACCESS_SLACK_DIVISOR): a cache kept forever has a null retention, and
    // the comparison with null is never true.
    getNarInfo: p("SELECT text FROM narinfos WHERE cache = ? AND hash = ? AND visible").pluck(),
    visibleOf: p(VISIBLE_OF).pluck(),
    access: p(
      `UPDATE narinfos SET accessed_at = @at WHERE cache = @cache AND hash = @hash
         AND accessed_at < @at - (SELECT retention_ms FROM caches WHERE name = @cache) / ${ACCESS_SLACK_DIVISOR}`,
    ),
    acquireLease: p(
      `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @until)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.expires_at < @now OR leases.holder = excluded.holder OR leases.holder = @gone`,
    ),
    referenced: p(
      "SELECT EXISTS (SELECT 1 FROM nars WHERE blob = @blob) OR EXISTS (SELECT 1 FROM side_files WHERE blob = @blob)",
    ).pluck(),
    // Another holder's claim is taken over only once stale, or when that holder is gone.
    claim: p(
      `INSERT INTO blob_claims (blob, holder, claimed_at) VALUES (@blob, @holder, @now)
       ON CONFLICT (blob) DO UPDATE SET holder = excluded.holder, claimed_at = excluded.claimed_at
       WHERE blob_claims.holder = excluded.holder OR blob_claims.claimed_at <= @stale
         OR blob_claims.holder IN (SELECT value FROM json_each(@gone))`,
    ),
    unclaim: p("DELETE FROM blob_claims WHERE blob = ?"),
  };
}

export class SqliteEngine implements StoreEngine {
  private prepared: ReturnType<typeof prepareStatements> | undefined;
  private readonly sqlite: Database.Database;
  private readonly gc: SqliteGc;

  constructor(private readonly db: SqliteDb) {
    this.sqlite = db.sqlite;
    this.gc = new SqliteGc(db);
  }

  /** Prepared on first use: the migrations may not have run when the engine is made. */
  private get st(): ReturnType<typeof prepareStatements> {
    this.prepared ??= prepareStatements(this.sqlite);
    return this.prepared;
  }

  getNarInfo(cache: string, hash: string): Promise<string | undefined> {
    return this.db.exclusive(() => this.st.getNarInfo.get(cache, hash) as string | undefined);
  }

  /**
   * One statement for all the hashes (one lookup each took three times the CPU), given sorted:
   * consecutive probes then read neighbouring pages of the index.
   */
  async missingNarInfos(cache: string, hashes: readonly string[]): Promise<string[]> {
    if (hashes.length === 0) return [];
    // Sorted (bytewise for store hashes, as the index): neighbouring probes read neighbouring pages.
    // At a million narinfos that took the query's CPU from 52-95 ms to 27-36; the sort costs 21-36.
    const sorted = JSON.stringify([...new Set(hashes)].sort());
    const visible = new Set(
      await this.db.exclusive(() => this.st.visibleOf.all({ hashes: sorted, cache }) as string[]),
    );
    return hashes.filter((h) => !visible.has(h));
  }

  /** Checked and recorded in one immediate transaction: no other writer between check and insert. */
  recordNar(nar: Omit<ReceivedNar, "visible">): Promise<boolean> {
    return this.db.exclusive(() =>
      this.sqlite
        .transaction(() => {
          const now = Date.now();
          if (this.st.blobClaimed.get(nar.blob, now - BLOB_CLAIM_TTL_MS) === 1)
            throw new DbError("unavailable", claimedMessage(nar.blob));
          this.st.touchByUrl.run({ now, cache: nar.cache, url: nar.url });
          const limits = this.st.cacheLimits.get(nar.cache) as
            | { quota_bytes: number | null; used_bytes: number }
            | undefined;
          if (limits && limits.quota_bytes !== null) {
            const old = this.st.getNar.get(nar.cache, nar.url) as
              | { visible: number; blob: string; file_size: number }
              | undefined;
            // A served URL keeps its blob (putNar changes nothing then): only a change can add bytes.
            const replaces = !old || old.visible === 0 || old.blob === nar.blob;
            const adding = nar.fileSize - (old?.file_size ?? 0);
            if (replaces && !withinQuota(limits.used_bytes, adding, limits.quota_bytes))
              throw new DbError(
                "tooLarge",
                quotaMessage(nar.cache, limits.used_bytes, adding, limits.quota_bytes),
              );
          }
          return this.st.putNar.run({ ...nar, now }).changes > 0;
        })
        .immediate(),
    );
  }

  /**
   * An immediate transaction: the presence checks run under the write lock, so no commit of a
   * reference can land between them and this narinfo's waits being recorded. In slices
   * (SqliteDb.sliced): a narinfo with many references, or one that releases thousands of
   * waiters, lets the event loop run every SLICE steps while its transaction stays open.
   */
  commitNarInfo(n: NarInfoCommit): Promise<{ visible: boolean; missing: string[] }> {
    const refs = closureReferences(n.hash, n.references);
    const st = this.st;
    const self = this;
    return this.db.sliced(function* () {
      const slice = slicer();
      const was = st.narInfoVisible.get(n.cache, n.hash) as number | undefined;
      const missing: string[] = [];
      for (const r of refs) {
        if (st.present.get({ cache: n.cache, hash: r }) !== 1) missing.push(r);
        if (slice()) yield;
      }
      // A served narinfo is replaced only by one whose closure is here too.
      if (was === 1 && missing.length > 0) throw new ReferencesMissingError(n.cache, n.hash, missing);
      const visible = was === 1 || missing.length === 0;
      st.markVisible.run(n.cache, n.url);
      const now = Date.now();
      const deriver = n.deriver ?? null;
      st.putNarInfo.run(n.cache, n.hash, n.storePath, n.url, n.text, now, visible ? 1 : 0, now, deriver);
      st.unmark.run(n.cache, n.hash);
      st.dropRefsOf.run(n.cache, n.hash);
      for (const r of refs) {
        st.insertRef.run(n.cache, n.hash, r);
        if (slice()) yield;
      }
      // A pending narinfo committed again waits for what its new text references.
      if (was === 0) st.dropWaitsOf.run(n.cache, n.hash);
      if (!visible)
        for (const r of missing) {
          st.insertWait.run(n.cache, r, n.hash);
          if (slice()) yield;
        }
      else if (was !== 1) yield* self.release(n.cache, [n.hash], slice);
      return { visible, missing };
    });
  }

  /**
   * Makes visible every narinfo whose last awaited reference is among `present`, then those
   * waiting on them, and so on (store paths form no cycles), and the realisations naming any of
   * them; returns the hashes made visible. Inside the caller's transaction, yielding every SLICE
   * steps (waiters are taken a slice at a time too).
   */
  private *release(
    cache: string,
    present: readonly string[],
    slice: () => boolean,
  ): Generator<void, string[], undefined> {
    const st = this.st;
    const released: string[] = [];
    const queue = [...present];
    for (let h = queue.pop(); h !== undefined; h = queue.pop()) {
      if (slice()) yield;
      // The path is present now: the realisations naming it are served from now on.
      st.showRealisations.run(cache, h);
      for (;;) {
        const waiters = st.waiters.all(cache, h, SLICE) as string[];
        for (const d of waiters) {
          st.dropWait.run(cache, h, d);
          if (st.stillWaits.get(cache, d) !== 1 && st.setVisible.run(cache, d).changes > 0) {
            released.push(d);
            queue.push(d);
          }
          if (slice()) yield;
        }
        if (waiters.length < SLICE) break;
      }
    }
    return released;
  }

  markUpstream(cache: string, hashes: readonly string[]): Promise<string[]> {
    const st = this.st;
    const self = this;
    return this.db.sliced(function* () {
      const slice = slicer();
      const now = Date.now();
      for (const h of hashes) {
        st.insertUpstream.run(cache, h, now);
        if (slice()) yield;
      }
      return yield* self.release(cache, hashes, slice);
    });
  }

  claimBlobs(blobs: readonly string[], holder: string, takeOver: readonly string[] = []): Promise<string[]> {
    return this.db.exclusive(() =>
      this.sqlite
        .transaction(() => {
          const now = Date.now();
          const stale = now - BLOB_CLAIM_TTL_MS;
          const gone = JSON.stringify(takeOver);
          const claimed: string[] = [];
          for (const blob of new Set(blobs)) {
            if (this.st.referenced.get({ blob }) === 1) this.st.unclaim.run(blob);
            else if (this.st.claim.run({ blob, holder, now, stale, gone }).changes > 0) claimed.push(blob);
          }
          return claimed;
        })
        .immediate(),
    );
  }

  acquireLease(name: string, holder: string, ttlMs: number, gone?: string): Promise<boolean> {
    return this.db.exclusive(() => {
      const now = Date.now();
      return (
        this.st.acquireLease.run({ name, holder, until: now + ttlMs, now, gone: gone ?? null }).changes > 0
      );
    });
  }

  /** Quiet: access times change nothing served, so `changes.local` does not move for them. */
  async recordAccess(accesses: ReadonlyArray<{ cache: string; hash: string; at: number }>): Promise<void> {
    for (let i = 0; i < accesses.length; i += ACCESS_SLICE) {
      // Requests between slices: each is a transaction of its own, so reads wait for none.
      if (i > 0) await nextTurn();
      const slice = accesses.slice(i, i + ACCESS_SLICE);
      await this.db.exclusive(
        () =>
          this.sqlite.transaction(() => {
            for (const a of slice) this.st.access.run(a);
          })(),
        { quiet: true },
      );
    }
  }

  gcMark(cache: string, t: GcThresholds & { dryRun?: boolean }): Promise<GcMarkResult> {
    return this.gc.mark(cache, t);
  }

  gcPlan(cache: string, t: GcThresholds & { bytes?: boolean }): Promise<{ paths: number; bytes: number }> {
    return this.gc.plan(cache, t);
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
    return this.gc.deleteBatch(cache, t);
  }

  gcFinish(): Promise<void> {
    return this.gc.finish();
  }
}
