// Offline administration of a data directory: caches and tokens. Safe while a server runs on the
// same directory (SQLite WAL with a busy timeout); the server reads caches and tokens per request.
import { z } from "zod";
import { createToken, hashToken, isTokenId, tokenId } from "./auth.js";
import { type CacheRow, DbError, type Permission, ServerDb, type TokenRow } from "./db.js";
import { CacheName } from "./routes/nix.js";

export class AdminError extends Error {
  override name = "AdminError";
}

function withDb<T>(dataDir: string, f: (db: ServerDb) => T): T {
  const db = ServerDb.open(dataDir);
  try {
    return f(db);
  } catch (e) {
    if (e instanceof DbError) throw new AdminError(e.message);
    throw e;
  } finally {
    db.close();
  }
}

const CreateCacheInput = z.object({
  name: CacheName,
  isPublic: z.boolean(),
  priority: z.number().int().min(0).max(10000),
  keyName: z
    .string()
    .regex(/^[^:\s]+$/, "a key name has no ':' or whitespace")
    .optional(),
});

export function validationMessage(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ");
}

/** Creates a cache with a fresh managed signing key; returns it with its public key. */
export function adminCreateCache(dataDir: string, input: z.input<typeof CreateCacheInput>): CacheRow {
  const parsed = CreateCacheInput.safeParse(input);
  if (!parsed.success) throw new AdminError(validationMessage(parsed.error));
  return withDb(dataDir, (db) => db.createCache(parsed.data));
}

export function adminListCaches(dataDir: string): Array<CacheRow & { narinfos: number }> {
  return withDb(dataDir, (db) => db.listCaches());
}

/** Creates a token for an existing cache; the returned token text is the only copy. */
export function adminCreateToken(
  dataDir: string,
  opts: { cache: string; perm: Permission; expiresAt: number | null; description?: string },
): { token: string; row: TokenRow } {
  return withDb(dataDir, (db) => {
    if (!db.getCache(opts.cache))
      throw new AdminError(`no cache named ${JSON.stringify(opts.cache)} in ${dataDir}`);
    return createToken(db, opts);
  });
}

/** Revokes a token named by its id (`tok_…`) or by the token itself. */
export function adminRevokeToken(dataDir: string, idOrToken: string): TokenRow {
  const id = isTokenId(idOrToken) ? idOrToken : tokenId(hashToken(idOrToken));
  return withDb(dataDir, (db) => {
    const row = db.findTokenById(id);
    if (!row) throw new AdminError(isTokenId(idOrToken) ? `no token ${id}` : "no such token");
    if (!db.revokeToken(id)) throw new AdminError(`token ${id} was already revoked`);
    const updated = db.findTokenById(id);
    if (!updated) throw new AdminError(`token ${id} vanished`);
    return updated;
  });
}

export function adminListTokens(dataDir: string): TokenRow[] {
  return withDb(dataDir, (db) => db.listTokens());
}
