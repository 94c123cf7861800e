// `GET /api/cache-config` (niks3's convention): what a client needs to configure Nix for a
// nixcache server's caches, without being told the keys. Public caches are listed to anyone;
// a private cache only to a token that may read it. `?cache=NAME` asks for one (404 when it
// does not exist or the caller may not read it). The Action and `nixcache ci --cache URL` learn
// a cache's public keys here, and fall back to the Cachix API's `publicSigningKeys` elsewhere.
import { z } from "zod";

export const CACHE_CONFIG_PATH = "/api/cache-config";

export const CacheConfigEntry = z.object({
  name: z.string(),
  /** The URL Nix substitutes from: the server's public URL and the cache's name. */
  substituter: z.string(),
  /** The keys its narinfos are signed with, `name:base64` (trusted-public-keys). */
  publicKeys: z.array(z.string()),
  /** Reading needs a token (netrc). */
  private: z.boolean(),
});
export type CacheConfigEntry = z.infer<typeof CacheConfigEntry>;

export const CacheConfig = z.object({
  caches: z.array(CacheConfigEntry),
  /** The audience to request GitHub's OIDC identity token for, when the server exchanges them. */
  oidcAudience: z.string().nullable(),
});
export type CacheConfig = z.infer<typeof CacheConfig>;
