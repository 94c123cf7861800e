// Request authorization. `authorize` is a pure decision over a cache and the presented token;
// `identify` and `authorizeRequest` fetch what it needs from the metadata store.
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
  if (row.revokedAt !== null) return { kind: "invalid", message: `token ${row.id} has been revoked` };
  if (row.expiresAt !== null && row.expiresAt <= now)
    return { kind: "invalid", message: `token ${row.id} has expired` };
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
      message:
        needed === "read"
          ? `cache ${cache.name} is private: a token with read permission is required`
          : `${needed} access to cache ${cache.name} requires a token`,
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
      message: `personal token ${row.id} (account ${row.account}) has no access to cache ${cache.name}`,
    };
  }
  if (row.cache !== cache.name) {
    if (publicRead) return { ok: true };
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

/** The highest permission `who` has on the cache, or undefined. */
export function permissionOn(cache: CacheRow, who: Identity): Permission | undefined {
  for (const p of ["admin", "write", "read"] as const) if (authorize(cache, who, p).ok) return p;
  return undefined;
}

/** `authorize` for a request's Authorization header. */
export async function authorizeRequest(
  meta: Pick<MetadataStore, "tokenByHash">,
  cache: CacheRow,
  header: string | undefined,
  needed: Permission,
  now = Date.now(),
): Promise<AuthResult> {
  return authorize(cache, await identify(meta, header, now), needed);
}
