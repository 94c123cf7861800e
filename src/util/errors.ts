// One error base for the whole library. Each kind has a stable `code`; the CLI maps codes to exit
// status and the server maps them to HTTP status, so neither matches on class names or messages.

/** Every kind of failure nixcache distinguishes, with what it means to a caller. */
export const ERROR_KINDS = {
  /** The user's input is malformed or contradictory (flags, config, a file they named). */
  usage: { exit: 2, http: 400 },
  /** Input from the other side of a boundary is malformed (narinfo, NAR, JSON, a key). */
  invalid: { exit: 2, http: 400 },
  /** Credentials are missing or wrong. */
  unauthorized: { exit: 1, http: 401 },
  /** Credentials are valid but may not do this. */
  forbidden: { exit: 1, http: 403 },
  /** The thing named does not exist. */
  notFound: { exit: 1, http: 404 },
  /** The request conflicts with what is stored (an upload already completed or aborted). */
  conflict: { exit: 1, http: 409 },
  /** Too large: a body, a decompressed NAR, a log, a quota. */
  tooLarge: { exit: 1, http: 413 },
  /** What was checked is not so (hash mismatch, missing target, signature that does not verify). */
  failed: { exit: 1, http: 422 },
  /** A service we depend on failed or could not be reached (a cache, Nix, storage). */
  unavailable: { exit: 1, http: 503 },
  /**
   * Out of space: the disk under blob storage or the database is full (HTTP 507 Insufficient
   * Storage: the server's condition, not the request's fault; it passes once space is freed).
   */
  full: { exit: 1, http: 507 },
  /** Interrupted by the user (Ctrl-C). */
  interrupted: { exit: 130, http: 499 },
  /** A bug or an unexpected state. */
  internal: { exit: 1, http: 500 },
} as const satisfies Record<string, { exit: number; http: number }>;

export type ErrorCode = keyof typeof ERROR_KINDS;

export class NixcacheError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Error codes that mean "no space left": the system's (a full disk, a quota), SQLite's
 * SQLITE_FULL ("database or disk is full") and PostgreSQL's disk_full (53100).
 */
const OUT_OF_SPACE = new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL", "53100"]);

/** The out-of-space error in `err` or its causes (a wrapper may hide the system's error). */
export function outOfSpace(err: unknown): Error | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof NixcacheError && e.code === "full") return e;
    if (OUT_OF_SPACE.has(String((e as { code?: unknown }).code))) return e;
  }
  return undefined;
}

/**
 * The code of any thrown value: our own errors carry one, running out of space is `full`
 * whoever threw it, anything else is internal.
 */
export function errorCode(err: unknown): ErrorCode {
  if (outOfSpace(err)) return "full";
  return err instanceof NixcacheError ? err.code : "internal";
}

/** The process exit status for an error (2 usage/invalid, 130 interrupted, else 1). */
export function exitCodeOf(err: unknown): number {
  return ERROR_KINDS[errorCode(err)].exit;
}

/** The HTTP status a server answers for an error. */
export function httpStatusOf(err: unknown): number {
  return ERROR_KINDS[errorCode(err)].http;
}

/** A one-line message for any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
