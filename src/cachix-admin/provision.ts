// `provision`: bring a cache to what was asked (exists, visibility, signing key) through the API.
// It plans first (what exists against what is asked), then acts unless it is a dry run. A second
// run finds nothing to change; an existing cache is converged. When the token cannot do a step,
// it stops before changing anything, with the manual steps and the remedy.
import { type CachixApi, CachixApiError, cacheAccessMessage } from "../caches/cachix/client.js";
import type { BinaryCache, User } from "../cachix-api/schemas.js";
import type { PublicKey } from "../nix/signing.js";
import { NixcacheError } from "../util/errors.js";
import { remediesFor } from "./remedies.js";

export interface ProvisionRequest {
  name: string;
  /** Asked visibility; undefined keeps an existing cache's and makes a new one public. */
  isPublic?: boolean;
  /** managed: the server signs; own: the client signs with this key (its public half is registered). */
  key?:
    | { kind: "managed" }
    | { kind: "own"; publicKey: PublicKey /** name from a Nix key file, if any */; named: boolean };
  dryRun?: boolean;
  /** Whether a token was given (for the wording of refusals). */
  hasToken: boolean;
}

export interface ProvisionResult {
  cache: string;
  api: string;
  /** The Nix substituter URL of the cache. */
  substituter: string | null;
  publicKeys: string[];
  isPublic: boolean | null;
  permission: BinaryCache["permission"] | null;
  preferredCompressionMethod: BinaryCache["preferredCompressionMethod"] | null;
  /** Whether this run created the cache (or, for a dry run, would). */
  created: boolean;
  /** What this run changed (or would): empty when the cache already was as asked. */
  changed: string[];
  dryRun: boolean;
}

/** The token cannot do what is asked: nothing was changed. */
export class ProvisionRefused extends NixcacheError {
  constructor(
    message: string,
    /** The steps to do by hand instead. */
    readonly manualSteps: string[],
    /** How to get a token that can. */
    readonly remedy: string,
  ) {
    super("forbidden", message);
  }
}

export async function provision(api: CachixApi, req: ProvisionRequest): Promise<ProvisionResult> {
  const remedies = remediesFor(api);
  const name = req.name;
  let existing: BinaryCache | null = null;
  try {
    existing = await api.getCache(name);
  } catch (e) {
    if (!(e instanceof CachixApiError) || (e.status !== 404 && e.status !== 401)) throw e;
    // 401 is also what a cache that does not exist answers to a token without access to it (no
    // enumeration of private caches), so the remedy covers both.
    if (e.status === 401)
      throw new ProvisionRefused(
        cacheAccessMessage(name, e, req.hasToken),
        [remedies.createCacheByHand(name, req.isPublic)],
        `${remedies.adminOnCache(name)}; if it does not exist yet, ${remedies.personalToken}`,
      );
  }
  const ownKey = req.key?.kind === "own" ? req.key.publicKey : undefined;
  const b64 = ownKey?.key.toString("base64");
  const changed: string[] = [];

  if (!existing) {
    let user: User | null = null;
    let refusal = "";
    try {
      user = await api.getUser();
    } catch (e) {
      if (!(e instanceof CachixApiError) || (e.status !== 401 && e.status !== 403)) throw e;
      refusal = e.serverMessage ?? `HTTP ${e.status}`;
    }
    if (!user) {
      const steps = [remedies.createCacheByHand(name, req.isPublic)];
      if (ownKey) steps.push(remedies.setKeyByHand(name));
      throw new ProvisionRefused(
        `cannot create cache ${name}: ${req.hasToken ? `this token is not a personal token (GET /user: ${refusal})` : "no token given (set CACHIX_AUTH_TOKEN)"}; a cache token cannot create caches`,
        steps,
        `${remedies.personalToken}, then run this command again`,
      );
    }
    const isPublic = req.isPublic ?? true;
    changed.push(
      `create cache ${name} (${isPublic ? "public" : "private"}, ${ownKey ? "signed by your key" : "managed signing key"})`,
    );
    if (ownKey) changed.push(`register public key ${b64}`);
    if (req.dryRun) return result(api, name, null, true, changed, true, isPublic);
    await api.createCache(name, { isPublic, generateSigningKey: !ownKey, accountID: user.id });
    if (ownKey && b64)
      await api.addKey(name, {
        publicKey: b64,
        ...(req.key?.kind === "own" && req.key.named ? { keyName: ownKey.name } : {}),
      });
    return result(api, name, await api.getCache(name), true, changed, false);
  }

  // Converge an existing cache.
  const needsAdmin: string[] = [];
  const wantPublic = req.isPublic !== undefined && req.isPublic !== existing.isPublic;
  if (wantPublic) needsAdmin.push(`make cache ${name} ${req.isPublic ? "public" : "private"}`);
  const hasKey = (k: string) => existing.publicSigningKeys.some((s) => s.slice(s.indexOf(":") + 1) === k);
  const wantKey = b64 !== undefined && !hasKey(b64);
  if (wantKey) needsAdmin.push(`register public key ${b64}`);
  if (req.key?.kind === "managed" && existing.publicSigningKeys.length === 0)
    throw new ProvisionRefused(
      `cache ${name} has no signing key, and the API cannot give an existing cache a managed key`,
      [
        `generate a key by hand and register it (\`nixcache provision cachix://${name} --signing-key FILE\`), or recreate the cache with a managed key`,
      ],
      remedies.adminOnCache(name),
    );
  if (needsAdmin.length > 0 && existing.permission !== "Admin")
    throw new ProvisionRefused(
      `cannot ${needsAdmin.join(" and ")}: the token has ${existing.permission} on cache ${name}, Admin is needed`,
      [
        ...(wantPublic
          ? [
              api.isPublicCachix
                ? `set the visibility by hand in the settings of https://app.cachix.org/cache/${name}`
                : `PUT /api/v1/cache/${name}/settings {"isPublic": ${req.isPublic}} with an Admin token`,
            ]
          : []),
        ...(wantKey ? [remedies.setKeyByHand(name)] : []),
      ],
      remedies.adminOnCache(name),
    );
  changed.push(...needsAdmin);
  if (req.dryRun || changed.length === 0) return result(api, name, existing, false, changed, !!req.dryRun);
  if (wantPublic) await api.putSettings(name, { isPublic: req.isPublic });
  if (wantKey && b64)
    await api.addKey(name, {
      publicKey: b64,
      ...(req.key?.kind === "own" && req.key.named ? { keyName: req.key.publicKey.name } : {}),
    });
  return result(api, name, await api.getCache(name), false, changed, false);
}

function result(
  api: CachixApi,
  name: string,
  c: BinaryCache | null,
  created: boolean,
  changed: string[],
  dryRun: boolean,
  isPublic?: boolean,
): ProvisionResult {
  return {
    cache: name,
    api: api.apiUrl,
    substituter: c?.uri ?? (api.isPublicCachix ? `https://${name}.cachix.org` : null),
    publicKeys: c?.publicSigningKeys ?? [],
    isPublic: c?.isPublic ?? isPublic ?? null,
    permission: c?.permission ?? null,
    preferredCompressionMethod: c?.preferredCompressionMethod ?? null,
    created,
    changed,
    dryRun,
  };
}
