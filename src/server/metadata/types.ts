// The records of the server's metadata, as every MetadataStore implementation hands them out.

export type Permission = "read" | "write" | "admin";
export const PERMISSIONS: readonly Permission[] = ["read", "write", "admin"];
const RANK: Record<Permission, number> = { read: 1, write: 2, admin: 3 };

/** Whether a granted permission covers the one needed (admin ⊇ write ⊇ read). */
export function permits(granted: Permission, needed: Permission): boolean {
  return RANK[granted] >= RANK[needed];
}

export type CachixCompression = "XZ" | "ZSTD";

export interface CacheRow {
  name: string;
  isPublic: boolean;
  priority: number;
  /** The managed signing key's public half, `name:base64`. */
  publicKey: string;
  createdAt: number;
  /** The account whose personal tokens administer the cache; null for caches made offline. */
  owner: string | null;
  /** Whether the server signs narinfos with the cache's own key (Cachix's "managed" caches). */
  managed: boolean;
  /** The Cachix API's preferred compression for this cache. */
  compression: CachixCompression;
  /** How long a narinfo is kept after its last push or fetch, in ms; null keeps everything forever. */
  retentionMs: number | null;
  /** The most the cache's NARs may take in storage, in bytes; null for no limit. */
  quotaBytes: number | null;
}

export interface NewCache {
  name: string;
  isPublic: boolean;
  priority: number;
  keyName?: string;
  owner?: string | null;
  managed?: boolean;
}

/** A NAR received for a URL of a cache; invisible until a narinfo that names it commits. */
export interface ReceivedNar {
  cache: string;
  url: string;
  /** The blob's name in storage: the SHA-256 (hex) of the stored file. */
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
  /**
   * `cache` tokens hold `perm` on `cache`; `personal` tokens act for `account` (cache is "");
   * `oidc` tokens (minted by the OIDC exchange) hold `grants` (cache is "", perm the highest grant).
   */
  kind: "cache" | "personal" | "oidc";
  account: string | null;
  /** `oidc` tokens: the permission per cache; null for the other kinds. */
  grants: CacheGrants | null;
  /** `oidc` tokens: whose identity token it was exchanged for, under which trust rules (ids). */
  oidc: OidcOrigin | null;
}

/** What an `oidc` token was minted for: `identity` (a hash) names the identity token exchanged. */
export type OidcOrigin = { issuer: string; subject: string; rules: string[]; identity?: string };

/** What the trust rules can grant on a cache (never admin). */
export type GrantPermission = Exclude<Permission, "admin">;

/** The permission an `oidc` token holds per cache name. */
export type CacheGrants = Readonly<Record<string, GrantPermission>>;

/**
 * What a token is for: one cache with a permission, (personal) everything its account owns, or
 * (oidc) several caches with a permission each.
 */
export type TokenGrant = { expiresAt: number | null; description?: string } & (
  | { kind: "cache"; cache: string; perm: Permission }
  | { kind: "personal"; account: string }
  | { kind: "oidc"; grants: CacheGrants; oidc?: OidcOrigin }
);

/** What is stored of a new token: its hash, never its text. */
export type NewToken = TokenGrant & { hash: string; id: string };

export interface AccountRow {
  id: number;
  slug: string;
  email: string | null;
  fullname: string | null;
  createdAt: number;
}

/** Small side files served beside narinfos: `.ls` listings and build logs. */
export type SideFileKind = "ls" | "log";

export interface SideFile {
  /** The bytes, when stored inline (`.ls` listings, and logs from before logs became blobs). */
  body: Buffer;
  /** The blob holding the bytes instead (build logs), or null. */
  blob: string | null;
  contentType: string;
  contentEncoding: string | null;
}

/** A side file to store: `blobSize` is the bytes its blob takes (an inline body counts its own). */
export interface NewSideFile extends SideFile {
  blobSize?: number;
}

/**
 * The directories of content-addressed derivations' output documents: `realisations/<id>.doi`
 * (Nix 2.4-2.34, `id` = `sha256:<hex>!<output>`) and `build-trace-v2/<drv>/<output>.doi` (2.35).
 */
export type RealisationKind = "realisations" | "build-trace-v2";

/** A realisation (or build trace entry) to store: its name, the output path it names, its JSON. */
export interface RealisationCommit {
  cache: string;
  kind: RealisationKind;
  /** The rest of its name: `sha256:<hex>!<output>`, or `<drv base name>/<output>`. */
  key: string;
  /** The output path's base name (`<hash>-<name>`). */
  outPath: string;
  /** The document as uploaded (served back byte for byte). */
  text: string;
}

/** A stored realisation, for the dashboard (without its text). */
export interface StoredRealisation {
  kind: RealisationKind;
  key: string;
  outPath: string;
  /** Served: the output path's narinfo is (or upstream serves the path). */
  visible: boolean;
  /** Its bytes (counted in the cache's usage). */
  size: number;
  createdAt: number;
}

export type MultipartState = "open" | "completing" | "completed" | "aborted";

/** A multipart NAR upload of the Cachix API. */
export interface MultipartUpload {
  narId: string;
  uploadId: string;
  cache: string;
  compression: "zstd" | "xz";
  /** `completing` while one `complete` verifies it: from there only completed (or back to open). */
  state: MultipartState;
  createdAt: number;
}

export interface NewMultipart {
  cache: string;
  compression: MultipartUpload["compression"];
  tokenId?: string | null;
  narId?: string;
  uploadId?: string;
  /** With a token: refused (DbError tooLarge) when the token has this many uploads open already. */
  maxOpen?: number;
}

export interface PartRow {
  part: number;
  etag: string;
  size: number;
}

/** A narinfo to store (MetadataStore.commitNarInfo). */
export interface NarInfoCommit {
  cache: string;
  hash: string;
  storePath: string;
  url: string;
  text: string;
  /** Hash parts (32 nix32 characters) of its References; a self-reference is ignored. */
  references: readonly string[];
  /** Its Deriver's base name (`<hash>-<name>.drv`, its build log's name), if any. */
  deriver?: string | null;
}

/** A narinfo with the blob its URL resolves to (null when the URL has no NAR): for checks. */
export interface NarInfoBlob {
  cache: string;
  hash: string;
  url: string;
  blob: string | null;
}

/** An OIDC trust rule as stored (auth/trust-rules.ts matches them), with its id. */
export interface TrustRuleRow {
  /** `rule_` and 8 hex digits. */
  id: string;
  cache: string;
  issuer: string;
  subject: string;
  /** Patterns for other claims; {} when there are none. */
  claims: Record<string, string>;
  perm: GrantPermission;
  createdAt: number;
}

/** A rule to store (validated by TrustRuleSchema first). */
export type NewTrustRule = Omit<TrustRuleRow, "id" | "createdAt" | "claims"> & {
  claims?: Record<string, string>;
};

/** Which revisions of a pin it keeps: the newest N, those added in the last N days, or all. */
export type PinKeep = { revisions: number } | { days: number } | "all";

/** One store path a pin names (a pin with `keep` is a channel of several, newest first). */
export interface PinRevision {
  storePath: string;
  hash: string;
  /**
   * Paths inside the store path the pin exposes (Cachix's artifacts; stored, not served). Only the
   * newest revision keeps them (at most PIN_ARTIFACTS): older ones have none.
   */
  artifacts: string[];
  createdAt: number;
}

/** A named pin: its revisions (newest first) and their closures are kept by the GC. */
export interface PinRow {
  cache: string;
  name: string;
  keep: PinKeep;
  createdAt: number;
  /** Its newest revisions, as many as were asked for (all of them: `revisionCount`). */
  revisions: PinRevision[];
  /** How many revisions it has. */
  revisionCount: number;
}

export interface NewPin {
  cache: string;
  name: string;
  storePath: string;
  hash: string;
  artifacts?: string[];
  /** What the pin keeps from now on; undefined leaves it as it was (a new pin keeps all). */
  keep?: PinKeep;
}

/** What marking found in one cache (MetadataStore.gcMark). */
export interface GcMarkResult {
  /** Narinfos of the cache, pending ones included. */
  paths: number;
  /** Narinfos outside every root's closure, marked now or before. */
  marked: number;
}

/** Ends of one GC delete transaction (MetadataStore.gcDeleteBatch). */
export interface GcBatch {
  /** Hashes of the narinfos deleted. */
  deleted: string[];
  /** Candidates that turned out to be needed again (fetched, pinned or referenced meanwhile). */
  survived: number;
  /**
   * The deleted narinfos' NAR URLs: the caller passes them back as `dropNars` once `lingerMs`
   * has passed (the wait is the caller's: it costs the database nothing).
   */
  narUrls: string[];
  /**
   * Blobs of what was dropped: NAR records (of `dropNars`, those no narinfo names any more), and
   * the build logs of the deleted narinfos' derivers that no remaining narinfo names.
   */
  nars: Array<{ blob: string; fileSize: number }>;
  /** No planned narinfo was ready yet: one is after this long (it waits out `lingerMs`). */
  retryInMs?: number;
}

/** The GC's thresholds for one cache, all in ms since the epoch. */
export interface GcThresholds {
  /** Scratch rows of this run are kept under this name. */
  run: string;
  now: number;
  /** Narinfos pushed or fetched at or after this are roots. */
  cutoff: number;
  /** Narinfos marked before this (and still unreachable) are deleted. */
  markedBefore: number;
  /**
   * The mark time unreached narinfos without a mark count as having (gcPlan): a dry run writes no
   * marks, so it passes the time its marks would have had. Default: never (not planned).
   */
  unmarkedAt?: number;
  /**
   * How long a deleted narinfo's references and NAR record outlive it (default 0): other
   * processes may serve it from memory for a moment after it is gone (NarInfoCache).
   */
  lingerMs?: number;
}
