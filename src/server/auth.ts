// Tokens and request authorization. A token is shown once at creation; only its SHA-256 is kept.
// Nix can only send HTTP Basic credentials (from a netrc file), so the token is also accepted as
// the Basic password, whatever the user name.
import { createHash, randomBytes } from "node:crypto";
import { cacheOwner } from "./cachix-db.js";
import type { CacheRow, Permission, ServerDb, TokenRow } from "./db.js";
import { permits } from "./db.js";

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

/** Creates a token for one cache and stores its hash; returns the token text (never stored). */
export function createToken(
  db: ServerDb,
  opts: { cache: string; perm: Permission; expiresAt: number | null; description?: string },
): { token: string; row: TokenRow } {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const hash = hashToken(token);
  const id = tokenId(hash);
  db.insertToken({ hash, id, ...opts });
  const row = db.findTokenById(id);
  if (!row) throw new Error("token was not stored");
  return { token, row };
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

export type AuthResult = { ok: true; token?: TokenRow } | { ok: false; status: 401 | 403; message: string };

/**
 * Decides whether a request may do `needed` on `cache`. Anonymous reads of public caches pass; a
 * token that is presented must be valid even where none is needed, so a revoked token never
 * silently degrades to anonymous access. Denials are 401: Nix treats 401 on a narinfo as absent.
 */
export function authorize(
  db: ServerDb,
  cache: CacheRow,
  header: string | undefined,
  needed: Permission,
  now = Date.now(),
): AuthResult {
  const token = tokenFromHeader(header);
  if (token === undefined) {
    if (needed === "read" && cache.isPublic) return { ok: true };
    return {
      ok: false,
      status: 401,
      message:
        needed === "read"
          ? `cache ${cache.name} is private: a token with read permission is required`
          : `${needed} access to cache ${cache.name} requires a token`,
    };
  }
  const row = db.findTokenByHash(hashToken(token));
  if (!row) return { ok: false, status: 401, message: "unknown token" };
  if (row.revokedAt !== null) return { ok: false, status: 401, message: `token ${row.id} has been revoked` };
  if (row.expiresAt !== null && row.expiresAt <= now)
    return { ok: false, status: 401, message: `token ${row.id} has expired` };
  if (row.kind === "personal") {
    // A personal token acts for its account: admin on the caches that account owns.
    if (row.account !== null && cacheOwner(db, cache.name) === row.account) return { ok: true, token: row };
    if (needed === "read" && cache.isPublic) return { ok: true };
    return {
      ok: false,
      status: 401,
      message: `personal token ${row.id} (account ${row.account}) has no access to cache ${cache.name}`,
    };
  }
  if (row.cache !== cache.name) {
    if (needed === "read" && cache.isPublic) return { ok: true };
    return { ok: false, status: 401, message: `token ${row.id} is not valid for cache ${cache.name}` };
  }
  if (!permits(row.perm, needed))
    return {
      ok: false,
      status: 401,
      message: `token ${row.id} has ${row.perm} permission on cache ${cache.name}; ${needed} is required`,
    };
  return { ok: true, token: row };
}
