// `token inspect`: what a token is and what it may do, asked of the real API (GET /user, GET
// /cache/{name}, GET /token), never guessed from its shape. Each migration step gets yes or no,
// the reason, and for a no the concrete remedy.
import { type CachixApi, CachixApiError, cacheAccessMessage } from "../caches/cachix/client.js";
import type { BinaryCache, User } from "../cachix-api/schemas.js";
import { decodeJwtClaims, describeClaims } from "./jwt.js";
import { remediesFor } from "./remedies.js";

export const STEPS = ["read", "push", "create a cache", "create tokens", "set a signing key"] as const;
export type Step = (typeof STEPS)[number];

export interface StepVerdict {
  step: Step;
  allowed: boolean;
  reason: string;
  /** What to do about a no; null for a yes. */
  remedy: string | null;
}

export interface TokenInspection {
  api: string;
  token: {
    /** personal: acts for an account; cache: scoped to caches; anonymous: no token; unknown: the API accepted it nowhere we asked. */
    kind: "personal" | "cache" | "anonymous" | "unknown";
    jwtClaims: Record<string, unknown> | null;
    account: { id: number; githubUsername: string | null; email: string | null; slug: string | null } | null;
    /** Whether GET /token answered: the token can list and create tokens. */
    managesTokens: boolean;
  };
  cache: {
    name: string;
    exists: boolean | null;
    permission: BinaryCache["permission"] | null;
    isPublic: boolean | null;
    uri: string | null;
    publicSigningKeys: string[];
    /** The API's refusal, worded as cachix words it, when the lookup failed. */
    error: string | null;
  } | null;
  steps: StepVerdict[];
}

/** Asks the API about the token (and the cache, when named). Rejects only when the API cannot be asked. */
export async function inspectToken(
  api: CachixApi,
  opts: { token?: string; cache?: string },
): Promise<TokenInspection> {
  const remedies = remediesFor(api);
  const hasToken = !!opts.token;
  const claims = opts.token ? decodeJwtClaims(opts.token) : null;

  let user: User | null = null;
  let userRefusal = "";
  if (hasToken) {
    try {
      user = await api.getUser();
    } catch (e) {
      if (!(e instanceof CachixApiError) || (e.status !== 401 && e.status !== 403)) throw e;
      userRefusal = e.serverMessage ?? `HTTP ${e.status}`;
    }
  }
  let managesTokens = false;
  if (hasToken) {
    try {
      await api.listTokens();
      managesTokens = true;
    } catch (e) {
      if (!(e instanceof CachixApiError) || e.status >= 500) throw e;
    }
  }

  let cache: TokenInspection["cache"] = null;
  let bc: BinaryCache | null = null;
  if (opts.cache) {
    cache = {
      name: opts.cache,
      exists: null,
      permission: null,
      isPublic: null,
      uri: null,
      publicSigningKeys: [],
      error: null,
    };
    try {
      bc = await api.getCache(opts.cache);
      Object.assign(cache, {
        exists: true,
        permission: bc.permission,
        isPublic: bc.isPublic,
        uri: bc.uri,
        publicSigningKeys: bc.publicSigningKeys,
      });
    } catch (e) {
      if (!(e instanceof CachixApiError) || (e.status !== 401 && e.status !== 404)) throw e;
      cache.exists = e.status === 404 ? false : null;
      cache.error = cacheAccessMessage(opts.cache, e, hasToken);
    }
  }

  const kind: TokenInspection["token"]["kind"] = !hasToken
    ? "anonymous"
    : user
      ? "personal"
      : bc
        ? "cache"
        : "unknown";

  const steps: StepVerdict[] = [];
  const yes = (step: Step, reason: string) => steps.push({ step, allowed: true, reason, remedy: null });
  const no = (step: Step, reason: string, remedy: string) =>
    steps.push({ step, allowed: false, reason, remedy });
  const who =
    kind === "personal"
      ? `the personal token of account ${user?.slug ?? user?.githubUsername ?? user?.id}`
      : kind === "anonymous"
        ? "without a token, the API"
        : "the token";
  const name = opts.cache ?? "";
  const noCache = (step: Step) =>
    no(step, "no cache named", "pass --cache NAME to check this step against a cache");

  // read / push / set a signing key: what GET /cache/{name} says about the permission.
  if (!cache) {
    noCache("read");
    noCache("push");
  } else if (cache.exists === false) {
    const create =
      kind === "personal"
        ? `create it: \`nixcache provision cachix://${name}\` with this token`
        : `create it: ${remedies.createCacheByHand(name, undefined)}, or ${remedies.personalToken} and run \`nixcache provision cachix://${name}\``;
    no("read", `cache ${name} does not exist (GET /cache/${name} answered 404)`, create);
    no("push", `cache ${name} does not exist`, create);
  } else if (!bc) {
    const reason = `${who} cannot see cache ${name}: ${cache.error}`;
    no("read", reason, remedies.cacheToken(name, "Read"));
    no("push", reason, remedies.cacheToken(name, "Write"));
  } else {
    const perm = bc.permission;
    const source =
      perm === "Read" && bc.isPublic ? `cache ${name} is public` : `${who} has ${perm} on cache ${name}`;
    yes("read", source);
    if (perm === "Write" || perm === "Admin") yes("push", `${who} has ${perm} on cache ${name}`);
    else no("push", `${source}, but pushing needs Write`, remedies.cacheToken(name, "Write"));
  }

  if (user) yes("create a cache", `${who} may create caches (GET /user answered)`);
  else if (!hasToken) no("create a cache", "no token given (set CACHIX_AUTH_TOKEN)", remedies.personalToken);
  else
    no(
      "create a cache",
      `${kind === "cache" ? "a cache token" : "this token"} cannot create caches: GET /user refused it (${userRefusal})`,
      `${remedies.personalToken}; or ${remedies.createCacheByHand(name || "NAME", undefined)}`,
    );

  if (!managesTokens)
    no(
      "create tokens",
      hasToken ? "GET /token refused this token: only personal tokens manage tokens" : "no token given",
      remedies.personalToken,
    );
  else if (!cache) yes("create tokens", `${who} may create tokens (GET /token answered)`);
  else if (bc?.permission === "Admin")
    yes("create tokens", `${who} may create tokens for cache ${name} (Admin)`);
  else if (cache.exists === false)
    yes("create tokens", `${who} may create tokens, for caches it creates (GET /token answered)`);
  else
    no(
      "create tokens",
      `${who} may manage tokens, but not for cache ${name}: its permission there is ${bc?.permission ?? "none"}`,
      remedies.adminOnCache(name),
    );

  if (!cache) noCache("set a signing key");
  else if (bc?.permission === "Admin") yes("set a signing key", `${who} has Admin on cache ${name}`);
  else if (cache.exists === false && user)
    yes("set a signing key", `${who} will own cache ${name} once it creates it`);
  else
    no(
      "set a signing key",
      `setting a signing key needs Admin on cache ${name}; ${who} has ${bc?.permission ?? "no access"}`,
      `${remedies.adminOnCache(name)}; or ${remedies.setKeyByHand(name)}`,
    );

  steps.sort((a, b) => STEPS.indexOf(a.step) - STEPS.indexOf(b.step));
  return {
    api: api.apiUrl,
    token: {
      kind,
      jwtClaims: claims && describeClaims(claims),
      account: user && {
        id: user.id,
        githubUsername: user.githubUsername,
        email: user.email,
        slug: user.slug,
      },
      managesTokens,
    },
    cache,
    steps,
  };
}
