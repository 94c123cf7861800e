// `POST /api/v1/oidc/token`: a CI job's OIDC identity token (as `Authorization: Bearer`) for a
// short-lived cache token, under the trust rules stored with the caches. The logic is in
// auth/oidc-exchange.ts; this wires it to the metadata store. Refusals are the Cachix API's
// `{"error": …}` replies: 401 with the reason, 503 while the issuer cannot be reached.
import type { FastifyInstance } from "fastify";
import { type OidcClaims, OidcError } from "../auth/oidc.js";
import { exchangeOidcToken } from "../auth/oidc-exchange.js";
import { mintOidcToken } from "../auth/tokens.js";
import type { ServerContext } from "../context.js";
import { ApiError } from "../errors.js";
import { drain, type Req, sendJson } from "./cachix-request.js";

export const OIDC_TOKEN_PATH = "/oidc/token";

/** What `token list` shows for an exchanged token: the identity's subject (never the JWT). */
function description(claims: OidcClaims): string {
  return claims.sub.slice(0, 512);
}

export function registerOidcRoutes(api: FastifyInstance, ctx: ServerContext): void {
  api.post(OIDC_TOKEN_PATH, async (req: Req, reply) => {
    await drain(req.raw);
    const oidc = ctx.oidc;
    if (!oidc)
      throw new ApiError(
        "notFound",
        "this server has no OIDC token exchange: it was started without --oidc-issuer",
      );
    const answer = await exchangeOidcToken(
      {
        verifier: oidc.verifier,
        rulesFor: (issuer) => ctx.meta.trustRules({ issuer }),
        mint: ({ caches, claims, expiresAt, identity, rules }) =>
          mintOidcToken(
            ctx.meta,
            {
              grants: Object.fromEntries(caches),
              expiresAt,
              description: description(claims),
              issuer: claims.iss,
              subject: claims.sub,
              rules,
              identity,
            },
            {
              perMinute: oidc.exchangesPerMinute,
              // An identity token older than this is refused anyway: what it was exchanged for
              // need not be remembered once expired for as long.
              purgeBefore: Date.now() - oidc.verifier.acceptedForMs(),
            },
          ),
        ttlMs: oidc.tokenTtlMs,
      },
      req.headers.authorization,
    ).catch((e: unknown) => {
      // The client hears 503; the operator should hear that an issuer is unreachable (the message
      // names the issuer and the failure, never a token).
      if (e instanceof OidcError && e.reason === "issuerUnavailable") ctx.logError(e);
      if (e instanceof OidcError && e.retryAfterMs !== undefined)
        reply.header("retry-after", String(Math.ceil(e.retryAfterMs / 1000)));
      throw e;
    });
    // The answer holds a secret: no cache, no proxy, may keep it.
    reply.header("cache-control", "no-store");
    return sendJson(reply, answer);
  });
}
