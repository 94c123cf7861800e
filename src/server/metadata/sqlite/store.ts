// The MetadataStore in one SQLite file (WAL) inside the data directory: safe to share between the
// workers of `serve --workers` and the admin commands (short write transactions, a busy timeout).
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
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
import { prepareGcStatements } from "./gc-statements.js";
import { migrate } from "./migrations.js";
import { exportRecords as exportSqliteRecords, importRecords as importSqliteRecords } from "./records.js";
import {
  cacheFromRow,
  multipartFromRow,
  narFromRow,
  type RawCache,
  type RawMultipart,
  type RawNar,
  type RawToken,
  type RawTrustRule,
  tokenFromRow,
  trustRuleFromRow,
} from "./rows.js";
import { prepareStatements } from "./statements.js";

export const DB_FILE = "nixcache.db";

/** Creates the file with mode 0600 first, so the signing keys inside are never world-readable. */
function createPrivateFile(path: string): void {
  closeSync(openSync(path, "a", 0o600));
}

export class SqliteMetadataStore implements MetadataStore {
  private readonly st;
  private gcSt: ReturnType<typeof prepareGcStatements> | undefined;
  /**
   * Rows changed by access-time and dashboard-activity writes: they change nothing served, so
   * `changes.local` ignores them.
   */
  private quietChanges = 0;
  private readonly keys = new Map<string, SecretKey>();
  private readonly cacheRows = new Map<string, { row: CacheRow | undefined; until: number }>();
  private readonly totalChanges;
  readonly changes;

  private constructor(private readonly sqlite: Database.Database) {
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("busy_timeout = 5000");
    sqlite.pragma("foreign_keys = ON");
    migrate(sqlite);
    this.st = prepareStatements(sqlite);
    const totalChanges = sqlite.prepare("SELECT total_changes()").pluck();
    this.totalChanges = () => totalChanges.get() as number;
    const dataVersion = sqlite.prepare("PRAGMA data_version").pluck();
    this.changes = {
      local: () => this.totalChanges() - this.quietChanges,
      external: () => dataVersion.get() as number,
    };
  }

  /** Opens (creating and migrating when needed) the database of a data directory. */
  static open(dataDir: string): SqliteMetadataStore {
    return SqliteMetadataStore.openFile(join(dataDir, DB_FILE));
  }

  /** Opens (creating and migrating when needed) a database file (`--db sqlite:///path/file.db`). */
  static openFile(file: string): SqliteMetadataStore {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    createPrivateFile(file);
    return new SqliteMetadataStore(new Database(file));
  }

  async close(): Promise<void> {
    if (this.sqlite.open) this.sqlite.close();
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
      this.st.insertCache.run(
        row.name,
        row.isPublic ? 1 : 0,
        row.priority,
        formatSecretKey(key),
        publicKey,
        row.createdAt,
        row.owner,
        row.managed ? 1 : 0,
        row.compression,
      );
    } catch (e) {
      if ((e as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY")
        throw new DbError("conflict", `cache ${JSON.stringify(c.name)} already exists`);
      throw e;
    }
    this.cacheRows.delete(c.name);
    return row;
  }

  /**
   * Rows are remembered for a second: every request needs one, and `cache create` runs in another
   * process, so a short lifetime is what lets new caches appear without a restart.
   */
  async getCache(name: string): Promise<CacheRow | undefined> {
    const now = Date.now();
    const hit = this.cacheRows.get(name);
    if (hit && hit.until > now) return hit.row;
    const r = this.st.getCache.get(name) as RawCache | undefined;
    const row = r && cacheFromRow(r);
    if (this.cacheRows.size > 10_000) this.cacheRows.clear();
    this.cacheRows.set(name, { row, until: now + 1000 });
    return row;
  }

  async listCaches(): Promise<Array<CacheRow & { narinfos: number; bytes: number }>> {
    return (this.st.listCaches.all() as Array<RawCache & { narinfos: number; bytes: number }>).map((r) => ({
      ...cacheFromRow(r),
      narinfos: r.narinfos,
      bytes: r.bytes,
    }));
  }

  async updateCache(
    name: string,
    change: Partial<Pick<CacheRow, "isPublic" | "compression">>,
  ): Promise<void> {
    this.sqlite.transaction(() => {
      if (change.isPublic !== undefined) this.st.setPublic.run(change.isPublic ? 1 : 0, name);
      if (change.compression !== undefined) this.st.setCompression.run(change.compression, name);
    })();
    this.cacheRows.delete(name);
  }

  /** Held in memory after first use. */
  async signingKey(cache: string): Promise<SecretKey> {
    let k = this.keys.get(cache);
    if (!k) {
      const text = this.st.getSecretKey.get(cache) as string | undefined;
      if (text === undefined) throw new DbError("notFound", `no cache named ${JSON.stringify(cache)}`);
      k = parseSecretKey(text);
      this.keys.set(cache, k);
    }
    return k;
  }

  async clientKeys(cache: string): Promise<string[]> {
    return (this.st.clientKeys.all(cache) as Array<{ name: string; public_key: string }>).map(
      (k) => `${k.name}:${k.public_key}`,
    );
  }

  async addClientKey(cache: string, name: string, publicKeyB64: string): Promise<boolean> {
    return this.st.insertClientKey.run(cache, name, publicKeyB64, Date.now()).changes > 0;
  }

  // --- NARs and narinfos ---

  /** Checked and recorded in one immediate transaction: no other writer between check and insert. */
  async recordNar(nar: Omit<ReceivedNar, "visible">): Promise<boolean> {
    return this.sqlite
      .transaction(() => {
        const now = Date.now();
        if (this.st.blobClaimed.get(nar.blob, now - BLOB_CLAIM_TTL_MS) === 1)
          throw new DbError("unavailable", claimedMessage(nar.blob));
        this.st.touchByUrl.run({ now, cache: nar.cache, url: nar.url });
        const limits = this.st.cacheLimits.get(nar.cache) as
          | { quota_bytes: number | null; used_bytes: number }
          | undefined;
        if (limits && limits.quota_bytes !== null) {
          const old = this.st.getNar.get(nar.cache, nar.url) as RawNar | undefined;
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
      .immediate();
  }

  async getNar(cache: string, url: string): Promise<ReceivedNar | undefined> {
    const r = this.st.getNar.get(cache, url) as RawNar | undefined;
    return r && narFromRow(r);
  }

  async visibleNar(cache: string, url: string): Promise<{ blob: string; fileSize: number } | undefined> {
    const r = this.st.visibleNar.get(cache, url) as { blob: string; file_size: number } | undefined;
    return r && { blob: r.blob, fileSize: r.file_size };
  }

  /**
   * An immediate transaction: the presence checks run under the write lock, so no commit of a
   * reference can land between them and this narinfo's waits being recorded.
   */
  async commitNarInfo(n: NarInfoCommit): Promise<{ visible: boolean; missing: string[] }> {
    const refs = closureReferences(n.hash, n.references);
    return this.sqlite
      .transaction(() => {
        const was = this.st.narInfoVisible.get(n.cache, n.hash) as number | undefined;
        const missing = refs.filter((r) => this.st.present.get({ cache: n.cache, hash: r }) !== 1);
        const visible = was === 1 || missing.length === 0;
        this.st.markVisible.run(n.cache, n.url);
        const now = Date.now();
        this.st.putNarInfo.run(n.cache, n.hash, n.storePath, n.url, n.text, now, visible ? 1 : 0, now);
        this.st.dropMark.run(n.cache, n.hash);
        this.st.dropRefsOf.run(n.cache, n.hash);
        for (const r of refs) this.st.insertRef.run(n.cache, n.hash, r);
        // A pending narinfo committed again waits for what its new text references.
        if (was === 0) this.st.dropWaitsOf.run(n.cache, n.hash);
        if (!visible) for (const r of missing) this.st.insertWait.run(n.cache, r, n.hash);
        else if (was !== 1) this.release(n.cache, [n.hash]);
        return { visible, missing };
      })
      .immediate();
  }

  /**
   * Makes visible every narinfo whose last awaited reference is among `present`, then those
   * waiting on them, and so on (store paths form no cycles), and the realisations naming any of
   * them; returns the hashes made visible.
   */
  private release(cache: string, present: readonly string[]): string[] {
    const released: string[] = [];
    const queue = [...present];
    for (let h = queue.pop(); h !== undefined; h = queue.pop()) {
      // The path is present now: the realisations naming it are served from now on.
      this.st.showRealisations.run(cache, h);
      for (const d of this.st.releaseWaiters.all(cache, h) as string[]) {
        if (this.st.stillWaits.get(cache, d) === 1) continue;
        if (this.st.setVisible.run(cache, d).changes > 0) {
          released.push(d);
          queue.push(d);
        }
      }
    }
    return released;
  }

  async markUpstream(cache: string, hashes: readonly string[]): Promise<string[]> {
    return this.sqlite
      .transaction(() => {
        const now = Date.now();
        for (const h of hashes) this.st.insertUpstream.run(cache, h, now);
        return this.release(cache, hashes);
      })
      .immediate();
  }

  async pendingReferences(
    cache: string | undefined,
    limit: number,
  ): Promise<Array<{ cache: string; hash: string }>> {
    return (
      cache === undefined
        ? this.st.pendingReferences.all(limit)
        : this.st.pendingReferencesOf.all(cache, limit)
    ) as Array<{ cache: string; hash: string }>;
  }

  async pendingCount(cache: string): Promise<number> {
    return this.st.pendingCount.get(cache) as number;
  }

  async getNarInfo(cache: string, hash: string): Promise<string | undefined> {
    return this.st.getNarInfo.get(cache, hash) as string | undefined;
  }

  async missingNarInfos(cache: string, hashes: readonly string[]): Promise<string[]> {
    return hashes.filter((h) => this.st.getNarInfo.get(cache, h) === undefined);
  }

  async narInfoBlobs(): Promise<NarInfoBlob[]> {
    return this.st.narInfoBlobs.all() as NarInfoBlob[];
  }

  async unnamedBlobs(blobs: readonly string[]): Promise<string[]> {
    return [...new Set(blobs)].filter((blob) => this.gc.referenced.get({ blob }) !== 1);
  }

  async blobReferenced(blob: string): Promise<boolean> {
    return this.st.blobReferenced.get({ blob }) === 1;
  }

  async invisibleNarsBefore(time: number): Promise<Array<{ cache: string; url: string; blob: string }>> {
    return this.st.invisibleNarsBefore.all(time) as Array<{ cache: string; url: string; blob: string }>;
  }

  async orphanNarUrls(cache: string, limit: number): Promise<string[]> {
    return this.st.orphanNarUrls.all({ cache, limit }) as string[];
  }

  async deleteInvisibleNar(cache: string, url: string, before: number): Promise<boolean> {
    return this.st.deleteInvisibleNar.run(cache, url, before).changes > 0;
  }

  // --- realisations ---

  /** Under the write lock: no commit making its path present lands between the check and the write. */
  async putRealisation(r: RealisationCommit): Promise<{ visible: boolean }> {
    const size = Buffer.byteLength(r.text);
    const outHash = r.outPath.slice(0, STORE_HASH_LENGTH);
    return this.sqlite
      .transaction(() => {
        const limits = this.st.cacheLimits.get(r.cache) as
          | { quota_bytes: number | null; used_bytes: number }
          | undefined;
        if (!limits) throw new DbError("notFound", `no cache named ${JSON.stringify(r.cache)}`);
        const old = this.st.realisationSize.get(r.cache, r.kind, r.key) as number | undefined;
        const adding = size - (old ?? 0);
        if (!withinQuota(limits.used_bytes, adding, limits.quota_bytes))
          throw new DbError(
            "tooLarge",
            quotaMessage(r.cache, limits.used_bytes, adding, limits.quota_bytes ?? 0, "realisation"),
          );
        const visible = this.st.present.get({ cache: r.cache, hash: outHash }) === 1;
        this.st.putRealisation.run({
          cache: r.cache,
          kind: r.kind,
          key: r.key,
          outHash,
          outPath: r.outPath,
          text: r.text,
          size,
          visible: visible ? 1 : 0,
          now: Date.now(),
        });
        return { visible };
      })
      .immediate();
  }

  async getRealisation(cache: string, kind: RealisationKind, key: string): Promise<string | undefined> {
    return this.st.getRealisation.get(cache, kind, key) as string | undefined;
  }

  async realisationsOf(cache: string, hash: string): Promise<StoredRealisation[]> {
    return (
      this.st.realisationsOf.all(cache, hash) as Array<{
        kind: RealisationKind;
        key: string;
        out_path: string;
        visible: number;
        size: number;
        created_at: number;
      }>
    ).map((x) => ({
      kind: x.kind,
      key: x.key,
      outPath: x.out_path,
      visible: x.visible === 1,
      size: x.size,
      createdAt: x.created_at,
    }));
  }

  // --- side files ---

  async putSideFile(cache: string, kind: SideFileKind, name: string, f: SideFile): Promise<void> {
    this.sqlite
      .transaction(() => {
        const now = Date.now();
        if (f.blob !== null && this.st.blobClaimed.get(f.blob, now - BLOB_CLAIM_TTL_MS) === 1)
          throw new DbError("unavailable", claimedMessage(f.blob));
        this.st.putFile.run(cache, kind, name, f.body, f.blob, f.contentType, f.contentEncoding, now);
      })
      .immediate();
  }

  async getSideFile(cache: string, kind: SideFileKind, name: string): Promise<SideFile | undefined> {
    const r = this.st.getFile.get(cache, kind, name) as
      | { body: Buffer; blob: string | null; content_type: string; content_encoding: string | null }
      | undefined;
    return (
      r && { body: r.body, blob: r.blob, contentType: r.content_type, contentEncoding: r.content_encoding }
    );
  }

  // --- tokens and accounts ---

  async insertToken(t: NewToken): Promise<TokenRow> {
    const { cache, perm, account, grants } = tokenColumns(t);
    this.st.insertToken.run(
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
    );
    const row = await this.tokenById(t.id);
    if (!row) throw new DbError("internal", "token was not stored");
    return row;
  }

  async tokenByHash(hash: string): Promise<TokenRow | undefined> {
    const r = this.st.tokenByHash.get(hash) as RawToken | undefined;
    return r && tokenFromRow(r);
  }

  async tokenById(id: string): Promise<TokenRow | undefined> {
    const r = this.st.tokenById.get(id) as RawToken | undefined;
    return r && tokenFromRow(r);
  }

  async revokeToken(id: string): Promise<boolean> {
    return this.st.revokeToken.run(Date.now(), id).changes > 0;
  }

  async listTokens(): Promise<TokenRow[]> {
    return (this.st.listTokens.all() as RawToken[]).map(tokenFromRow);
  }

  async tokensOfAccount(account: string): Promise<TokenRow[]> {
    return (this.st.tokensOfAccount.all({ account }) as RawToken[]).map(tokenFromRow);
  }

  async account(slug: string): Promise<AccountRow | undefined> {
    const r = this.st.accountBySlug.get(slug) as
      | { id: number; slug: string; email: string | null; fullname: string | null; created_at: number }
      | undefined;
    return r && { id: r.id, slug: r.slug, email: r.email, fullname: r.fullname, createdAt: r.created_at };
  }

  async ensureAccount(slug: string, opts: { email?: string; fullname?: string } = {}): Promise<AccountRow> {
    const existing = await this.account(slug);
    if (existing) return existing;
    this.st.insertAccount.run(slug, opts.email ?? null, opts.fullname ?? null, Date.now());
    const row = await this.account(slug);
    if (!row) throw new DbError("internal", "account was not stored");
    return row;
  }

  // --- multipart uploads ---

  async createMultipart(u: NewMultipart) {
    const narId = u.narId ?? globalThis.crypto.randomUUID();
    const uploadId = u.uploadId ?? randomBytes(24).toString("base64url");
    this.st.insertMultipart.run(narId, uploadId, u.cache, u.compression, Date.now(), u.tokenId ?? null);
    return (await this.getMultipart(narId)) as MultipartUpload;
  }

  async getMultipart(narId: string): Promise<MultipartUpload | undefined> {
    const r = this.st.multipart.get(narId) as RawMultipart | undefined;
    return r && multipartFromRow(r);
  }

  async openMultipartsBefore(time: number): Promise<string[]> {
    return this.st.openMultipartsBefore.all(time) as string[];
  }

  async openMultipartsOf(tokenId: string): Promise<number> {
    return this.st.openMultipartsOf.get(tokenId) as number;
  }

  /** One UPDATE … WHERE state = from: SQLite serialises writers, so exactly one caller wins. */
  async transitionMultipart(narId: string, from: MultipartState, to: MultipartState): Promise<boolean> {
    return this.st.transitionMultipart.run(to, narId, from).changes > 0;
  }

  async putPart(narId: string, p: PartRow): Promise<void> {
    this.st.putPart.run(narId, p.part, p.etag, p.size);
  }

  async parts(narId: string): Promise<PartRow[]> {
    return this.st.parts.all(narId) as PartRow[];
  }

  async deleteParts(narId: string): Promise<void> {
    this.st.deleteParts.run(narId);
  }

  /** Kept inside the 0600 database. */
  async secret(name: string): Promise<Buffer> {
    const existing = this.st.secret.get(name) as string | undefined;
    if (existing) return Buffer.from(existing, "base64");
    this.st.insertSecret.run(name, randomBytes(32).toString("base64"));
    return Buffer.from(this.st.secret.get(name) as string, "base64");
  }
  async exportRecords<K extends RecordKind>(
    kind: K,
    after: string | null,
    limit: number,
  ): Promise<RecordPage<K>> {
    return exportSqliteRecords(this.sqlite, kind, after, limit);
  }

  async importRecords<K extends RecordKind>(
    kind: K,
    records: ReadonlyArray<RecordTypes[K]>,
  ): Promise<number> {
    return importSqliteRecords(this.sqlite, kind, records);
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
      this.st.insertTrustRule.run({ ...row, claims: JSON.stringify(row.claims) });
    } catch (e) {
      if ((e as { code?: string }).code === "SQLITE_CONSTRAINT_FOREIGNKEY")
        throw new DbError("notFound", `no cache named ${JSON.stringify(rule.cache)}`);
      throw e;
    }
    return row;
  }

  async trustRules(filter: { cache?: string; issuer?: string } = {}): Promise<TrustRuleRow[]> {
    return (
      this.st.trustRules.all({ cache: filter.cache ?? null, issuer: filter.issuer ?? null }) as RawTrustRule[]
    ).map(trustRuleFromRow);
  }

  async removeTrustRule(cache: string, id: string): Promise<boolean> {
    return this.st.removeTrustRule.run(cache, id).changes > 0;
  }

  // --- retention, quotas and access times ---

  private get gc(): ReturnType<typeof prepareGcStatements> {
    this.gcSt ??= prepareGcStatements(this.sqlite);
    return this.gcSt;
  }

  async setCacheLimits(
    name: string,
    limits: { retentionMs?: number | null; quotaBytes?: number | null },
  ): Promise<void> {
    this.sqlite
      .transaction(() => {
        const before = this.gc.retentionOf.get(name) as number | null | undefined;
        if (before === undefined) throw new DbError("notFound", `no cache named ${JSON.stringify(name)}`);
        if (limits.retentionMs !== undefined && limits.retentionMs !== before) {
          this.gc.setRetention.run(limits.retentionMs, name);
          this.gc.clearMarks.run(name);
        }
        if (limits.quotaBytes !== undefined) this.gc.setQuota.run(limits.quotaBytes, name);
      })
      .immediate();
    this.cacheRows.delete(name);
  }

  async cacheUsage(cache: string): Promise<number> {
    return (this.gc.usage.get(cache) as number | undefined) ?? 0;
  }

  async recordAccess(accesses: ReadonlyArray<{ cache: string; hash: string; at: number }>): Promise<void> {
    if (accesses.length === 0) return;
    this.sqlite.transaction(() => {
      for (const a of accesses) this.quietChanges += this.gc.access.run(a).changes;
    })();
  }

  // --- pins ---

  async addPin(p: NewPin): Promise<PinRow> {
    return this.sqlite
      .transaction(() => {
        const now = Date.now();
        const stored = this.gc.visibleStorePath.get(p.cache, p.hash) as string | undefined;
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
        this.gc.ensurePin.run(p.cache, p.name, now);
        if (p.keep !== undefined) this.gc.setPinKeep.run(...keepColumns(p.keep), p.cache, p.name);
        this.gc.dropPinEntry.run(p.cache, p.name, p.hash);
        this.gc.insertPinEntry.run(
          p.cache,
          p.name,
          p.hash,
          p.storePath,
          JSON.stringify(p.artifacts ?? []),
          now,
        );
        const pin = this.pinsOf(p.cache, p.name)[0] as PinRow;
        if (typeof pin.keep === "object" && "revisions" in pin.keep)
          this.gc.pruneRevisions.run({ cache: p.cache, pin: p.name, keep: pin.keep.revisions });
        else if (typeof pin.keep === "object") this.gc.pruneDays.run({ cache: p.cache, pin: p.name, now });
        return this.pinsOf(p.cache, p.name)[0] as PinRow;
      })
      .immediate();
  }

  private pinsOf(cache: string, name: string | null): PinRow[] {
    return pinsFromRows(cache, this.gc.pins.all({ cache, name }) as RawPinRow[]);
  }

  async listPins(cache: string): Promise<PinRow[]> {
    return this.pinsOf(cache, null);
  }

  async removePin(cache: string, name: string): Promise<boolean> {
    return this.gc.removePin.run(cache, name).changes > 0;
  }

  // --- garbage collection ---

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    return this.gc.acquireLease.run({ name, holder, until: now + ttlMs, now }).changes > 0;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.gc.releaseLease.run(name, holder);
  }

  /**
   * The closure query reads one snapshot into a TEMP table (no write lock: other writers go on);
   * then one immediate transaction changes the (few) marks that differ. It all runs synchronously:
   * a server on SQLite answers nothing else meanwhile (noticeable with millions of narinfos;
   * servers on PostgreSQL are not held up).
   */
  async gcMark(cache: string, t: GcThresholds & { dryRun?: boolean }): Promise<GcMarkResult> {
    const g = this.gc;
    const args = { cache, run: t.run, now: t.now, cutoff: t.cutoff };
    if (!t.dryRun) g.pruneExpiredPins.run(args);
    this.sqlite.transaction(() => {
      g.clearUnreached.run(t.run);
      g.candidates.run(args);
      g.reached.run(args);
    })();
    // The unreached set stays for gcPlan (gcFinish drops it).
    return this.sqlite
      .transaction(() => {
        if (!t.dryRun) {
          g.unmark.run(args);
          g.mark.run(args);
        }
        return { paths: g.paths.get(cache) as number, marked: g.unreached.get(args) as number };
      })
      .immediate();
  }

  async gcPlan(
    cache: string,
    t: GcThresholds & { bytes?: boolean },
  ): Promise<{ paths: number; bytes: number }> {
    const g = this.gc;
    return this.sqlite.transaction(() => {
      const args = { cache, run: t.run, cutoff: t.cutoff, markedBefore: t.markedBefore };
      g.clearDoomed.run(t.run);
      g.eligible.run(args);
      g.saved.run(args);
      return {
        paths: g.planned.get(t.run) as number,
        bytes: t.bytes ? (g.plannedBytes.get({ cache, run: t.run }) as number) : 0,
      };
    })();
  }

  /** Synchronous under the write lock: no request of this process, and no other writer, in between. */
  async gcDeleteBatch(
    cache: string,
    t: GcThresholds & {
      limit: number;
      protect?: (hashes: readonly string[]) => ReadonlySet<string>;
      dropNars?: readonly string[];
      dropNarsSince?: number;
    },
  ): Promise<GcBatch | undefined> {
    const g = this.gc;
    const since = t.dropNarsSince ?? Number.MAX_SAFE_INTEGER;
    return this.sqlite
      .transaction(() => {
        const now = Date.now();
        const ready = now - (t.lingerMs ?? 0);
        const out: GcBatch = { deleted: [], survived: 0, narUrls: [], nars: [] };
        const drop = new Set(t.dropNars ?? []);
        for (const url of drop) {
          const nar = g.deleteNar.get({ cache, url, since }) as
            | { blob: string; file_size: number }
            | undefined;
          if (nar) out.nars.push({ blob: nar.blob, fileSize: nar.file_size });
        }
        const batch = g.freeBatch.all(t.run, ready, t.limit) as Array<{ hash: string; url: string }>;
        const spared = batch.length > 0 ? (t.protect?.(batch.map((b) => b.hash)) ?? new Set()) : new Set();
        const urls = new Set<string>();
        for (const { hash, url } of batch) {
          g.dropDoomed.run(t.run, hash);
          const args = { cache, hash, cutoff: t.cutoff, markedBefore: t.markedBefore };
          if (spared.has(hash) || g.deletable.get(args) !== 1) {
            out.survived++;
            continue;
          }
          g.deleteNarInfo.run(cache, hash);
          g.deleteMark.run(cache, hash);
          for (const ref of g.deleteRefs.all(cache, hash) as string[]) g.releaseReferrer.run(now, t.run, ref);
          g.deleteWaits.run(cache, hash);
          g.deleteListing.run(cache, hash);
          g.deleteRealisations.run(cache, hash);
          urls.add(url);
          out.deleted.push(hash);
        }
        out.narUrls = [...urls];
        if (batch.length > 0) return out;
        const next = g.nextFree.get(t.run);
        if (typeof next !== "number") return drop.size > 0 ? out : undefined;
        return { ...out, retryInMs: Math.max(1, next + (t.lingerMs ?? 0) - now) };
      })
      .immediate();
  }

  async gcFinish(): Promise<void> {
    this.gc.finish.run();
    this.gc.finishUnreached.run();
  }

  async claimBlobs(blobs: readonly string[]): Promise<string[]> {
    const g = this.gc;
    return this.sqlite
      .transaction(() => {
        const now = Date.now();
        const claimed: string[] = [];
        for (const blob of new Set(blobs)) {
          if (g.referenced.get({ blob }) === 1) g.unclaim.run(blob);
          else {
            g.claim.run(blob, now);
            claimed.push(blob);
          }
        }
        return claimed;
      })
      .immediate();
  }

  async releaseBlobClaims(blobs: readonly string[]): Promise<void> {
    this.sqlite.transaction(() => {
      for (const b of blobs) this.gc.unclaim.run(b);
    })();
  }

  async blobClaimsBefore(time: number): Promise<string[]> {
    return this.gc.claimsBefore.all(time) as string[];
  }

  // --- the dashboard ---

  async recordActivity(batch: ActivityBatch): Promise<void> {
    const before = this.totalChanges();
    this.sqlite.transaction(() => {
      for (const p of batch.pushes)
        this.st.addPushes.run(p.cache, p.minute, p.tokenId ?? "", p.run ?? "", p.paths, p.bytes);
      for (const l of batch.lookups) this.st.addLookups.run(l.cache, l.hour, l.hits, l.misses);
      if (batch.prune) {
        const cutoff = Date.now() - ACTIVITY_KEPT_MS;
        this.st.prunePushes.run(cutoff);
        this.st.pruneLookups.run(cutoff);
      }
    })();
    this.quietChanges += this.totalChanges() - before;
  }

  async insertReport(r: NewReport): Promise<ReportRow> {
    const id = this.sqlite.transaction(() => {
      const id = this.st.insertReport.get({ ...r, ok: r.ok ? 1 : 0, createdAt: Date.now() }) as number;
      this.st.pruneReports.run({ cache: r.cache, branch: r.branch, keep: REPORTS_KEPT_PER_BRANCH });
      return id;
    })();
    const { targets: _, ...row } = (await this.getReport(r.cache, id)) as ReportRow;
    return row;
  }

  async listReports(
    cache: string,
    q: { branch?: string | null; before?: number; limit: number },
  ): Promise<ReportRow[]> {
    const before = q.before ?? Number.MAX_SAFE_INTEGER;
    const rows = (
      q.branch === undefined
        ? this.st.reportsOf.all(cache, before, q.limit)
        : this.st.reportsOfBranch.all(cache, q.branch, before, q.limit)
    ) as RawReport[];
    return rows.map(reportFromRow);
  }

  async latestReports(cache: string): Promise<ReportRow[]> {
    return (this.st.latestReports.all(cache) as RawReport[]).map(reportFromRow);
  }

  async getReport(cache: string, id: number): Promise<ReportRow | undefined> {
    const r = this.st.report.get(cache, id) as RawReport | undefined;
    return r && reportFromRow(r);
  }

  async reportsOfRuns(cache: string, runs: readonly string[]): Promise<ReportRow[]> {
    if (runs.length === 0) return [];
    return (this.st.reportsOfRuns.all(cache, JSON.stringify(runs)) as RawReport[]).map(reportFromRow);
  }

  async dashboardUsage(cache: string, since: number): Promise<DashboardUsage> {
    const lookups = this.st.lookupsSince.get(cache, since) as { hits: number; misses: number };
    return {
      pending: this.st.pendingCount.get(cache) as number,
      lastPushAt: (this.st.lastPushAt.get(cache) as number | null) ?? null,
      hits: lookups.hits,
      misses: lookups.misses,
    };
  }

  async recentPushes(cache: string, q: { before?: number; limit: number }): Promise<PushActivityRow[]> {
    const rows = this.st.recentPushes.all({
      cache,
      before: q.before ?? Number.MAX_SAFE_INTEGER,
      limit: q.limit,
    }) as RawPush[];
    return rows.map(pushFromRow);
  }

  async pathRecord(cache: string, hash: string): Promise<PathRecord> {
    const upstream = this.st.isUpstream.get(cache, hash) === 1;
    const r = this.st.narInfoRecord.get(cache, hash) as
      | {
          hash: string;
          store_path: string;
          url: string;
          text: string;
          visible: number;
          created_at: number;
          accessed_at: number;
        }
      | undefined;
    if (!r) return { upstream };
    const waits =
      r.visible === 1
        ? []
        : (this.st.waitsOf.all(cache, hash) as Array<{ hash: string; store_path: string | null }>);
    return {
      upstream,
      narinfo: {
        hash: r.hash,
        storePath: r.store_path,
        url: r.url,
        text: r.text,
        visible: r.visible === 1,
        createdAt: r.created_at,
        accessedAt: r.accessed_at,
        waitingFor: waits.map((w) => ({ hash: w.hash, storePath: w.store_path })),
      },
    };
  }

  async recordGcRun(run: GcRunRow): Promise<void> {
    this.st.putGcRun.run(run.cache, run.endedAt, run.deletedPaths, run.deletedBytes);
  }

  async lastGcRun(cache: string): Promise<GcRunRow | undefined> {
    const r = this.st.gcRun.get(cache) as
      | { cache: string; ended_at: number; deleted_paths: number; deleted_bytes: number }
      | undefined;
    return (
      r && {
        cache: r.cache,
        endedAt: r.ended_at,
        deletedPaths: r.deleted_paths,
        deletedBytes: r.deleted_bytes,
      }
    );
  }

  async pinsKeeping(cache: string, hash: string): Promise<string[]> {
    return this.st.pinsKeeping.all({ cache, hash }) as string[];
  }
}
