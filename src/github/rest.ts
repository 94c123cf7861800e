// The GitHub REST client (Octokit) as nixcache uses it: the token from the environment as the gh
// CLI and Actions name it, any API base (GitHub Enterprise: https://HOST/api/v3), and errors that
// carry GitHub's own message and what the token lacks, never the token or a request body.
import { setTimeout as sleep } from "node:timers/promises";
import type { Octokit } from "@octokit/rest";
import { NixcacheError } from "../util/errors.js";

/** The default REST API base. */
export const GITHUB_API_URL = "https://api.github.com";

/** `GITHUB_TOKEN`, else `GH_TOKEN` (what Actions and the gh CLI set); undefined when neither is. */
export function githubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.GITHUB_TOKEN || env.GH_TOKEN || undefined;
}

export interface GitHubClientOptions {
  token: string;
  /** REST API base (default https://api.github.com, or $GITHUB_API_URL under Actions). */
  apiUrl?: string;
  /** How rate limits and server errors are retried (default DEFAULT_GITHUB_RETRY; false: never). */
  retry?: GitHubRetry | false;
}

/** An Octokit for the given API; loaded on use. */
export async function githubClient(opts: GitHubClientOptions): Promise<Octokit> {
  const { Octokit } = await import("@octokit/rest");
  const octokit = new Octokit({
    auth: opts.token,
    baseUrl: (opts.apiUrl ?? process.env.GITHUB_API_URL ?? GITHUB_API_URL).replace(/\/+$/, ""),
    userAgent: "nixcache",
    // Octokit logs warnings (deprecations) to the console: keep them off stdout, which is for output.
    log: {
      debug: () => {},
      info: () => {},
      warn: (m: string) => process.stderr.write(`nixcache: ${m}\n`),
      error: () => {},
    },
  });
  if (opts.retry !== false) retryRequests(octokit, opts.retry ?? DEFAULT_GITHUB_RETRY);
  return octokit;
}

/** The permission a call needs, for the message a 403/404 gets. */
export interface Permission {
  /** e.g. "Secrets" (fine-grained repository permission) */
  fineGrained: string;
  /** The classic OAuth scope. */
  classic: string;
}

export const SECRETS_PERMISSION: Permission = { fineGrained: "Secrets", classic: "repo" };
export const VARIABLES_PERMISSION: Permission = { fineGrained: "Variables", classic: "repo" };
/** Branch protection (required status checks): "Administration" (read to read, write to change). */
export const ADMINISTRATION_PERMISSION: Permission = { fineGrained: "Administration", classic: "repo" };

/** A refused or failed GitHub call: the status, GitHub's message, and the fix for the token. */
export class GitHubApiError extends NixcacheError {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** GitHub's rate limit (a 403 or 429 that is no refusal of the token): unavailable, not forbidden. */
    readonly rateLimited = false,
  ) {
    super(
      rateLimited
        ? "unavailable"
        : status === 401
          ? "unauthorized"
          : status === 403
            ? "forbidden"
            : status === 404
              ? "notFound"
              : "unavailable",
      message,
    );
  }
}

interface OctokitLikeError {
  status?: number;
  message?: string;
  response?: { data?: unknown; headers?: Record<string, string | undefined> };
}

/**
 * Turns what Octokit threw into a GitHubApiError naming the call (`what`), GitHub's message and,
 * for 401/403/404, what the token needs (GitHub's `x-accepted-github-permissions` header when it
 * sends one). Only the response's message and headers are read: the request (with the token and
 * the encrypted value) is never part of it.
 */
export function githubError(e: unknown, what: string, repo: string, perm: Permission): GitHubApiError {
  const err = e as OctokitLikeError;
  const status = typeof err.status === "number" ? err.status : undefined;
  const data = err.response?.data as { message?: unknown } | undefined;
  const said = typeof data?.message === "string" ? data.message : undefined;
  const base = `${what}: ${status === undefined ? "no answer" : `HTTP ${status}`}${said ? ` (${said})` : ""}`;
  if (status === undefined)
    return new GitHubApiError(`${what}: ${(err.message ?? String(e)).split("\n")[0]}`, undefined);
  const limited = rateLimit(status, err.response?.headers);
  if (limited)
    return new GitHubApiError(
      `${base}; GitHub's rate limit, not the token's permissions: ${limited.waitMs === undefined ? "try again later" : `try again in ${Math.ceil(limited.waitMs / 1000)} s`}`,
      status,
      true,
    );
  const accepted = err.response?.headers?.["x-accepted-github-permissions"];
  const needs = accepted ? `; GitHub says the call needs ${accepted}` : "";
  const fix =
    status === 401
      ? "; the token is invalid or expired (GITHUB_TOKEN / GH_TOKEN)"
      : status === 403 || status === 404
        ? `; the token needs the \`${perm.classic}\` scope (classic token) or the repository permission ` +
          `"${perm.fineGrained}: write" on ${repo} (fine-grained token or GitHub App)${needs}` +
          (status === 404 ? `, or ${repo} does not exist` : "")
        : "";
  return new GitHubApiError(`${base}${fix}`, status);
}

// ---- Retries: GitHub's rate limits and its server errors ----------------------------------------
// GitHub answers a request over a rate limit with 403 (or 429) and either `retry-after: <seconds>`
// (secondary limits) or `x-ratelimit-remaining: 0` with `x-ratelimit-reset: <epoch seconds>`
// (the primary limit); docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api: wait
// that long, then retry. Such a request was not performed, so any method is retried. A 5xx may
// have been performed: only idempotent methods are retried (GET, HEAD, PUT, DELETE), and a POST
// whose caller says it is (`request: { idempotent: true }`, e.g. adding a status check context).

export interface GitHubRetry {
  /** Tries in all, the first included. */
  attempts: number;
  /** A rate limit that resets later than this is not waited for (the error says when). */
  maxWaitMs: number;
  /** The wait before the second try after a server error; doubled for each further one. */
  backoffMs: number;
}

export const DEFAULT_GITHUB_RETRY: GitHubRetry = { attempts: 3, maxWaitMs: 60_000, backoffMs: 500 };

/** A rate-limit answer and how long GitHub asks to wait (undefined: it does not say). */
function rateLimit(
  status: number | undefined,
  headers: Record<string, string | number | undefined> | undefined,
): { waitMs: number | undefined } | undefined {
  if (status !== 403 && status !== 429) return undefined;
  const retryAfter = headers?.["retry-after"];
  const remaining = headers?.["x-ratelimit-remaining"];
  if (retryAfter !== undefined && retryAfter !== "") {
    const s = Number(retryAfter);
    return { waitMs: Number.isFinite(s) && s >= 0 ? s * 1000 : undefined };
  }
  if (remaining !== undefined && String(remaining) === "0") {
    const reset = Number(headers?.["x-ratelimit-reset"]);
    return { waitMs: Number.isFinite(reset) ? Math.max(0, reset * 1000 - Date.now()) + 1000 : undefined };
  }
  // 429 without either header: GitHub's docs say to wait at least a minute.
  return status === 429 ? { waitMs: 60_000 } : undefined;
}

/** How long a refused call's answer asks to wait when it is a rate limit (ms; null: it does not say). */
export function rateLimitWait(e: unknown): number | null | undefined {
  const err = e as OctokitLikeError;
  const limited = rateLimit(err.status, err.response?.headers);
  return limited === undefined ? undefined : (limited.waitMs ?? null);
}

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

function retryRequests(octokit: Octokit, policy: GitHubRetry): void {
  octokit.hook.wrap("request", async (request, options) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request(options);
      } catch (e) {
        if (attempt >= policy.attempts) throw e;
        const err = e as OctokitLikeError;
        const limited = rateLimit(err.status, err.response?.headers);
        let waitMs: number | undefined;
        if (limited) waitMs = limited.waitMs;
        else if (
          typeof err.status === "number" &&
          err.status >= 500 &&
          (IDEMPOTENT.has(String(options.method).toUpperCase()) ||
            (options.request as { idempotent?: boolean } | undefined)?.idempotent === true)
        )
          waitMs = policy.backoffMs * 2 ** (attempt - 1);
        if (waitMs === undefined || waitMs > policy.maxWaitMs) throw e;
        await sleep(waitMs);
      }
    }
  });
}
