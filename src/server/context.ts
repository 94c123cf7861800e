import type { AccessTimes } from "./access-times.js";
import type { ActivityRecorder } from "./activity.js";
import type { OidcVerifier } from "./auth/oidc.js";
import type { FetchGuard } from "./fetch-guard.js";
import type { NarInfoCache } from "./metadata/narinfo-cache.js";
import type { MetadataStore } from "./metadata/store.js";
import type { ServerMetrics } from "./metrics.js";
import type { StorageBackend } from "./storage/backend.js";

/** What route modules share: the two seams, limits, and the hooks for shutdown and errors. */
export interface ServerContext {
  meta: MetadataStore;
  storage: StorageBackend;
  /** Narinfo responses kept in memory in front of `meta` (the hot read path). */
  narinfos: NarInfoCache;
  /** Prometheus metrics; routes count what hooks cannot see (narinfo cache hits). */
  metrics: ServerMetrics;
  maxUploadBytes: number;
  /** Largest NAR after decompression. */
  maxNarBytes: number;
  maxNarInfoBytes: number;
  /** Largest build log. */
  maxLogBytes: number;
  /** Multipart uploads one token may have open at once. */
  maxOpenUploads: number;
  /** Redirect GETs of public caches' NARs to storage's presigned URLs (when it has them). */
  narRedirect: boolean;
  /** The base URL clients reach this server at (for URLs handed out); never taken from `Host`. */
  publicUrl(): string;
  /** Returns `work`, which `close()` waits for (an upload in flight commits before shutdown). */
  shutdownWaitsFor<T>(work: Promise<T>): Promise<T>;
  logError(err: unknown): void;
  /** Writes one structured line to the server's log (a refusal an operator should hear of). */
  logEvent(event: Record<string, unknown>): void;
  /** Pushes and narinfo lookups counted for the dashboard. */
  activity: ActivityRecorder;
  /** Told the references a committed narinfo waits for (the upstream resolver's queue). */
  onMissingReferences?: (cache: string, hashes: string[]) => void;
  /** The OIDC token exchange, when the server trusts issuers (`serve --oidc-issuer`). */
  oidc?: { verifier: OidcVerifier; tokenTtlMs: number; exchangesPerMinute: number };
  /** The audience clients should ask their identity tokens for (the first `--oidc-audience`). */
  oidcAudience?: string;
  /** Last-access times of narinfos (for retention), batched in memory. */
  accessTimes: AccessTimes;
  /** Between narinfo lookups and the GC of this process: a fetch is either kept or not served. */
  fetchGuard: FetchGuard;
}
