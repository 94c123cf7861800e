// The dashboard's wire types: what `GET /api/v1/ui/...` answers and what `nixcache ci` and
// `nixcache verify` upload to `POST /api/v1/cache/:name/reports`. Types and plain constants only
// (no zod, no Node), so the browser bundle (src/ui/) imports them without pulling in anything.
//
// Optional fields are those a server may not know (an older server, or another implementation):
// absent, the page leaves their sections out.

/** What a coverage cell says, in words as much as in colour. */
export const CELL_STATUSES = ["ok", "missing", "unsigned", "eval-failed", "not-built"] as const;
export type CellStatus = (typeof CELL_STATUSES)[number];

export const REPORT_KINDS = ["ci", "verify"] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** Most closure members a report lists per target (the count says how many there were). */
export const REPORT_MAX_LISTED = 50;
export const REPORT_MAX_TARGETS = 5000;

/** One target of an uploaded report. */
export interface ReportTargetUpload {
  /** The flake attribute, e.g. `packages.x86_64-linux.hello`. */
  attr: string;
  system: string;
  status: CellStatus;
  outPath: string | null;
  /** Closure members (the output included) no cache has; at most REPORT_MAX_LISTED. */
  missing: string[];
  missingCount: number;
  /** Closure members present without a trusted signature; at most REPORT_MAX_LISTED. */
  unsigned: string[];
  unsignedCount: number;
  /** Why, in a line: the evaluation error, "build failed", a cache error. */
  detail?: string;
  /**
   * The target's derivation (`/nix/store/…drv`), when the run knew it: its build log is the
   * cache's `log/<drv basename>`, which the matrix cell links to.
   */
  drvPath?: string;
}

/** The body of `POST /api/v1/cache/:name/reports` (a write token of the cache). */
export interface ReportUpload {
  version: 1;
  kind: ReportKind;
  /** The commit built (hex), when known. */
  commit: string | null;
  branch: string | null;
  /** The CI run, as pushes of the same run name it (`X-Nixcache-Run`). */
  run: { id: string; url: string | null } | null;
  /** Whether the command succeeded (its exit status 0). */
  ok: boolean;
  targets: ReportTargetUpload[];
}

export type StatusCounts = Record<CellStatus, number> & { total: number };

/** Who the page is talking as (never the token itself). */
export interface Viewer {
  kind: "anonymous" | "token";
  /** The token's description, kind and permission, when a token was presented. */
  description?: string | null;
  tokenKind?: "cache" | "personal" | "oidc";
  /** Set when the presented token does not work: why (unknown, revoked, expired). */
  invalid?: string;
}

export interface CacheSummary {
  name: string;
  isPublic: boolean;
  /** The managed signing key, `name:base64`. */
  publicKey: string;
  /** Visible narinfos (paths served). */
  paths: number;
  /** Narinfos waiting for their closure. */
  pendingPaths: number;
  /** Bytes its NARs take in storage (as stored, compressed): what the quota counts. */
  bytes: number;
  lastPushAt: number | null;
  /** Narinfo lookups over the last 24 hours: found and not found. */
  narinfo24h: { hits: number; misses: number };
  quotaBytes?: number | null;
  /** How long unpinned paths are kept after their last push or fetch (ms), null: forever. */
  retentionMs?: number | null;
  gc?: { lastRunAt: number; freedBytes: number; pathsDeleted: number } | null;
  /** The newest report's verdict (of the default branch when it has one). */
  coverage?: ReportSummary | null;
}

export interface CachesResponse {
  viewer: Viewer;
  caches: CacheSummary[];
}

export interface ReportSummary {
  id: number;
  kind: ReportKind;
  commit: string | null;
  branch: string | null;
  run: { id: string; url: string | null } | null;
  createdAt: number;
  ok: boolean;
  counts: StatusCounts;
  /** The uploading token's description (never the token); null unless the caller may write to the cache. */
  by: string | null;
}

export interface MatrixCell {
  status: CellStatus;
  attr: string;
  outPath: string | null;
  missing: string[];
  missingCount: number;
  unsigned: string[];
  unsignedCount: number;
  detail?: string;
  /** The derivation, when the report named it: the cell links to its build log. */
  drvPath?: string;
}

/** A report as a matrix: one row per target (the attribute without its system), one column per system. */
export interface ReportMatrix extends ReportSummary {
  systems: string[];
  rows: Array<{ target: string; cells: Record<string, MatrixCell> }>;
}

export interface Pin {
  name: string;
  /** Its newest revision (the GC keeps the closures of the revisions it keeps). */
  storePath: string | null;
  revisions: number;
  /** What it keeps, in words: "every revision", "the newest 3 revisions", "revisions of the last 30 days". */
  keep: string;
  createdAt: number;
}

export interface TrustRuleView {
  issuer: string;
  subject: string;
  claims?: Record<string, string>;
  perm: "read" | "write";
}

export interface CacheResponse {
  viewer: Viewer;
  cache: CacheSummary;
  /** The newest report of each branch, newest first: of the newest few dozen branches. */
  branches: ReportSummary[];
  /**
   * Null when `branches` holds every branch; else there are more: pass as `?before=` to
   * `/caches/:name/branches` (which also searches them, `?q=`) for the next ones.
   */
  branchesNext?: number | null;
  /** The matrix of the chosen branch's newest report (`?branch=`, default: the default branch). */
  report: ReportMatrix | null;
  /** The cache's first pins by name (without their artifacts). */
  pins?: Pin[] | null;
  /** The cache has more pins than `pins` lists. */
  pinsMore?: boolean;
  /** Who may get tokens for the cache; null unless the caller may write to it. */
  trustRules?: TrustRuleView[] | null;
}

export interface Page<T> {
  items: T[];
  /** Pass as `?before=` for the next (older) page; null at the end. */
  next: number | null;
}

export interface PushRow {
  /** Start of the minute the pushes were counted in (ms). */
  at: number;
  /**
   * The pushing token; its description is null for a token without one, and unless the caller
   * may write to the cache. Null when no token pushed.
   */
  token: { description: string | null; perm: string; kind: "cache" | "personal" | "oidc" } | null;
  paths: number;
  bytes: number;
  /** The CI run that pushed, with the report it uploaded when there is one. */
  run: {
    id: string;
    report?: { id: number; commit: string | null; branch: string | null; url: string | null };
  } | null;
}

export interface SignatureView {
  keyName: string;
  /** `valid`: verifies with a key the cache publishes; `unknown`: a key it does not publish. */
  state: "valid" | "invalid" | "unknown";
}

export interface PathDetail {
  hash: string;
  storePath: string | null;
  /**
   * `visible`: served, closure complete; `pending`: stored, waiting for references; `upstream`:
   * served by an upstream cache (counted present for closures); `absent`: not in this cache.
   */
  state: "visible" | "pending" | "upstream" | "absent";
  narinfo: string | null;
  narSize: number | null;
  fileSize: number | null;
  compression: string | null;
  references: string[];
  signatures: SignatureView[];
  /** References a pending path waits for (hash parts, with the store path when known). */
  waitingFor: Array<{ hash: string; storePath: string | null }>;
  createdAt: number | null;
  lastAccessAt?: number | null;
  pins?: string[] | null;
  /**
   * The realisations of content-addressed derivations' outputs that name this path:
   * `realisations/<id>.doi` (Nix 2.4-2.34: `derivation` is the derivation's hash, `sha256:<hex>`)
   * and `build-trace-v2/<drv>/<output>.doi` (2.35: `derivation` is the .drv's base name).
   * `visible`: served; else pending until the path is.
   */
  realisations?: RealisationView[];
}

export interface RealisationView {
  kind: "realisations" | "build-trace-v2";
  derivation: string;
  output: string;
  visible: boolean;
  createdAt: number;
}

/** `GET /api/v1/ui/caches/:name/log/:drv`: the end of a build log, cleaned for the page. */
export interface LogTail {
  /** The derivation's base name (`<hash>-<name>.drv`). */
  drv: string;
  /** The stored log's size in bytes (as stored: compressed when it was uploaded compressed). */
  bytes: number;
  /** How it was stored (`Content-Encoding`), null for plain text. */
  encoding: string | null;
  /**
   * Its last lines (at most LOG_TAIL_LINES of log-text.ts), terminal escapes and control
   * characters removed, each cut to LOG_LINE_MAX characters (`cut` set when it was longer).
   */
  lines: Array<{ text: string; cut?: true }>;
  /** Whether the log has lines before these (the page then says so, beside the whole log's link). */
  earlier: boolean;
  /** Whether anyone may read the cache: else the whole log's URL asks for a token (Basic auth). */
  cachePublic: boolean;
}

export interface ApiErrorBody {
  error: string;
}
