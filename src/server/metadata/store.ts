// The server's metadata seam: caches and their keys, received NARs, narinfos, side files, tokens,
// accounts and multipart uploads. Asynchronous because a networked database (PostgreSQL) is; the
// SQLite implementation (sqlite/) answers from the same process; the PostgreSQL one (postgres/)
// is shared by replicas. Routes, ingest and admin code use only this interface (its dashboard part
// is DashboardStore, dashboard-store.ts).
import type { SecretKey } from "../../nix/signing.js";
import type { DashboardStore } from "./dashboard-store.js";
import type { RecordKind, RecordPage, RecordTypes } from "./records.js";
import type {
  AccountRow,
  CacheRow,
  GcBatch,
  GcMarkResult,
  GcThresholds,
  MultipartState,
  MultipartUpload,
  NarInfoBlob,
  NarInfoCommit,
  NewCache,
  NewMultipart,
  NewPin,
  NewSideFile,
  NewToken,
  NewTrustRule,
  OidcOrigin,
  PartRow,
  PinRow,
  RealisationCommit,
  RealisationKind,
  ReceivedNar,
  SideFile,
  SideFileKind,
  StoredRealisation,
  TokenRow,
  TrustRuleRow,
} from "./types.js";

export interface MetadataStore extends DashboardStore {
  close(): Promise<void>;

  // --- caches ---
  /** Creates a cache with a fresh managed signing key; DbError (conflict) when the name is taken. */
  createCache(c: NewCache): Promise<CacheRow>;
  /** A cache by name; may be up to a second stale for changes made by other processes. */
  getCache(name: string): Promise<CacheRow | undefined>;
  /**
   * Every cache with its count of visible narinfos (what users are served; pendingCount has the
   * rest) and the bytes its NARs take in storage (cacheUsage).
   */
  listCaches(): Promise<Array<CacheRow & { narinfos: number; bytes: number }>>;
  updateCache(name: string, change: Partial<Pick<CacheRow, "isPublic" | "compression">>): Promise<void>;
  /** The cache's managed secret key. Never leaves the server. */
  signingKey(cache: string): Promise<SecretKey>;
  /** Public keys of clients that sign for the cache, in Nix's `name:base64` form. */
  clientKeys(cache: string): Promise<string[]>;
  /** Registers a client public key (base64 of 32 bytes); false when it was already there. */
  addClientKey(cache: string, name: string, publicKeyB64: string): Promise<boolean>;

  // --- NARs and narinfos ---
  //
  // Closure-complete visibility (Cachix's rule): a narinfo is served only once every path it
  // references is, here or upstream (markUpstream). One committed before its references is stored
  // pending: getNarInfo answers undefined and missingNarInfos lists it, until the commit (or the
  // upstream mark) that completes its closure makes it and every dependent waiting on it visible,
  // transitively, in that same transaction. Visibility never goes back, and a served narinfo
  // never names a path that is not present: re-committing a visible narinfo replaces its text
  // (and keeps it visible: its dependents rely on it) only when all its references are present;
  // otherwise the commit is refused (ReferencesMissingError, code conflict) and nothing changes.
  // A pending narinfo holds its NAR like a visible one: NAR records, narInfoBlobs, unnamedBlobs
  // and the sweep see it.

  /**
   * Records a received NAR (invisible). False when the URL already serves a different blob.
   * Refuses (DbError tooLarge) a NAR that would take the cache over its quota, and (DbError
   * unavailable: retry) one whose blob the GC is deleting from storage right now (claimBlobs).
   */
  recordNar(nar: Omit<ReceivedNar, "visible">): Promise<boolean>;
  getNar(cache: string, url: string): Promise<ReceivedNar | undefined>;
  /**
   * The blob behind a NAR URL, once a narinfo naming it has been committed (that narinfo may still
   * be pending: only narinfo lookups follow the closure rule, and a NAR URL is learnt from one).
   */
  visibleNar(cache: string, url: string): Promise<{ blob: string; fileSize: number } | undefined>;
  /**
   * Stores the narinfo (its references too, for the GC; its access time is now) and makes the NAR
   * at `url` visible, atomically; the narinfo itself becomes
   * visible when all its `references` are (and then releases the narinfos waiting on it).
   * `missing`: the references (hash parts) neither visible here nor marked upstream. A narinfo
   * that is visible already is refused (ReferencesMissingError) when any are missing, and one
   * naming more than MAX_REFERENCES references (DbError tooLarge) always.
   */
  commitNarInfo(n: NarInfoCommit): Promise<{ visible: boolean; missing: string[] }>;
  /** A visible narinfo's text; undefined when there is none or it is pending. */
  getNarInfo(cache: string, hash: string): Promise<string | undefined>;
  /** The hashes (of those given, in order) that have no visible narinfo in the cache (pending count). */
  missingNarInfos(cache: string, hashes: readonly string[]): Promise<string[]>;
  /**
   * Records that these paths are served by an upstream cache (cache.nixos.org …): they count as
   * present for closure purposes (they are not served here). Returns the hashes of the narinfos
   * this made visible.
   */
  markUpstream(cache: string, hashes: readonly string[]): Promise<string[]>;
  /**
   * Missing references of pending narinfos that have no narinfo here at all (neither visible nor
   * pending), distinct, at most `limit`: what a resolver should look for upstream. All caches when
   * `cache` is undefined.
   */
  pendingReferences(
    cache: string | undefined,
    limit: number,
  ): Promise<Array<{ cache: string; hash: string }>>;
  /** How many narinfos of the cache wait for their closure. */
  pendingCount(cache: string): Promise<number>;
  /** Every narinfo (pending ones too) with its blob, and every blob any NAR names: for checks and GC. */
  narInfoBlobs(): Promise<NarInfoBlob[]>;
  /** Of these blobs, those no NAR record or side file names (the orphan sweep's check, a page at a time). */
  unnamedBlobs(blobs: readonly string[]): Promise<string[]>;
  /** Whether any NAR record or side file names the blob. */
  blobReferenced(blob: string): Promise<boolean>;
  /** NARs received before `time` that no narinfo has been committed for (abandoned or refused uploads). */
  invisibleNarsBefore(time: number): Promise<Array<{ cache: string; url: string; blob: string }>>;
  /** Drops such a record, unless it became visible or was received again since; true when dropped. */
  deleteInvisibleNar(cache: string, url: string, before: number): Promise<boolean>;
  /**
   * Deletes up to `limit` pending narinfos (of any cache) last committed before `before`, oldest
   * first, with their references, waits, listings and realisations, their derivations' build logs
   * and their NAR records when nothing else names them; returns how many, and the blobs of what
   * went (for deletion from storage when nothing else names them). The sweep's expiry of pending
   * narinfos whose closure never came.
   */
  expirePending(
    before: number,
    limit: number,
  ): Promise<{ paths: number; blobs: Array<{ blob: string; size: number }> }>;
  /**
   * Visible NAR records of the cache that no narinfo names any more (left by a GC that died before
   * dropping them, or by a narinfo re-pushed with another URL), at most `limit`: the GC drops them.
   */
  orphanNarUrls(cache: string, limit: number): Promise<string[]>;

  // --- content-addressed outputs: realisations and build trace entries ---
  //
  // A realisation names the output path a content-addressed derivation's output was built to. It
  // is served only while that path counts as present here (a visible narinfo, or marked upstream:
  // the closure rule of narinfos); one stored before is pending, and becomes visible in the
  // transaction that makes the path present. The GC deletes the realisations of the narinfos it
  // deletes, in the same transaction; their bytes count in cacheUsage.

  /**
   * Stores (or replaces) a realisation; its visibility is decided again from its output path.
   * Refuses (DbError tooLarge) one that would take the cache over its quota.
   */
  putRealisation(r: RealisationCommit): Promise<{ visible: boolean }>;
  /** A visible realisation's text; undefined when there is none or it is pending. */
  getRealisation(cache: string, kind: RealisationKind, key: string): Promise<string | undefined>;
  /** The realisations (visible and pending) naming the output path `hash`, by kind and key. */
  realisationsOf(cache: string, hash: string): Promise<StoredRealisation[]>;

  // --- side files (listings, build logs) ---
  //
  // Their bytes count in cacheUsage. A build log goes with the narinfos naming its derivation
  // (`Deriver:`): the GC deletes it with the last of them (and one no narinfo names once older
  // than the cache's retention).

  /**
   * Stores (or replaces) a side file. Refuses (DbError tooLarge) one that would take the cache over
   * its quota (a replaced file's bytes count as freed), and (DbError unavailable: retry) one whose
   * blob the GC is deleting from storage right now.
   */
  putSideFile(cache: string, kind: SideFileKind, name: string, f: NewSideFile): Promise<void>;
  getSideFile(cache: string, kind: SideFileKind, name: string): Promise<SideFile | undefined>;

  // --- tokens (stored as SHA-256 hashes only) and accounts ---
  insertToken(t: NewToken): Promise<TokenRow>;
  /**
   * Stores a token the OIDC exchange minted, unless its identity token (`oidc.identity`) was
   * exchanged before, or its subject had `perMinute` exchanges in the last minute: each checked
   * with the insert, atomically across processes and replicas. Once it is stored, deletes expired
   * oidc tokens whose expiry is before `purgeBefore` (a refusal changes nothing).
   */
  insertOidcToken(
    t: NewToken & { kind: "oidc"; oidc: OidcOrigin & { identity: string } },
    o: { perMinute: number; purgeBefore: number },
  ): Promise<OidcMint>;
  /** Revokes the working oidc tokens minted for a subject (of an issuer), under a trust rule, or both. */
  revokeOidcTokens(f: { issuer?: string; subject?: string; rule?: string }): Promise<TokenRow[]>;
  tokenByHash(hash: string): Promise<TokenRow | undefined>;
  tokenById(id: string): Promise<TokenRow | undefined>;
  /** Marks a token revoked; false when it was already revoked. */
  revokeToken(id: string): Promise<boolean>;
  listTokens(): Promise<TokenRow[]>;
  /** The personal tokens of an account and the cache tokens of the caches it owns. */
  tokensOfAccount(account: string): Promise<TokenRow[]>;
  account(slug: string): Promise<AccountRow | undefined>;
  /** The account named `slug`, created when absent. */
  ensureAccount(slug: string, opts?: { email?: string; fullname?: string }): Promise<AccountRow>;

  // --- multipart uploads (the parts' bytes are in storage; their records are here) ---
  /**
   * Opens an upload; `tokenId` is the token that opened it (for the per-token limit). `narId` and
   * `uploadId` are generated when not given (storage that runs its own multipart uploads, S3,
   * names them first: the upload id is then the object store's). With `maxOpen`, refused (DbError
   * tooLarge) when the token has that many open already: counted and inserted atomically, across
   * processes and replicas.
   */
  createMultipart(u: NewMultipart): Promise<MultipartUpload>;
  /** How many uploads opened by the token are still open or completing. */
  openMultipartsOf(tokenId: string): Promise<number>;
  getMultipart(narId: string): Promise<MultipartUpload | undefined>;
  /** NAR ids of uploads still open (or completing) created before `time` (ms since the epoch). */
  openMultipartsBefore(time: number): Promise<string[]>;
  /**
   * Moves an upload from state `from` to `to`, atomically across processes (compare and set):
   * true for the one caller that made the change, false for every other (it was not in `from`).
   */
  transitionMultipart(narId: string, from: MultipartState, to: MultipartState): Promise<boolean>;
  putPart(narId: string, part: PartRow): Promise<void>;
  parts(narId: string): Promise<PartRow[]>;
  deleteParts(narId: string): Promise<void>;

  /** A random server secret by name, created on first use (e.g. the key that signs part URLs). */
  secret(name: string): Promise<Buffer>;

  // --- records, for copying a server's state and bulk loads (records.ts) ---
  /** One page of records of a kind, in key order, after the cursor `after` (null: from the start). */
  exportRecords<K extends RecordKind>(kind: K, after: string | null, limit: number): Promise<RecordPage<K>>;
  /** Writes the records not there yet (same key), keeping those that are; returns how many were new. */
  importRecords<K extends RecordKind>(kind: K, records: ReadonlyArray<RecordTypes[K]>): Promise<number>;
  /**
   * The narinfos (visible or pending) naming one of the NAR URLs `narUrls`, and every narinfo whose
   * closure holds one of those, following the references up; `root`: the hash of one it depends on
   * that names such a URL (itself for those). What a copy leaves out when those NARs' blobs are bad.
   */
  dependentNarInfos(
    cache: string,
    narUrls: readonly string[],
  ): Promise<Array<{ hash: string; storePath: string; url: string; root: string }>>;

  /**
   * Synchronous, cheap change counters for caches kept in front of the store (the narinfo cache):
   * `local` moves on every write through this store object; `external` on writes by other
   * processes, and may cost a query (call it sparingly). SQLite reads its data_version; PostgreSQL
   * counts the notifications of other store objects (and moves on every call while it cannot).
   */
  readonly changes: { local(): number; external(): number };

  // --- OIDC trust rules (which identity tokens the exchange gives which permission on a cache) ---
  /** Stores a rule (validated by the caller) under a fresh id; DbError notFound for an unknown cache. */
  addTrustRule(rule: NewTrustRule): Promise<TrustRuleRow>;
  /** The rules of one cache, or of one issuer, or all; oldest first. */
  trustRules(filter?: { cache?: string; issuer?: string }): Promise<TrustRuleRow[]>;
  /** Deletes the cache's rule `id`; false when the cache has no such rule. */
  removeTrustRule(cache: string, id: string): Promise<boolean>;

  // --- retention, quotas and access times ---

  /**
   * Sets how long the cache keeps a narinfo after its last push or fetch (null: forever) and the
   * most its NARs may take in storage (null: no limit); an undefined field is left as it is. A new
   * retention drops the GC's marks in the cache (they were made under the old one); a first or a
   * shorter one moves stored access times later (`accessShift` in limits.ts).
   */
  setCacheLimits(
    name: string,
    limits: { retentionMs?: number | null; quotaBytes?: number | null },
  ): Promise<void>;
  /**
   * Bytes the cache's NAR records take in storage (their file sizes), its realisations (their
   * JSON) and its side files (listings, build logs): a maintained counter, no scan.
   */
  cacheUsage(cache: string): Promise<number>;
  /**
   * Stores last-access times of narinfos, for the GC: a given time replaces the stored one only when
   * it is later by more than the cache's retention / ACCESS_SLACK_DIVISOR, and never in a cache
   * kept forever (limits.ts); narinfos that do not exist are skipped. Reads are batched in memory
   * before they come here.
   */
  recordAccess(accesses: ReadonlyArray<{ cache: string; hash: string; at: number }>): Promise<void>;

  // --- pins ---
  //
  // A pin names store paths (revisions, newest first) whose closures the GC keeps. Adding a path
  // under a pin's name makes it the newest revision; the pin's `keep` then drops older ones.

  /**
   * Adds a revision; DbError notFound unless the store path has a visible narinfo in the cache,
   * DbError invalid for more than PIN_ARTIFACTS artifacts (or a longer one than PIN_ARTIFACT_LENGTH).
   * The new revision takes the pin's artifacts: older revisions keep none. Returns the pin with its
   * new revision. Takes as long for a pin with many revisions as for a new one.
   */
  addPin(p: NewPin): Promise<PinRow>;
  /**
   * A page of the cache's pins by name, after `after`, each with its newest `revisions` (without
   * their artifacts when `artifacts` is false) and its revision count.
   */
  listPins(
    cache: string,
    q: { after?: string; limit: number; revisions: number; artifacts?: boolean },
  ): Promise<PinRow[]>;
  /** One pin with a page of its revisions, newest first: with `before` (a hash), those older than it. */
  getPin(cache: string, name: string, q: { before?: string; limit: number }): Promise<PinRow | undefined>;
  /** Drops a pin with all its revisions; false when there was none. */
  removePin(cache: string, name: string): Promise<boolean>;

  // --- garbage collection (gc.ts runs it; these are its steps) ---

  /**
   * Takes the lease `name` for `ttlMs` when it is free, expired, held by `holder` already
   * (renewal), or held by `gone` (a holder the caller knows to be gone); false when another holder
   * has it. One GC at a time across processes and replicas.
   */
  acquireLease(name: string, holder: string, ttlMs: number, gone?: string): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** Who holds the lease `name` (expired or not), if anyone. */
  leaseHolder(name: string): Promise<string | undefined>;
  /**
   * Marks the cache's narinfos outside the closures of its roots (pins, and narinfos pushed or
   * fetched at or after `cutoff`) and unmarks those inside; with `dryRun` only counts. Revisions
   * of pins kept for some days that are older are dropped first. The closure is computed in the
   * database (a recursive query over the references), never in memory, from the candidates'
   * side. The unreached set is kept under `t.run` for gcPlan, until gcFinish.
   */
  gcMark(cache: string, t: GcThresholds & { dryRun?: boolean }): Promise<GcMarkResult>;
  /**
   * Selects what this run deletes: of the narinfos gcMark left unreached under the same `t.run`,
   * those marked before `markedBefore`, not roots since, and not in the closure of one that stays
   * (nothing else references them, or the mark would have reached them). Returns how many, and with `bytes` how many bytes of
   * storage their deletion frees (blobs nothing else names; a dry run's estimate, 0 without it: a
   * real run counts what it deletes).
   */
  gcPlan(cache: string, t: GcThresholds & { bytes?: boolean }): Promise<{ paths: number; bytes: number }>;
  /**
   * Deletes, in one transaction serialised with narinfo commits, up to `limit` of the planned
   * narinfos that no remaining narinfo references (dependents go before their references, so no
   * closure is ever broken), re-checking each: one pushed, fetched (per the store or `protect`,
   * the accesses this process has not stored yet), pinned or referenced since stays, and so does
   * its closure. Drops their references, waits and listings. A narinfo becomes ready `lingerMs`
   * after its last referrer went; the NAR records named by `dropNars` (URLs of narinfos deleted
   * at least `lingerMs` ago, from earlier batches' `narUrls`) go in the same transaction, those
   * no narinfo names any more: what another process still serves from memory stays whole.
   * Undefined when nothing planned is left and there was nothing to drop; `retryInMs` when
   * nothing planned is ready yet.
   */
  gcDeleteBatch(
    cache: string,
    t: GcThresholds & {
      limit: number;
      protect?: (hashes: readonly string[]) => ReadonlySet<string>;
      dropNars?: readonly string[];
      /** Of `dropNars`, a record received (again) after this time stays. */
      dropNarsSince?: number;
    },
  ): Promise<GcBatch | undefined>;
  /** Drops the GC's scratch rows, of every run (one runs at a time, under the lease; others died). */
  gcFinish(): Promise<void>;
  /**
   * Deletes up to `limit` build logs of the cache stored before `before` whose derivation no
   * narinfo of the cache names (logs of failed builds, of paths never pushed); returns their blobs,
   * for deletion from storage when nothing else names them.
   */
  gcDropLogs(cache: string, before: number, limit: number): Promise<Array<{ blob: string; size: number }>>;
  /**
   * Claims for `holder`, for deletion from storage, the blobs no NAR record or side file names and
   * no other holder claimed within BLOB_CLAIM_TTL_MS (limits.ts), but for holders in `takeOver`
   * (known gone); returns those claimed. While a claim is fresh, recordNar and putSideFile refuse
   * the blob. Claims are dated by the database's clock on PostgreSQL.
   */
  claimBlobs(blobs: readonly string[], holder: string, takeOver?: readonly string[]): Promise<string[]>;
  /**
   * Dates the holder's claims on these blobs anew; returns the blobs it still holds (a stale claim
   * is not renewed: an upload may have named the blob meanwhile).
   */
  renewBlobClaims(blobs: readonly string[], holder: string): Promise<string[]>;
  /** Drops the holder's claims on these blobs. */
  releaseBlobClaims(blobs: readonly string[], holder: string): Promise<void>;
  /**
   * Claims, oldest first, at most `limit`, with their holders; `stale`: not renewed within
   * BLOB_CLAIM_TTL_MS (its holder died or stalled, and the blob is free to claim again).
   */
  blobClaims(limit: number): Promise<Array<{ blob: string; holder: string; stale: boolean }>>;
}

/** What insertOidcToken did: stored the token, or refused it (and why). */
export type OidcMint =
  | { row: TokenRow }
  | { refused: "replayed"; tokenId: string; at: number }
  | { refused: "rateLimited"; retryAfterMs: number };

export {
  ACTIVITY_KEPT_MS,
  BRANCHES_KEPT_PER_CACHE,
  REPORTS_KEPT_PER_BRANCH,
} from "./dashboard-store.js";
