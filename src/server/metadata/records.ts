// The metadata as plain records, the same for every MetadataStore implementation: what `nixcache
// data copy` moves from one store to another (SQLite → PostgreSQL), and what bulk loads write.
// Open multipart uploads are not records: they live minutes, and their parts are in storage.

export interface CacheRecord {
  name: string;
  isPublic: boolean;
  priority: number;
  /** The managed signing key, Nix's `name:base64` secret form. */
  secretKey: string;
  publicKey: string;
  createdAt: number;
  owner: string | null;
  managed: boolean;
  compression: "XZ" | "ZSTD";
  /** ms; null: kept forever. Absent in records written before retention existed. */
  retentionMs?: number | null;
  quotaBytes?: number | null;
}

export interface ClientKeyRecord {
  cache: string;
  name: string;
  publicKey: string;
  createdAt: number;
}

export interface AccountRecord {
  slug: string;
  email: string | null;
  fullname: string | null;
  createdAt: number;
}

/** A token as stored: its SHA-256 hash, never its text. */
export interface TokenRecord {
  hash: string;
  id: string;
  cache: string;
  perm: string;
  description: string | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  kind: "cache" | "personal" | "oidc";
  account: string | null;
  /** oidc tokens: JSON of cache → read|write; null otherwise. */
  grants: string | null;
  /** oidc tokens: the hash naming the identity token exchanged (one exchange each). */
  oidcIdentity?: string | null;
  oidcIssuer?: string | null;
  oidcSubject?: string | null;
  /** oidc tokens: JSON array of the ids of the trust rules that granted them. */
  oidcRules?: string | null;
}

export interface TrustRuleRecord {
  id: string;
  cache: string;
  issuer: string;
  subject: string;
  /** JSON of claim name → pattern. */
  claims: string;
  perm: string;
  createdAt: number;
}

export interface NarRecord {
  cache: string;
  url: string;
  blob: string;
  compression: string;
  narHash: string;
  narSize: number;
  fileHash: string;
  fileSize: number;
  visible: boolean;
  createdAt: number;
}

export interface NarInfoRecord {
  cache: string;
  hash: string;
  storePath: string;
  url: string;
  text: string;
  createdAt: number;
  /** Whether its closure was complete (served) in the source; copied as is. */
  visible: boolean;
  /** For a pending one: the references (hash parts) it still waits for. */
  waitsFor: string[];
  /** Last push or fetch (ms); absent: its createdAt. */
  accessedAt?: number;
  /** Its references' hash parts, self-reference left out (the GC follows them); absent: read from `text`. */
  references?: string[];
  /** Its deriver's base name (its build log's name), null for none; absent: read from `text`. */
  deriver?: string | null;
}

/** A pin of a cache (its revisions are PinRevisionRecords). */
export interface PinRecord {
  cache: string;
  name: string;
  keepRevisions: number | null;
  keepDays: number | null;
  createdAt: number;
}

export interface PinRevisionRecord {
  cache: string;
  pin: string;
  hash: string;
  storePath: string;
  /** JSON array of paths inside the store path. */
  artifacts: string;
  createdAt: number;
}

/** A reference known to be served by an upstream cache (counts as present for the closure rule). */
export interface UpstreamRecord {
  cache: string;
  hash: string;
  createdAt: number;
}

export interface SideFileRecord {
  cache: string;
  kind: "ls" | "log";
  name: string;
  body: Buffer;
  blob: string | null;
  contentType: string;
  contentEncoding: string | null;
  createdAt: number;
  /** Bytes it takes (its body's, or its blob's), counted in the cache's usage; absent: the body's. */
  size?: number;
}

/** A realisation or build trace entry of a content-addressed derivation's output (its JSON as uploaded). */
export interface RealisationRecord {
  cache: string;
  kind: "realisations" | "build-trace-v2";
  key: string;
  outHash: string;
  outPath: string;
  text: string;
  size: number;
  /** Whether its output path was present (served) in the source; copied as is. */
  visible: boolean;
  createdAt: number;
}

export interface SecretRecord {
  name: string;
  /** base64 */
  value: string;
}

/** An uploaded CI report (the dashboard's coverage), as stored; `counts` and `targets` are JSON. */
export interface ReportRecord {
  id: number;
  cache: string;
  kind: string;
  commit: string | null;
  branch: string | null;
  runId: string | null;
  runUrl: string | null;
  tokenId: string | null;
  createdAt: number;
  ok: boolean;
  counts: string;
  targets: string;
}

/** Pushes of one cache, minute, token and CI run ("" for none). */
export interface PushActivityRecord {
  cache: string;
  minute: number;
  tokenId: string;
  runId: string;
  paths: number;
  bytes: number;
}

/** Narinfo lookups of one cache and hour. */
export interface NarinfoLookupRecord {
  cache: string;
  hour: number;
  hits: number;
  misses: number;
}

export interface RecordTypes {
  caches: CacheRecord;
  accounts: AccountRecord;
  clientKeys: ClientKeyRecord;
  tokens: TokenRecord;
  secrets: SecretRecord;
  nars: NarRecord;
  narinfos: NarInfoRecord;
  upstream: UpstreamRecord;
  sideFiles: SideFileRecord;
  trustRules: TrustRuleRecord;
  pins: PinRecord;
  pinRevisions: PinRevisionRecord;
  reports: ReportRecord;
  pushActivity: PushActivityRecord;
  narinfoLookups: NarinfoLookupRecord;
  realisations: RealisationRecord;
}

export type RecordKind = keyof RecordTypes;

/** In an order where every record's dependencies (its cache) come first. */
export const RECORD_KINDS: readonly RecordKind[] = [
  "caches",
  "accounts",
  "clientKeys",
  "tokens",
  "secrets",
  "nars",
  "narinfos",
  "upstream",
  "sideFiles",
  "trustRules",
  "pins",
  "pinRevisions",
  "reports",
  "pushActivity",
  "narinfoLookups",
  "realisations",
];

export interface RecordPage<K extends RecordKind> {
  records: Array<RecordTypes[K]>;
  /** Cursor for the next page (pass as `after`), or null after the last. */
  next: string | null;
}
