// Where a command's credentials and API come from when the user did not say: the conventional
// environment variables, in one precedence for every command (and never printed).
import { DEFAULT_CACHIX_API } from "../cachix-api/constants.js";

/**
 * The token for `cachix://` caches and the Cachix API: `flag` (--token), else `CACHIX_AUTH_TOKEN`
 * (what cachix's own client reads, so a CI set up for cachix works unchanged), else
 * `NIXCACHE_TOKEN`. An empty value counts as unset.
 */
export function cachixToken(flag?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag || env.CACHIX_AUTH_TOKEN || env.NIXCACHE_TOKEN || undefined;
}

/**
 * The token a command uses for the cache at `url`: for `cachix://` as `cachixToken`; for other
 * caches `flag`, else `NIXCACHE_TOKEN` (CACHIX_AUTH_TOKEN is cachix's, never sent elsewhere).
 */
export function cacheToken(
  url: string,
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (/^cachix:/i.test(url)) return cachixToken(flag, env);
  return flag || env.NIXCACHE_TOKEN || undefined;
}

/** The Cachix API base URL: `flag` (--cachix-api), else `NIXCACHE_CACHIX_API`, else Cachix's own. */
export function cachixApiUrl(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.NIXCACHE_CACHIX_API ?? DEFAULT_CACHIX_API;
}
