// One HTTP request with nixcache's retry classification: a dropped connection or a 408/429/5xx is
// tried again (full-jitter backoff, or the server's Retry-After); any other refusal is final and
// turned into the caller's own error type, so each client keeps its wording.
import type { Readable } from "node:stream";
import type { Dispatcher, Pool } from "undici";
import type { ErrorCode } from "../util/errors.js";
import {
  isRetryableStatus,
  parseRetryAfter,
  RETRYABLE_CONNECTION_ERRORS,
  RetryableError,
  type RetryPolicy,
  withRetry,
} from "./retry.js";

export type Method = "GET" | "HEAD" | "POST" | "PUT";

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RequestOptions {
  method: Method;
  /** Path and query on the pool's origin. */
  path: string;
  /** How the request is named in errors (`PUT https://host/x`); never holds credentials. */
  what: string;
  headers?: Record<string, string>;
  /** Made once per attempt: a Buffer goes with a Content-Length, a stream chunked. */
  body?: () => Readable | Buffer | string | undefined;
  /** Statuses that are answers (default: 2xx). */
  ok?: readonly number[];
  signal?: AbortSignal;
  /** An error that makes a failed attempt final (e.g. the body's source turned out wrong). */
  fatal?: () => unknown;
  /** The error to throw for a final refusal (a status not ok and not worth retrying). */
  refused: (status: number, body: Buffer, what: string) => Error;
  /** The error to throw for a connection failure not worth retrying (default: a plain Error). */
  failed?: (message: string) => Error;
  /** What the server said in an error body, for retry messages (default: the text, bounded). */
  serverMessage?: (body: Buffer) => string | undefined;
}

const defaultServerMessage = (body: Buffer) => body.toString("utf8").trim().slice(0, 500) || undefined;

/** One attempt: the response for an ok status; RetryableError or the caller's error otherwise. */
export async function requestOnce(pool: Pool, o: RequestOptions): Promise<Response> {
  let res: Dispatcher.ResponseData;
  try {
    res = await pool.request({
      method: o.method,
      path: o.path,
      headers: o.headers,
      body: o.body?.() ?? null,
      signal: o.signal,
    });
  } catch (e) {
    const fatal = o.fatal?.();
    if (fatal) throw fatal;
    if (o.signal?.aborted) throw o.signal.reason ?? e;
    const code = (e as NodeJS.ErrnoException).code ?? "";
    const msg = `${o.what}: ${(e as Error).message}${code ? ` (${code})` : ""}`;
    if (RETRYABLE_CONNECTION_ERRORS.has(code)) throw new RetryableError(msg);
    throw o.failed ? o.failed(msg) : new Error(msg);
  }
  const body = Buffer.from(await res.body.arrayBuffer());
  const status = res.statusCode;
  const fatal = o.fatal?.();
  if (fatal) throw fatal;
  const ok = o.ok ? o.ok.includes(status) : status >= 200 && status < 300;
  if (ok) return { status, headers: res.headers, body };
  if (isRetryableStatus(status)) {
    const said = (o.serverMessage ?? defaultServerMessage)(body);
    throw new RetryableError(
      `${o.what}: HTTP ${status}${said ? `: ${said}` : ""}`,
      parseRetryAfter(res.headers["retry-after"]),
    );
  }
  throw o.refused(status, body, o.what);
}

/** `requestOnce` under `withRetry`: what every client of the library sends. */
export function request(pool: Pool, o: RequestOptions, policy: RetryPolicy = {}): Promise<Response> {
  return withRetry(() => requestOnce(pool, o), policy, o.signal);
}

/** The error code for a final refusal: what the status says, and exit status 1 for all of them. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "notFound";
    case 409:
      return "conflict";
    case 413:
      return "tooLarge";
    default:
      return isRetryableStatus(status) ? "unavailable" : "failed";
  }
}
