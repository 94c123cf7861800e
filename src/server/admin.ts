// Administration of a server's metadata: caches, tokens and trust rules, through the metadata store, so it
// works wherever the metadata lives. Safe while a server runs on the same data directory (the
// server reads caches and tokens per request). The CLI's `cache` and `token` commands only render.
import { z } from "zod";
import { hashToken, isTokenId, mintToken, tokenId } from "./auth/tokens.js";
import { TrustRuleSchema } from "./auth/trust-rules.js";
import { AdminError, DbError } from "./errors.js";
import { AccountName, CacheName, validationMessage } from "./metadata/names.js";
import type { MetadataStore } from "./metadata/store.js";
import type { CacheRow, Permission, TokenRow, TrustRuleRow } from "./metadata/types.js";
import { describeLocation, type StoreLocation, withMetadata } from "./stores.js";

/** Where the metadata is: a data directory, or a full location. */
export type AdminTarget = string | StoreLocation;

async function withStore<T>(at: AdminTarget, f: (meta: MetadataStore) => Promise<T>): Promise<T> {
  try {
    return await withMetadata(typeof at === "string" ? { dataDir: at } : at, f);
  } catch (e) {
    if (e instanceof DbError) throw new AdminError(e.code, e.message, { cause: e });
    throw e;
  }
}

function where(at: AdminTarget): string {
  return typeof at === "string" ? at : describeLocation(at);
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

/** Creates a cache with a fresh managed signing key; returns it with its public key. */
export async function adminCreateCache(
  at: AdminTarget,
  input: z.input<typeof CreateCacheInput>,
): Promise<CacheRow> {
  const parsed = CreateCacheInput.safeParse(input);
  if (!parsed.success) throw new AdminError("usage", validationMessage(parsed.error));
  return withStore(at, (meta) => meta.createCache(parsed.data));
}

export async function adminListCaches(at: AdminTarget): Promise<Array<CacheRow & { narinfos: number }>> {
  return withStore(at, (meta) => meta.listCaches());
}

/** Creates a token for an existing cache; the returned token text is the only copy. */
export async function adminCreateToken(
  at: AdminTarget,
  opts: { cache: string; perm: Permission; expiresAt: number | null; description?: string },
): Promise<{ token: string; row: TokenRow }> {
  return withStore(at, async (meta) => {
    if (!(await meta.getCache(opts.cache)))
      throw new AdminError("notFound", `no cache named ${JSON.stringify(opts.cache)} in ${where(at)}`);
    return mintToken(meta, { kind: "cache", ...opts });
  });
}

/**
 * Creates a personal token for an account (creating the account when it is new). A personal token
 * acts for its account on the Cachix API: it creates caches (owned by the account), their tokens,
 * and administers them. The returned token text is the only copy.
 */
export async function adminCreatePersonalToken(
  at: AdminTarget,
  opts: { account: string; expiresAt: number | null; description?: string; email?: string },
): Promise<{ token: string; row: TokenRow }> {
  const name = AccountName.safeParse(opts.account);
  if (!name.success) throw new AdminError("usage", `--account: ${validationMessage(name.error)}`);
  return withStore(at, async (meta) => {
    await meta.ensureAccount(name.data, { email: opts.email });
    return mintToken(meta, {
      kind: "personal",
      account: name.data,
      expiresAt: opts.expiresAt,
      description: opts.description,
    });
  });
}

/** Revokes a token named by its id (`tok_…`) or by the token itself. */
export async function adminRevokeToken(at: AdminTarget, idOrToken: string): Promise<TokenRow> {
  const id = isTokenId(idOrToken) ? idOrToken : tokenId(hashToken(idOrToken));
  return withStore(at, async (meta) => {
    const row = await meta.tokenById(id);
    if (!row) throw new AdminError("notFound", isTokenId(idOrToken) ? `no token ${id}` : "no such token");
    if (!(await meta.revokeToken(id))) throw new AdminError("conflict", `token ${id} was already revoked`);
    const updated = await meta.tokenById(id);
    if (!updated) throw new AdminError("internal", `token ${id} vanished`);
    return updated;
  });
}

export async function adminListTokens(at: AdminTarget): Promise<TokenRow[]> {
  return withStore(at, (meta) => meta.listTokens());
}

async function existingCache(meta: MetadataStore, at: AdminTarget, name: string): Promise<CacheRow> {
  const cache = await meta.getCache(name);
  if (!cache) throw new AdminError("notFound", `no cache named ${JSON.stringify(name)} in ${where(at)}`);
  return cache;
}

/**
 * Adds an OIDC trust rule to a cache: identity tokens of `issuer` whose `sub` (and each named
 * claim) match the patterns get `perm` on the cache through `POST /api/v1/oidc/token`. Checked
 * by TrustRuleSchema (a GitHub rule must pin the repository owner, patterns start literally).
 */
export async function adminAddTrustRule(
  at: AdminTarget,
  input: { cache: string; issuer: string; subject: string; claims?: Record<string, string>; perm: string },
): Promise<TrustRuleRow> {
  const parsed = TrustRuleSchema.safeParse(input);
  if (!parsed.success) throw new AdminError("usage", validationMessage(parsed.error));
  return withStore(at, async (meta) => {
    await existingCache(meta, at, parsed.data.cache);
    return meta.addTrustRule(parsed.data);
  });
}

/** The trust rules of one cache (it must exist), or of every cache. */
export async function adminListTrustRules(at: AdminTarget, cache?: string): Promise<TrustRuleRow[]> {
  return withStore(at, async (meta) => {
    if (cache !== undefined) await existingCache(meta, at, cache);
    return meta.trustRules(cache === undefined ? {} : { cache });
  });
}

/** Removes a cache's trust rule by id; tokens it already granted stay valid until they expire. */
export async function adminRemoveTrustRule(at: AdminTarget, cache: string, id: string): Promise<void> {
  return withStore(at, async (meta) => {
    await existingCache(meta, at, cache);
    if (!(await meta.removeTrustRule(cache, id)))
      throw new AdminError("notFound", `cache ${cache} has no trust rule ${JSON.stringify(id)}`);
  });
}
