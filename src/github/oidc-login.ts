// The Action's `oidc: true`: the job's GitHub identity token (PROTOCOLS.md §5) is exchanged at the
// caches' nixcache server for a short-lived cache token, so the repository stores no secret.
import * as core from "@actions/core";
import { cacheNameOf, exchangeIdToken, type OidcGrant, oidcExchangeUrl } from "../caches/oidc-exchange.js";
import type { RetryPolicy } from "../http/retry.js";
import { errorMessage, NixcacheError } from "../util/errors.js";
import type { RunContext } from "./action-inputs.js";

export type OidcLogin =
  /** `writable`: the token may write to every one of the caches (else it is for reading). */
  | { kind: "token"; token: string; grant: OidcGrant; writable: boolean }
  /** A pull request that gets no token (a fork's has no identity token; others may match no rule). */
  | { kind: "skipped"; reason: string };

const isPullRequest = (ctx: Pick<RunContext, "event">) => ctx.event.startsWith("pull_request");

/**
 * The job's OIDC identity token for `audience`, through @actions/core (which masks it). Without
 * `permissions: id-token: write` the runner sets neither variable: a usage error naming the fix.
 */
export async function requestIdToken(audience: string): Promise<string> {
  // @actions/core reads these from process.env itself.
  if (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL || !process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)
    throw new NixcacheError(
      "usage",
      "input oidc: this job cannot request an OIDC identity token (ACTIONS_ID_TOKEN_REQUEST_URL is not set): " +
        "give the workflow or the job `permissions: id-token: write` (and `contents: read`)",
    );
  try {
    return await core.getIDToken(audience);
  } catch (e) {
    throw new NixcacheError(
      "unavailable",
      `input oidc: GitHub did not issue an identity token: ${errorMessage(e).replace(/\s+/g, " ")}`,
    );
  }
}

/** The one exchange URL of the caches (all must be on the same nixcache server). */
export function exchangeUrlOf(
  caches: readonly string[],
  cachixApi?: string,
  env: NodeJS.ProcessEnv = process.env,
) {
  const urls = new Set(caches.map((c) => oidcExchangeUrl(c, cachixApi, env)));
  if (urls.size !== 1)
    throw new NixcacheError(
      "usage",
      `input oidc: one token is exchanged for all caches, but they are on ${urls.size} servers (${[...urls].join(", ")})`,
    );
  return [...urls][0] as string;
}

/**
 * Gets a cache token for the job. A pull request that cannot get one (a fork has no identity
 * token; the trust rules usually grant pull requests nothing) builds without pushing, like a fork
 * without secrets; anywhere else a refusal fails the step with the server's reason.
 */
export async function oidcLogin(o: {
  caches: readonly string[];
  audience: string;
  ctx: Pick<RunContext, "event" | "forkPullRequest">;
  cachixApi?: string;
  retry?: RetryPolicy;
}): Promise<OidcLogin> {
  const url = exchangeUrlOf(o.caches, o.cachixApi);
  if (isPullRequest(o.ctx) && !process.env.ACTIONS_ID_TOKEN_REQUEST_URL)
    return {
      kind: "skipped",
      reason: o.ctx.forkPullRequest
        ? "This pull request comes from a fork, and GitHub gives such runs no OIDC identity token"
        : "This pull request's job has no OIDC identity token (no `permissions: id-token: write`)",
    };
  const exchange = async (): Promise<OidcGrant> => {
    try {
      return await exchangeIdToken(url, await requestIdToken(o.audience), { retry: o.retry });
    } catch (e) {
      // 409: the server had exchanged this identity token already (an answer lost on the way back,
      // then a retry): it gives each one cache token, and a fresh identity token gets another.
      if (!(e instanceof NixcacheError && e.code === "conflict")) throw e;
      return exchangeIdToken(url, await requestIdToken(o.audience), { retry: o.retry });
    }
  };
  let grant: OidcGrant;
  try {
    grant = await exchange();
  } catch (e) {
    if (isPullRequest(o.ctx) && e instanceof NixcacheError && e.code === "unauthorized")
      return { kind: "skipped", reason: `The cache server gives this pull request no token: ${e.message}` };
    throw e;
  }
  core.setSecret(grant.token);
  const granted = Object.entries(grant.caches).map(([c, p]) => `${c} (${p})`);
  core.info(`OIDC: a cache token for ${granted.join(", ") || "no cache"}, valid until ${grant.expiresAt}`);
  let writable = true;
  for (const c of o.caches) {
    const name = cacheNameOf(c);
    const perm = name === undefined ? undefined : grant.caches[name];
    if (perm !== "write") writable = false;
    if (name && perm === undefined)
      core.warning(`OIDC: the token grants nothing on ${name}: no trust rule of the server matches this job`);
  }
  return { kind: "token", token: grant.token, grant, writable };
}
