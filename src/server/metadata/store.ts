// The server's metadata seam: caches and their keys, received NARs, narinfos, side files, tokens,
// accounts and multipart uploads. Asynchronous because a networked database (PostgreSQL) is; the
// SQLite implementation (sqlite/) answers from the same process. Routes, ingest and admin code
// use only this interface, so another implementation needs no change there.
import type { SecretKey } from "../../nix/signing.js";
import type {
  AccountRow,
  CacheRow,
  MultipartState,
  MultipartUpload,
  NarInfoBlob,
  NewCache,
  NewMultipart,
  NewToken,
  PartRow,
  ReceivedNar,
  SideFile,
  SideFileKind,
  TokenRow,
} from "./types.js";

export interface MetadataStore {
  close(): Promise<void>;

  // --- caches ---
  /** Creates a cache with a fresh managed signing key; DbError (conflict) when the name is taken. */
  createCache(c: NewCache): Promise<CacheRow>;
  /** A cache by name; may be up to a second stale for changes made by other processes. */
  getCache(name: string): Promise<CacheRow | undefined>;
  listCaches(): Promise<Array<CacheRow & { narinfos: number }>>;
  updateCache(name: string, change: Partial<Pick<CacheRow, "isPublic" | "compression">>): Promise<void>;
  /** The cache's managed secret key. Never leaves the server. */
  signingKey(cache: string): Promise<SecretKey>;
  /** Public keys of clients that sign for the cache, in Nix's `name:base64` form. */
  clientKeys(cache: string): Promise<string[]>;
  /** Registers a client public key (base64 of 32 bytes); false when it was already there. */
  addClientKey(cache: string, name: string, publicKeyB64: string): Promise<boolean>;

  // --- NARs and narinfos ---
  /** Records a received NAR (invisible). False when the URL already serves a different blob. */
  recordNar(nar: Omit<ReceivedNar, "visible">): Promise<boolean>;
  getNar(cache: string, url: string): Promise<ReceivedNar | undefined>;
  /** The blob behind a NAR URL, only once a narinfo has made it visible. */
  visibleNar(cache: string, url: string): Promise<{ blob: string; fileSize: number } | undefined>;
  /** Makes the NAR at `url` visible and stores the narinfo, atomically. */
  commitNarInfo(n: {
    cache: string;
    hash: string;
    storePath: string;
    url: string;
    text: string;
  }): Promise<void>;
  getNarInfo(cache: string, hash: string): Promise<string | undefined>;
  /** The hashes (of those given) that have no narinfo in the cache. */
  missingNarInfos(cache: string, hashes: readonly string[]): Promise<string[]>;
  /** Every narinfo with its blob, and every blob any NAR names: for consistency checks and GC. */
  narInfoBlobs(): Promise<NarInfoBlob[]>;
  allBlobs(): Promise<string[]>;
  /** Whether any NAR record or side file names the blob. */
  blobReferenced(blob: string): Promise<boolean>;
  /** NARs received before `time` that no narinfo has made visible (abandoned or refused uploads). */
  invisibleNarsBefore(time: number): Promise<Array<{ cache: string; url: string; blob: string }>>;
  /** Drops such a record, unless it became visible or was received again since; true when dropped. */
  deleteInvisibleNar(cache: string, url: string, before: number): Promise<boolean>;

  // --- side files ---
  putSideFile(cache: string, kind: SideFileKind, name: string, f: SideFile): Promise<void>;
  getSideFile(cache: string, kind: SideFileKind, name: string): Promise<SideFile | undefined>;

  // --- tokens (stored as SHA-256 hashes only) and accounts ---
  insertToken(t: NewToken): Promise<TokenRow>;
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
   * names them first: the upload id is then the object store's).
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

  /**
   * Synchronous, cheap change counters for caches kept in front of the store (the narinfo cache):
   * `local` moves on every write through this store object; `external` on writes by other
   * processes, and may cost a query (call it sparingly).
   */
  readonly changes: { local(): number; external(): number };
}
