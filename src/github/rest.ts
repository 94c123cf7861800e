// The GitHub REST client (Octokit) as nixcache uses it: the token from the environment as the gh
// CLI and Actions name it, any API base (GitHub Enterprise: https://HOST/api/v3), and errors that
// carry GitHub's own message and what the token lacks, never the token or a request body.
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
}

/** An Octokit for the given API; loaded on use. */
export async function githubClient(opts: GitHubClientOptions): Promise<Octokit> {
  const { Octokit } = await import("@octokit/rest");
  return new Octokit({
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

/** A refused or failed GitHub call: the status, GitHub's message, and the fix for the token. */
export class GitHubApiError extends NixcacheError {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(
      status === 401
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
