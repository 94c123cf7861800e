// Tokens: minted once, shown once, stored only as their SHA-256. Nix can only send HTTP Basic
// credentials (from a netrc file), so a token is also accepted as the Basic password.
import { createHash, randomBytes } from "node:crypto";
import type { MetadataStore } from "../metadata/store.js";
import type { CacheGrants, OidcOrigin, TokenGrant, TokenRow } from "../metadata/types.js";
import { OidcError } from "./oidc.js";

const TOKEN_PREFIX = "nxc_";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The public handle of a token: derived from its hash, safe to list and to revoke by. */
export function tokenId(hash: string): string {
  return `tok_${hash.slice(0, 12)}`;
}

export function isTokenId(s: string): boolean {
  return /^tok_[0-9a-f]{12}$/.test(s);
}

/** Mints a token (cache or personal) and stores its hash; returns the token text (never stored). */
export async function mintToken(
  meta: Pick<MetadataStore, "insertToken">,
  grant: TokenGrant,
): Promise<{ token: string; row: TokenRow }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const hash = hashToken(token);
  const row = await meta.insertToken({ ...grant, hash, id: tokenId(hash) });
  return { token, row };
}

/**
 * Mints the token of an OIDC exchange: one per identity token (`identity`), at most `perMinute`
 * per subject. Refusals are OidcErrors: replayed (409), rateLimited (429, with when to retry).
 */
export async function mintOidcToken(
  meta: Pick<MetadataStore, "insertOidcToken">,
  grant: { grants: CacheGrants; expiresAt: number; description: string } & OidcOrigin & { identity: string },
  o: { perMinute: number; purgeBefore: number },
): Promise<{ token: string; row: TokenRow }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const hash = hashToken(token);
  const { grants, expiresAt, description, ...oidc } = grant;
  const r = await meta.insertOidcToken(
    { kind: "oidc", grants, expiresAt, description, oidc, hash, id: tokenId(hash) },
    o,
  );
  if ("row" in r) return { token, row: r.row };
  if (r.refused === "replayed")
    throw new OidcError(
      "replayed",
      `this identity token was exchanged already (for ${r.tokenId}, at ${new Date(r.at).toISOString()}): ` +
        "one identity token gives one cache token; request a fresh identity token for another",
    );
  const seconds = Math.ceil(r.retryAfterMs / 1000);
  throw new OidcError(
    "rateLimited",
    `subject ${JSON.stringify(oidc.subject)} of issuer ${oidc.issuer} exchanged ${o.perMinute} identity tokens ` +
      `in the last minute, this server's limit (--oidc-exchanges-per-minute): retry in ${seconds}s`,
    { retryAfterMs: r.retryAfterMs },
  );
}

/** The token carried by an Authorization header (Bearer, or the password of Basic), if any. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(" ");
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer") return value || undefined;
  if (scheme === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const password = colon >= 0 ? decoded.slice(colon + 1) : decoded;
    return password || undefined;
  }
  return undefined;
}

/** The state of a token at `now`, for listings. */
export function tokenState(t: TokenRow, now = Date.now()): "active" | "revoked" | "expired" {
  if (t.revokedAt !== null) return "revoked";
  if (t.expiresAt !== null && t.expiresAt <= now) return "expired";
  return "active";
}

/** What a token may do, for messages and listings: `write on main`, `read on a, write on b`. */
export function describeGrant(t: Pick<TokenRow, "kind" | "cache" | "perm" | "account" | "grants">): string {
  if (t.kind === "personal") return `acts for account ${t.account}`;
  if (t.kind === "oidc") {
    const grants = Object.entries(t.grants ?? {}).sort(([a], [b]) => a.localeCompare(b));
    return grants.length === 0 ? "no cache" : grants.map(([c, p]) => `${p} on ${c}`).join(", ");
  }
  return `${t.perm} on ${t.cache}`;
}
