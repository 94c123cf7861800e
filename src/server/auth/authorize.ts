// Request authorization. `authorize` is a pure decision over a cache and the presented token;
// `identify` fetches what it needs from the metadata store; `resolveCache` adds the cache lookup.
import type { MetadataStore } from "../metadata/store.js";
import { type CacheRow, type Permission, permits, type TokenRow } from "../metadata/types.js";
import { hashToken, tokenFromHeader } from "./tokens.js";

/** Who presented what: nobody, a token that does not work (and why), or a valid token. */
export type Identity =
  | { kind: "anonymous" }
  | { kind: "invalid"; message: string }
  | { kind: "token"; token: TokenRow };

export type AuthResult = { ok: true; token?: TokenRow } | { ok: false; status: 401 | 403; message: string };

/** Checks a token row: unknown, revoked and expired tokens do not work. */
export function identity(row: TokenRow | undefined, now = Date.now()): Identity {
  if (!row) return { kind: "invalid", message: "unknown token" };
  if (row.revokedAt !== null) return { kind: "invalid", message: "this token has been revoked" };
  if (row.expiresAt !== null && row.expiresAt <= now)
    return { kind: "invalid", message: "this token has expired" };
  return { kind: "token", token: row };
}

/** The identity behind an Authorization header (Bearer, or the password of Basic). */
export async function identify(
  meta: Pick<MetadataStore, "tokenByHash">,
  header: string | undefined,
  now = Date.now(),
): Promise<Identity> {
  const text = tokenFromHeader(header);
  if (text === undefined) return { kind: "anonymous" };
  return identity(await meta.tokenByHash(hashToken(text)), now);
}

/**
 * What a caller without read access hears about a private cache, word for word what it hears
 * about a cache that does not exist: nobody can find out which private caches a server has.
 * Messages never name token ids either (they are half of what a log reader would need).
 */
export function hiddenCache(name: string): string {
  return `cache ${name} is private or does not exist: a token with read access to it is required`;
}

/**
 * Decides whether `who` may do `needed` on `cache`. Anonymous reads of public caches pass; a
 * token that is presented must be valid even where none is needed, so a revoked token never
 * silently degrades to anonymous access. Denials are 401: Nix treats 401 on a narinfo as absent.
 */
export function authorize(cache: CacheRow, who: Identity, needed: Permission): AuthResult {
  const publicRead = needed === "read" && cache.isPublic;
  if (who.kind === "anonymous") {
    if (publicRead) return { ok: true };
    return {
      ok: false,
      status: 401,
      message: cache.isPublic
        ? `${needed} access to cache ${cache.name} requires a token`
        : hiddenCache(cache.name),
    };
  }
  if (who.kind === "invalid") return { ok: false, status: 401, message: who.message };
  const row = who.token;
  if (row.kind === "personal") {
    // A personal token acts for its account: admin on the caches that account owns.
    if (row.account !== null && cache.owner === row.account) return { ok: true, token: row };
    if (publicRead) return { ok: true };
    return {
      ok: false,
      status: 401,
      message: cache.isPublic
        ? `this personal token (of account ${row.account}) has no ${needed} access to cache ${cache.name}`
        : hiddenCache(cache.name),
    };
  }
  // A cache token holds one permission on one cache; an oidc token one per cache it was granted.
  const held =
    row.kind === "oidc" ? grantOn(row, cache.name) : row.cache === cache.name ? row.perm : undefined;
  if (held === undefined) {
    if (publicRead) return { ok: true };
    return {
      ok: false,
      status: 401,
      message: cache.isPublic ? `this token is not valid for cache ${cache.name}` : hiddenCache(cache.name),
    };
  }
  if (!permits(held, needed))
    return {
      ok: false,
      status: 401,
      message: `this token has ${held} permission on cache ${cache.name}; ${needed} is required`,
    };
  return { ok: true, token: row };
}

/** An oidc token's permission on a cache; own properties only (a cache may be named `constructor`). */
function grantOn(row: TokenRow, cache: string): Permission | undefined {
  return row.grants && Object.hasOwn(row.grants, cache) ? row.grants[cache] : undefined;
}

/** The highest permission `who` has on the cache, or undefined. */
export function permissionOn(cache: CacheRow, who: Identity): Permission | undefined {
  for (const p of ["admin", "write", "read"] as const) if (authorize(cache, who, p).ok) return p;
  return undefined;
}

/**
 * The cache named `name` if `who` may do `needed` on it, else the refusal. A cache that does not
 * exist is refused exactly as a private one is (401, same words), except to personal tokens (404):
 * they may create caches, and a creation would tell them anyway.
 */
export function resolveCache(
  name: string,
  cache: CacheRow | undefined,
  who: Identity,
  needed: Permission,
): { ok: true; cache: CacheRow } | { ok: false; status: 401 | 403 | 404; message: string } {
  if (!cache) {
    if (who.kind === "invalid") return { ok: false, status: 401, message: who.message };
    if (who.kind === "token" && who.token.kind === "personal")
      return { ok: false, status: 404, message: `Binary cache ${name} does not exist.` };
    return { ok: false, status: 401, message: hiddenCache(name) };
  }
  const auth = authorize(cache, who, needed);
  return auth.ok ? { ok: true, cache } : auth;
}
