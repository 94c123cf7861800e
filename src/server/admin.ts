// Administration of a server's metadata: caches, tokens, trust rules, pins and GC, through the metadata store, so it
// works wherever the metadata lives. Safe while a server runs on the same data directory (the
// server reads caches and tokens per request). The CLI's `cache` and `token` commands only render.
import { z } from "zod";
import { parseStorePath } from "../nix/store-path.js";
import { NixcacheError } from "../util/errors.js";
import { hashToken, isTokenId, mintToken, tokenId } from "./auth/tokens.js";
import { TrustRuleSchema } from "./auth/trust-rules.js";
import { NewCacheName } from "./cache-names.js";
import { AdminError, DbError } from "./errors.js";
import { collectGarbage, GcBusyError, type GcOptions, type GcReport } from "./gc.js";
import { AccountName, PinName, validationMessage } from "./metadata/names.js";
import { PIN_LISTED_REVISIONS } from "./metadata/pins.js";
import type { MetadataStore } from "./metadata/store.js";
import type { CacheRow, Permission, PinKeep, PinRow, TokenRow, TrustRuleRow } from "./metadata/types.js";
import {
  describeLocation,
  openMetadata,
  openStorage,
  type StateLocation,
  withMetadata,
} from "./state-location.js";

/** Where the metadata is: a data directory, or a full location. */
export type AdminTarget = string | StateLocation;

/** Opens the metadata database alone (no blob storage) for one call; its errors become AdminErrors. */
async function withAdminMetadata<T>(at: AdminTarget, f: (meta: MetadataStore) => Promise<T>): Promise<T> {
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

/** Retention in ms (null: forever) and quota in bytes (null: none), as `cache create/update` take them. */
const Limits = {
  retentionMs: z.number().int().min(1000, "a retention is at least 1s").nullable().optional(),
  quotaBytes: z.number().int().min(0).nullable().optional(),
};

const CreateCacheInput = z.object({
  name: NewCacheName,
  isPublic: z.boolean(),
  priority: z.number().int().min(0).max(10000),
  keyName: z
    .string()
    .regex(/^[^:\s]+$/, "a key name has no ':' or whitespace")
    .optional(),
  ...Limits,
});

/** Creates a cache with a fresh managed signing key; returns it with its public key. */
export async function adminCreateCache(
  at: AdminTarget,
  input: z.input<typeof CreateCacheInput>,
): Promise<CacheRow> {
  const parsed = CreateCacheInput.safeParse(input);
  if (!parsed.success) throw new AdminError("usage", validationMessage(parsed.error));
  const { retentionMs, quotaBytes, ...cache } = parsed.data;
  return withAdminMetadata(at, async (meta) => {
    const row = await meta.createCache(cache);
    if (retentionMs == null && quotaBytes == null) return row;
    await meta.setCacheLimits(row.name, { retentionMs, quotaBytes });
    return { ...row, retentionMs: retentionMs ?? null, quotaBytes: quotaBytes ?? null };
  });
}

export async function adminListCaches(
  at: AdminTarget,
): Promise<Array<CacheRow & { narinfos: number; bytes: number }>> {
  return withAdminMetadata(at, (meta) => meta.listCaches());
}

const UpdateCacheInput = z.object({ isPublic: z.boolean().optional(), ...Limits });

/** Changes a cache's visibility, retention or quota; returns it as it is now. */
export async function adminUpdateCache(
  at: AdminTarget,
  name: string,
  change: z.input<typeof UpdateCacheInput>,
): Promise<CacheRow & { narinfos: number; bytes: number }> {
  const parsed = UpdateCacheInput.safeParse(change);
  if (!parsed.success) throw new AdminError("usage", validationMessage(parsed.error));
  const { isPublic, retentionMs, quotaBytes } = parsed.data;
  if (isPublic === undefined && retentionMs === undefined && quotaBytes === undefined)
    throw new AdminError("usage", "nothing to change: give --retention, --quota, --public or --private");
  return withAdminMetadata(at, async (meta) => {
    if (!(await meta.getCache(name)))
      throw new AdminError("notFound", `no cache named ${JSON.stringify(name)} in ${where(at)}`);
    await meta.setCacheLimits(name, { retentionMs, quotaBytes });
    if (isPublic !== undefined) await meta.updateCache(name, { isPublic });
    const row = (await meta.listCaches()).find((c) => c.name === name);
    if (!row) throw new AdminError("notFound", `cache ${JSON.stringify(name)} vanished`);
    return row;
  });
}

/** `/nix/store/<hash>-<name>`, checked, with its hash part. */
function pinnedPath(storePath: string): { storePath: string; hash: string } {
  try {
    const sp = parseStorePath(storePath);
    return { storePath: sp.path, hash: sp.hash };
  } catch (e) {
    throw new AdminError(
      "usage",
      `${JSON.stringify(storePath)} is not a store path: ${(e as Error).message}`,
    );
  }
}

/**
 * Pins a store path of the cache under `name` (a new revision of it), keeping the path and its
 * closure through every GC. The path must have a visible narinfo in the cache.
 */
export async function adminAddPin(
  at: AdminTarget,
  o: { cache: string; name: string; storePath: string; keep?: PinKeep; artifacts?: string[] },
): Promise<PinRow> {
  const name = PinName.safeParse(o.name);
  if (!name.success) throw new AdminError("usage", `pin name: ${validationMessage(name.error)}`);
  const path = pinnedPath(o.storePath);
  return withAdminMetadata(at, async (meta) => {
    if (!(await meta.getCache(o.cache)))
      throw new AdminError("notFound", `no cache named ${JSON.stringify(o.cache)} in ${where(at)}`);
    return meta.addPin({ cache: o.cache, name: name.data, ...path, keep: o.keep, artifacts: o.artifacts });
  });
}

/** Every pin of the cache by name, each with its newest PIN_LISTED_REVISIONS revisions. */
export async function adminListPins(at: AdminTarget, cache: string): Promise<PinRow[]> {
  return withAdminMetadata(at, async (meta) => {
    if (!(await meta.getCache(cache)))
      throw new AdminError("notFound", `no cache named ${JSON.stringify(cache)} in ${where(at)}`);
    const pins: PinRow[] = [];
    for (;;) {
      const page = await meta.listPins(cache, {
        after: pins.at(-1)?.name,
        limit: 500,
        revisions: PIN_LISTED_REVISIONS,
      });
      pins.push(...page);
      if (page.length < 500) return pins;
    }
  });
}

export async function adminRemovePin(at: AdminTarget, cache: string, name: string): Promise<void> {
  return withAdminMetadata(at, async (meta) => {
    if (!(await meta.getCache(cache)))
      throw new AdminError("notFound", `no cache named ${JSON.stringify(cache)} in ${where(at)}`);
    if (!(await meta.removePin(cache, name)))
      throw new AdminError(
        "notFound",
        `cache ${JSON.stringify(cache)} has no pin named ${JSON.stringify(name)}`,
      );
  });
}

/**
 * One garbage collection over the server's state (`nixcache gc`): safe while servers run on it
 * (they hold the lease in turn; a running one makes this fail as busy).
 */
export async function adminGc(at: StateLocation, o: Omit<GcOptions, "access">): Promise<GcReport> {
  try {
    const meta = await openMetadata(at);
    try {
      const storage = await openStorage(at);
      await storage.init({ clearStaging: false });
      return await collectGarbage(meta, storage, o);
    } finally {
      await meta.close();
    }
  } catch (e) {
    if (
      e instanceof DbError ||
      e instanceof GcBusyError ||
      (e instanceof NixcacheError && e.code === "notFound")
    )
      throw new AdminError(e.code, e.message, { cause: e });
    throw e;
  }
}

/** Creates a token for an existing cache; the returned token text is the only copy. */
export async function adminCreateToken(
  at: AdminTarget,
  opts: { cache: string; perm: Permission; expiresAt: number | null; description?: string },
): Promise<{ token: string; row: TokenRow }> {
  return withAdminMetadata(at, async (meta) => {
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
  return withAdminMetadata(at, async (meta) => {
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
  return withAdminMetadata(at, async (meta) => {
    const row = await meta.tokenById(id);
    if (!row) throw new AdminError("notFound", isTokenId(idOrToken) ? `no token ${id}` : "no such token");
    if (!(await meta.revokeToken(id))) throw new AdminError("conflict", `token ${id} was already revoked`);
    const updated = await meta.tokenById(id);
    if (!updated) throw new AdminError("internal", `token ${id} vanished`);
    return updated;
  });
}

/**
 * Revokes every working token the OIDC exchange minted for a subject (`sub`, of `issuer` when
 * given), or under a trust rule (its id), or both; returns them (none is not an error).
 */
export async function adminRevokeOidcTokens(
  at: AdminTarget,
  f: { subject?: string; issuer?: string; rule?: string },
): Promise<TokenRow[]> {
  if (f.subject === undefined && f.rule === undefined)
    throw new AdminError(
      "usage",
      "name the tokens to revoke: a subject (--subject) or a trust rule (--rule)",
    );
  if (f.rule !== undefined && !/^rule_[0-9a-f]+$/.test(f.rule))
    throw new AdminError(
      "usage",
      `${JSON.stringify(f.rule)} is not a trust rule id (rule_…, from \`cache trust list\`)`,
    );
  return withAdminMetadata(at, (meta) => meta.revokeOidcTokens(f));
}

export async function adminListTokens(at: AdminTarget): Promise<TokenRow[]> {
  return withAdminMetadata(at, (meta) => meta.listTokens());
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
  return withAdminMetadata(at, async (meta) => {
    await existingCache(meta, at, parsed.data.cache);
    return meta.addTrustRule(parsed.data);
  });
}

/** The trust rules of one cache (it must exist), or of every cache. */
export async function adminListTrustRules(at: AdminTarget, cache?: string): Promise<TrustRuleRow[]> {
  return withAdminMetadata(at, async (meta) => {
    if (cache !== undefined) await existingCache(meta, at, cache);
    return meta.trustRules(cache === undefined ? {} : { cache });
  });
}

/** Removes a cache's trust rule by id; tokens it already granted stay valid until they expire. */
export async function adminRemoveTrustRule(at: AdminTarget, cache: string, id: string): Promise<void> {
  return withAdminMetadata(at, async (meta) => {
    await existingCache(meta, at, cache);
    if (!(await meta.removeTrustRule(cache, id)))
      throw new AdminError("notFound", `cache ${cache} has no trust rule ${JSON.stringify(id)}`);
  });
}
