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

/** The code of any thrown value: our own errors carry one, anything else is internal. */
export function errorCode(err: unknown): ErrorCode {
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
