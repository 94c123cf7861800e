// The logic of `POST /api/v1/oidc/token`: a CI job presents its OIDC identity token as a Bearer
// token and gets back a short-lived cache token for the caches its trust rules grant. The route
// only wires this to storage: the rules of an issuer, and a way to mint a token.
import { createHash } from "node:crypto";
import type { OidcClaims, OidcVerifier } from "./oidc.js";
import { OidcError } from "./oidc.js";
import { matchRules, ruleMatches, type TrustPermission, type TrustRule } from "./trust-rules.js";

/**
 * Long enough for a job that exchanges at its start to push at its end (GitHub's limit: 6 h).
 * Counted from the exchange, not capped at the identity token's `exp`: GitHub's identity tokens
 * live minutes, so a cap would leave a long build unable to push.
 */
export const DEFAULT_OIDC_TOKEN_TTL_MS = 6 * 60 * 60 * 1000;

/** The audience a server expects by default: what the Action asks for (github/action-inputs.ts). */
export const DEFAULT_OIDC_AUDIENCE = "nixcache";

/** Default exchanges per subject (an issuer's `sub`) and minute (`serve --oidc-exchanges-per-minute`). */
export const DEFAULT_OIDC_EXCHANGES_PER_MINUTE = 60;

/**
 * What names one identity token: its issuer and `jti`, or where it has none, its issuer, subject
 * and `iat` (a job's next token is issued later). A hash: it is stored, and only compared.
 */
export function identityOf(claims: OidcClaims): string {
  const jti = typeof claims.jti === "string" && claims.jti !== "" ? claims.jti : undefined;
  const parts =
    jti !== undefined ? [claims.iss, "jti", jti] : [claims.iss, "sub", claims.sub, "iat", String(claims.iat)];
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** What the minter is asked for. */
export interface OidcGrantRequest {
  caches: ReadonlyMap<string, TrustPermission>;
  /** The verified claims (for the token's description, e.g. `sub` and `run_id`). */
  claims: OidcClaims;
  /** When the token must stop working (ms since the epoch). */
  expiresAt: number;
  /** identityOf(claims): the minter gives one identity token one cache token. */
  identity: string;
  /** The ids of the trust rules that matched (those that have one). */
  rules: string[];
}

export interface OidcExchangeDeps {
  verifier: Pick<OidcVerifier, "verify">;
  /** The trust rules of an issuer (the token's verified `iss`), with their ids when stored. */
  rulesFor(issuer: string): Promise<ReadonlyArray<TrustRule & { id?: string }>>;
  /**
   * Mints the cache token; its text is returned once and never stored. Throws OidcError replayed
   * (the identity token was exchanged before) or rateLimited.
   */
  mint(grant: OidcGrantRequest): Promise<{ token: string }>;
  /** Lifetime of minted tokens (default DEFAULT_OIDC_TOKEN_TTL_MS). */
  ttlMs?: number;
  now?: () => number;
}

/** The answer's body (JSON). */
export interface OidcExchangeResponse {
  token: string;
  /** ISO 8601, UTC. */
  expiresAt: string;
  caches: Record<string, TrustPermission>;
}

/**
 * Verifies the Bearer identity token in `authorization`, matches the issuer's trust rules, and
 * mints a token for what they grant. Throws OidcError: 401 with the reason (malformed, expired,
 * wrong audience, …, or noMatchingRule), or 503 when the issuer cannot be reached.
 */
export async function exchangeOidcToken(
  deps: OidcExchangeDeps,
  authorization: string | undefined,
): Promise<OidcExchangeResponse> {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? "");
  if (!m?.[1])
    throw new OidcError(
      "malformed",
      "send the CI job's OIDC identity token as Authorization: Bearer <token>",
    );
  const claims = await deps.verifier.verify(m[1]);
  const matched = (await deps.rulesFor(claims.iss)).filter((r) => ruleMatches(r, claims));
  const granted = matchRules(matched, claims);
  if (granted.size === 0)
    throw new OidcError(
      "noMatchingRule",
      `no trust rule of this server grants subject ${JSON.stringify(claims.sub)} of issuer ${claims.iss} access to any cache`,
    );
  const expiresAt = (deps.now ?? Date.now)() + (deps.ttlMs ?? DEFAULT_OIDC_TOKEN_TTL_MS);
  const { token } = await deps.mint({
    caches: granted,
    claims,
    expiresAt,
    identity: identityOf(claims),
    rules: matched.flatMap((r) => (r.id === undefined ? [] : [r.id])),
  });
  const caches: Record<string, TrustPermission> = {};
  for (const [cache, perm] of [...granted].sort(([a], [b]) => a.localeCompare(b))) caches[cache] = perm;
  return { token, expiresAt: new Date(expiresAt).toISOString(), caches };
}
