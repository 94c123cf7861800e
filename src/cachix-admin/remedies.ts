// The concrete fixes shown when a token cannot do a step: Cachix's web pages for the public
// service, the server's admin commands for nixcache's own server.
import type { CachixApi } from "../caches/cachix/client.js";

export interface Remedies {
  personalToken: string;
  cacheToken: (cache: string, perm: "Read" | "Write" | "Admin") => string;
  createCacheByHand: (cache: string, isPublic: boolean | undefined) => string;
  setKeyByHand: (cache: string) => string;
  adminOnCache: (cache: string) => string;
}

export function remediesFor(api: CachixApi): Remedies {
  if (api.isPublicCachix)
    return {
      personalToken:
        "create a personal auth token at https://app.cachix.org/personal-auth-tokens and set CACHIX_AUTH_TOKEN to it",
      cacheToken: (cache, perm) =>
        `create a cache auth token with ${perm} permission in the settings of https://app.cachix.org/cache/${cache} (Auth Tokens) and set CACHIX_AUTH_TOKEN to it`,
      createCacheByHand: (cache, isPublic) =>
        `create the cache by hand: https://app.cachix.org → "Create cache", name ${cache}, ${isPublic === false ? "private" : "public"}, signing managed by Cachix (or your own key)`,
      setKeyByHand: (cache) =>
        `register the key by hand: \`cachix generate-keypair ${cache}\` with a token that administers ${cache}`,
      adminOnCache: (cache) =>
        `use a personal auth token of the account that owns ${cache} (https://app.cachix.org/personal-auth-tokens)`,
    };
  const server = new URL(api.apiUrl).host;
  return {
    personalToken: `on the server ${server}, run \`nixcache token create --personal --account NAME\` and set CACHIX_AUTH_TOKEN to the token it prints`,
    cacheToken: (cache, perm) =>
      `on the server ${server}, run \`nixcache token create --cache ${cache} --perm ${perm.toLowerCase()}\` (or POST /token with a personal token of the cache's owner) and set CACHIX_AUTH_TOKEN to it`,
    createCacheByHand: (cache, isPublic) =>
      `create the cache on the server ${server}: \`nixcache cache create ${cache}${isPublic === false ? " --private" : ""}\``,
    setKeyByHand: (cache) =>
      `POST /api/v1/cache/${cache}/key with a token that has Admin on ${cache} (a personal token of its owner)`,
    adminOnCache: (cache) =>
      `use a personal token of the account that owns ${cache}, or run \`nixcache token create --cache ${cache} --perm admin\` on the server ${server}`,
  };
}
