// The MetadataStore, written once over the database seam (db/): the same statements on SQLite and
// PostgreSQL, grouped by what they hold in queries/, and the few things each database does its own
// way in its engine (engine.ts). Opening either kind is open.ts's.
import type { SecretKey } from "../../nix/signing.js";
import { DbError } from "../errors.js";
import type { ActivityBatch, GcRunRow, NewReport } from "./dashboard-store.js";
import type { Db } from "./db/database.js";
import type { StoreEngine } from "./engine.js";
import { MAX_REFERENCES, tooManyReferencesMessage } from "./limits.js";
import * as caches from "./queries/caches.js";
import * as claims from "./queries/claims.js";
import * as dashboard from "./queries/dashboard.js";
import * as multipart from "./queries/multipart.js";
import * as nars from "./queries/nars.js";
import * as pins from "./queries/pins.js";
import * as realisations from "./queries/realisations.js";
import * as tokens from "./queries/tokens.js";
import type { RecordKind, RecordPage, RecordTypes } from "./records.js";
import type { MetadataStore } from "./store.js";
import type * as T from "./types.js";

/** Export and import of records (records.ts): each engine loads in bulk its own way. */
export interface RecordsIO {
  exportRecords<K extends RecordKind>(kind: K, after: string | null, limit: number): Promise<RecordPage<K>>;
  importRecords<K extends RecordKind>(kind: K, records: ReadonlyArray<RecordTypes[K]>): Promise<number>;
}

export interface SqlStoreOptions extends caches.CacheMemoOptions {}

export class SqlMetadataStore implements MetadataStore {
  readonly changes: { local(): number; external(): number };
  private readonly cacheRows: caches.CacheRows;
  private readonly keys = new Map<string, SecretKey>();

  constructor(
    readonly db: Db,
    private readonly engine: StoreEngine,
    private readonly records: RecordsIO,
    opts: SqlStoreOptions = {},
  ) {
    this.changes = db.changes;
    this.cacheRows = new caches.CacheRows(db, opts);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // --- caches ---
  async createCache(c: T.NewCache) {
    const row = await caches.createCache(this.db, c);
    this.cacheRows.forget(c.name);
    return row;
  }
  getCache(name: string) {
    return this.cacheRows.get(name);
  }
  listCaches() {
    return caches.listCaches(this.db);
  }
  async updateCache(name: string, change: Partial<Pick<T.CacheRow, "isPublic" | "compression">>) {
    await caches.updateCache(this.db, name, change);
    this.cacheRows.forget(name);
  }
  /** Held in memory after first use. */
  async signingKey(cache: string) {
    let k = this.keys.get(cache);
    if (!k) {
      k = await caches.signingKey(this.db, cache);
      this.keys.set(cache, k);
    }
    return k;
  }
  clientKeys(cache: string) {
    return caches.clientKeys(this.db, cache);
  }
  addClientKey(cache: string, name: string, publicKeyB64: string) {
    return caches.addClientKey(this.db, cache, name, publicKeyB64);
  }
  async setCacheLimits(name: string, limits: { retentionMs?: number | null; quotaBytes?: number | null }) {
    await caches.setCacheLimits(this.db, name, limits);
    this.cacheRows.forget(name);
  }
  cacheUsage(cache: string) {
    return caches.cacheUsage(this.db, cache);
  }
  secret(name: string) {
    return caches.secret(this.db, name);
  }

  // --- NARs and narinfos ---
  recordNar(nar: Omit<T.ReceivedNar, "visible">) {
    return this.engine.recordNar(nar);
  }
  getNar(cache: string, url: string) {
    return nars.getNar(this.db, cache, url);
  }
  visibleNar(cache: string, url: string) {
    return nars.visibleNar(this.db, cache, url);
  }
  /** Refuses (DbError tooLarge) a narinfo naming more than MAX_REFERENCES references. */
  async commitNarInfo(n: T.NarInfoCommit) {
    const count = new Set(n.references).size;
    if (count > MAX_REFERENCES)
      throw new DbError("tooLarge", tooManyReferencesMessage(`the narinfo of ${n.hash}`, count));
    return this.engine.commitNarInfo(n);
  }
  getNarInfo(cache: string, hash: string) {
    return this.engine.getNarInfo(cache, hash);
  }
  missingNarInfos(cache: string, hashes: readonly string[]) {
    return this.engine.missingNarInfos(cache, hashes);
  }
  markUpstream(cache: string, hashes: readonly string[]) {
    return this.engine.markUpstream(cache, hashes);
  }
  pendingReferences(cache: string | undefined, limit: number) {
    return nars.pendingReferences(this.db, cache, limit);
  }
  pendingCount(cache: string) {
    return nars.pendingCount(this.db, cache);
  }
  narInfoBlobs() {
    return nars.narInfoBlobs(this.db);
  }
  unnamedBlobs(blobs: readonly string[]) {
    return nars.unnamedBlobs(this.db, blobs);
  }
  blobReferenced(blob: string) {
    return nars.blobReferenced(this.db, blob);
  }
  invisibleNarsBefore(time: number) {
    return nars.invisibleNarsBefore(this.db, time);
  }
  deleteInvisibleNar(cache: string, url: string, before: number) {
    return nars.deleteInvisibleNar(this.db, cache, url, before);
  }
  expirePending(before: number, limit: number) {
    return nars.expirePending(this.db, before, limit);
  }
  orphanNarUrls(cache: string, limit: number) {
    return nars.orphanNarUrls(this.db, cache, limit);
  }

  // --- realisations and side files ---
  putRealisation(r: T.RealisationCommit) {
    return realisations.putRealisation(this.db, r);
  }
  getRealisation(cache: string, kind: T.RealisationKind, key: string) {
    return realisations.getRealisation(this.db, cache, kind, key);
  }
  realisationsOf(cache: string, hash: string) {
    return realisations.realisationsOf(this.db, cache, hash);
  }
  putSideFile(cache: string, kind: T.SideFileKind, name: string, f: T.NewSideFile) {
    return realisations.putSideFile(this.db, cache, kind, name, f);
  }
  getSideFile(cache: string, kind: T.SideFileKind, name: string) {
    return realisations.getSideFile(this.db, cache, kind, name);
  }

  // --- tokens, accounts, trust rules ---
  insertToken(t: T.NewToken) {
    return tokens.insertToken(this.db, t);
  }
  insertOidcToken(
    t: T.NewToken & { kind: "oidc"; oidc: T.OidcOrigin & { identity: string } },
    o: { perMinute: number; purgeBefore: number },
  ) {
    return tokens.insertOidcToken(this.db, t, o);
  }
  revokeOidcTokens(f: { issuer?: string; subject?: string; rule?: string }) {
    return tokens.revokeOidcTokens(this.db, f);
  }
  tokenByHash(hash: string) {
    return tokens.tokenByHash(this.db, hash);
  }
  tokenById(id: string) {
    return tokens.tokenById(this.db, id);
  }
  revokeToken(id: string) {
    return tokens.revokeToken(this.db, id);
  }
  listTokens() {
    return tokens.listTokens(this.db);
  }
  tokensOfAccount(account: string) {
    return tokens.tokensOfAccount(this.db, account);
  }
  account(slug: string) {
    return tokens.account(this.db, slug);
  }
  ensureAccount(slug: string, opts?: { email?: string; fullname?: string }) {
    return tokens.ensureAccount(this.db, slug, opts);
  }
  addTrustRule(rule: T.NewTrustRule) {
    return tokens.addTrustRule(this.db, rule);
  }
  trustRules(filter?: { cache?: string; issuer?: string }) {
    return tokens.trustRules(this.db, filter);
  }
  removeTrustRule(cache: string, id: string) {
    return tokens.removeTrustRule(this.db, cache, id);
  }

  // --- multipart uploads ---
  createMultipart(u: T.NewMultipart) {
    return multipart.createMultipart(this.db, u);
  }
  openMultipartsOf(tokenId: string) {
    return multipart.openMultipartsOf(this.db, tokenId);
  }
  getMultipart(narId: string) {
    return multipart.getMultipart(this.db, narId);
  }
  openMultipartsBefore(time: number) {
    return multipart.openMultipartsBefore(this.db, time);
  }
  transitionMultipart(narId: string, from: T.MultipartState, to: T.MultipartState) {
    return multipart.transitionMultipart(this.db, narId, from, to);
  }
  putPart(narId: string, part: T.PartRow) {
    return multipart.putPart(this.db, narId, part);
  }
  parts(narId: string) {
    return multipart.parts(this.db, narId);
  }
  deleteParts(narId: string) {
    return multipart.deleteParts(this.db, narId);
  }

  // --- records ---
  exportRecords<K extends RecordKind>(kind: K, after: string | null, limit: number) {
    return this.records.exportRecords(kind, after, limit);
  }
  importRecords<K extends RecordKind>(kind: K, records: ReadonlyArray<RecordTypes[K]>) {
    return this.records.importRecords(kind, records);
  }
  dependentNarInfos(cache: string, narUrls: readonly string[]) {
    return nars.dependentNarInfos(this.db, cache, narUrls);
  }

  // --- access times, pins, GC ---
  recordAccess(accesses: ReadonlyArray<{ cache: string; hash: string; at: number }>) {
    return this.engine.recordAccess(accesses);
  }
  addPin(p: T.NewPin) {
    return pins.addPin(this.db, p);
  }
  listPins(cache: string, q: { after?: string; limit: number; revisions: number; artifacts?: boolean }) {
    return pins.listPins(this.db, cache, q);
  }
  getPin(cache: string, name: string, q: { before?: string; limit: number }) {
    return pins.getPin(this.db, cache, name, q);
  }
  removePin(cache: string, name: string) {
    return pins.removePin(this.db, cache, name);
  }
  pinsKeeping(cache: string, hash: string) {
    return pins.pinsKeeping(this.db, cache, hash);
  }
  acquireLease(name: string, holder: string, ttlMs: number, gone?: string) {
    return this.engine.acquireLease(name, holder, ttlMs, gone);
  }
  releaseLease(name: string, holder: string) {
    return claims.releaseLease(this.db, name, holder);
  }
  leaseHolder(name: string) {
    return claims.leaseHolder(this.db, name);
  }
  gcMark(cache: string, t: T.GcThresholds & { dryRun?: boolean }) {
    return this.engine.gcMark(cache, t);
  }
  gcPlan(cache: string, t: T.GcThresholds & { bytes?: boolean }) {
    return this.engine.gcPlan(cache, t);
  }
  gcDeleteBatch(cache: string, t: Parameters<StoreEngine["gcDeleteBatch"]>[1]) {
    return this.engine.gcDeleteBatch(cache, t);
  }
  gcFinish() {
    return this.engine.gcFinish();
  }
  gcDropLogs(cache: string, before: number, limit: number) {
    return realisations.dropPathlessLogs(this.db, cache, before, limit);
  }
  claimBlobs(blobs: readonly string[], holder: string, takeOver?: readonly string[]) {
    return this.engine.claimBlobs(blobs, holder, takeOver);
  }
  renewBlobClaims(blobs: readonly string[], holder: string) {
    return claims.renewBlobClaims(this.db, blobs, holder);
  }
  releaseBlobClaims(blobs: readonly string[], holder: string) {
    return claims.releaseBlobClaims(this.db, blobs, holder);
  }
  blobClaims(limit: number) {
    return claims.blobClaims(this.db, limit);
  }

  // --- the dashboard ---
  recordActivity(batch: ActivityBatch) {
    return dashboard.recordActivity(this.db, batch);
  }
  insertReport(r: NewReport) {
    return dashboard.insertReport(this.db, r);
  }
  listReports(cache: string, q: { branch?: string | null; before?: number; limit: number }) {
    return dashboard.listReports(this.db, cache, q);
  }
  latestReports(cache: string, q: { limit: number; before?: number; search?: string }) {
    return dashboard.latestReports(this.db, cache, q);
  }
  getReport(cache: string, id: number) {
    return dashboard.getReport(this.db, cache, id);
  }
  reportsOfRuns(cache: string, runs: readonly string[]) {
    return dashboard.reportsOfRuns(this.db, cache, runs);
  }
  dashboardUsage(cache: string, since: number) {
    return dashboard.dashboardUsage(this.db, cache, since);
  }
  recentPushes(cache: string, q: { before?: number; limit: number }) {
    return dashboard.recentPushes(this.db, cache, q);
  }
  pathRecord(cache: string, hash: string) {
    return dashboard.pathRecord(this.db, cache, hash);
  }
  recordGcRun(run: GcRunRow) {
    return dashboard.recordGcRun(this.db, run);
  }
  lastGcRun(cache: string) {
    return dashboard.lastGcRun(this.db, cache);
  }
}
