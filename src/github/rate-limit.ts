// GitHub's rate limits as a client should take them: a 403 or 429 that says when to come back
// (`retry-after`, or `x-ratelimit-remaining: 0` with `x-ratelimit-reset`) is waited out within a
// bound; 5xx and dropped connections are retried a few times; anything else is the caller's.
import { setTimeout as sleep } from "node:timers/promises";

/** What Octokit throws, as far as these decisions need it. */
interface CallError {
  status?: number;
  response?: { headers?: Record<string, string | number | undefined> };
}

/** How long GitHub asks us to wait (ms), or undefined when the answer is not a rate limit. */
export function rateLimitWait(e: unknown, now: number = Date.now()): number | undefined {
  const err = e as CallError;
  if (err.status !== 403 && err.status !== 429) return undefined;
  const h = err.response?.headers ?? {};
  const after = h["retry-after"];
  if (after !== undefined && /^\d+$/.test(String(after))) return Number(after) * 1000;
  const reset = h["x-ratelimit-reset"];
  if (String(h["x-ratelimit-remaining"]) === "0" && reset !== undefined && /^\d+$/.test(String(reset)))
    return Math.max(0, Number(reset) * 1000 - now);
  // A 429 that says nothing: GitHub's secondary limit asks for at least a minute.
  return err.status === 429 ? 60_000 : undefined;
}

export class RateLimited extends Error {
  constructor(readonly waitMs: number) {
    super(`GitHub's rate limit asks to wait ${Math.ceil(waitMs / 1000)} s`);
  }
}

export interface RetryBudget {
  /** Time left for rate-limit waits, over the whole run. */
  remainingMs: number;
}

const TRANSIENT_TRIES = 3;

/**
 * Runs `call`, waiting out rate limits while the budget lasts (else throws RateLimited) and
 * retrying 5xx and network failures; other errors are thrown as they came.
 */
export async function withGitHubRetries<T>(call: () => Promise<T>, budget: RetryBudget): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const wait = rateLimitWait(e);
      if (wait !== undefined) {
        if (wait > budget.remainingMs) throw new RateLimited(wait);
        budget.remainingMs -= wait;
        await sleep(wait);
        continue;
      }
      const status = (e as CallError).status;
      const transient = status === undefined || status >= 500;
      if (!transient || attempt >= TRANSIENT_TRIES) throw e;
      await sleep(250 * 2 ** attempt);
    }
  }
}
