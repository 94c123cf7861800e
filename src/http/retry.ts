// When and how long to retry an HTTP request, for every client of the library (the HTTP cache,
// the Cachix API): the same statuses, the same connection errors, the same backoff.
import { setTimeout as sleep } from "node:timers/promises";
import { NixcacheError } from "../util/errors.js";

/** An error worth another attempt; `retryAfterMs` is the server's own wish, when it said one. */
export class RetryableError extends NixcacheError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super("unavailable", message);
  }
}

/** Statuses that say "not now" rather than "no": timeouts, rate limits, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Connection failures worth another attempt (a dropped keep-alive socket, a refused connect, DNS). */
export const RETRYABLE_CONNECTION_ERRORS: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** First backoff ceiling in ms (default 1000); doubles per attempt. */
  baseMs?: number;
  /** Largest wait in ms, Retry-After included (default 15000 for backoff, 60000 for Retry-After). */
  capMs?: number;
  maxRetryAfterMs?: number;
  /** Told before each wait, e.g. for a log line. */
  onRetry?: (err: RetryableError, attempt: number, waitMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, throws a non-retryable error, or runs out of attempts. Waits are
 * full-jitter exponential (random in [0, min(cap, base·2^n)]), or the server's Retry-After.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = {},
  signal?: AbortSignal,
): Promise<T> {
  const attempts = policy.attempts ?? 5;
  const base = policy.baseMs ?? 1000;
  const cap = policy.capMs ?? 15000;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof RetryableError) || attempt >= attempts || signal?.aborted) throw err;
      const wait =
        err.retryAfterMs !== undefined
          ? Math.min(err.retryAfterMs, policy.maxRetryAfterMs ?? 60000)
          : Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
      policy.onRetry?.(err, attempt, wait);
      await sleep(wait, undefined, { signal });
    }
  }
}

/** Retry-After as ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
