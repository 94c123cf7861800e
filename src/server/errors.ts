// The server's error kinds, each a NixcacheError with a stable code. Each API's error handler maps
// the code to its HTTP status (routes/errors.ts); nothing matches on class names or messages.
import { ERROR_KINDS, type ErrorCode, NixcacheError } from "../util/errors.js";

/**
 * A refusal meant for an HTTP client: its status is its code's, except where HTTP has a more
 * precise status than any code (415 for an unsupported NAR compression).
 */
export class RequestError extends NixcacheError {
  readonly status: number;
  constructor(code: ErrorCode, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(code, message, { cause: opts.cause });
    this.status = opts.status ?? ERROR_KINDS[code].http;
  }
}

/** An upload refused by ingest (size, hash or format mismatch, truncation, unknown compression). */
export class IngestError extends RequestError {}

/** A Nix-protocol request refused before ingest (e.g. a body over the limit). */
export class HttpError extends RequestError {}

/** A Cachix-API request refused (token, permission, body). */
export class ApiError extends RequestError {}

/** The metadata store refused a change (a cache that exists already, one that does not exist). */
export class DbError extends NixcacheError {}

/** An administrative command refused its input (`nixcache cache …`, `nixcache token …`). */
export class AdminError extends NixcacheError {}

/** A worker of `serve --workers` failed to start; `systemCode` is the errno code (EADDRINUSE, …). */
export class ClusterStartError extends NixcacheError {
  constructor(
    message: string,
    readonly systemCode?: string,
  ) {
    super("unavailable", message);
  }
}
