// The signing keys a cache publishes about itself, where it has an API that says: a nixcache
// server's `/api/cache-config?cache=<name>` beside the cache at `<base>/<name>`, else Cachix's
// (`<name>.cachix.org`) or a Cachix-compatible server's `/api/v1/cache/<name>`.
import { request } from "undici";
import { DEFAULT_CACHIX_API } from "../cachix-api/constants.js";
import { CACHE_CONFIG_PATH, CacheConfig } from "../ui-api/cache-config.js";

/**
 * The keys a nixcache server lists for the cache at `url` (`<base>/<name>`, the server's API at
 * `<base>/api/cache-config`), or undefined when no nixcache server answers there: the caller
 * falls back to the Cachix API.
 */
export async function cacheConfigKeys(
  url: string,
  opts: { token?: string; timeoutMs?: number } = {},
): Promise<string[] | undefined> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  try {
    const u = new URL(url.replace(/\/+$/, ""));
    if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
    const parts = u.pathname.split("/");
    const name = parts.pop();
    if (!name) return undefined;
    const api = new URL(`${parts.join("/")}${CACHE_CONFIG_PATH}`, u.origin);
    api.searchParams.set("cache", decodeURIComponent(name));
    const res = await request(api, {
      headers: {
        accept: "application/json",
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    const parsed = CacheConfig.safeParse(await res.body.json());
    if (!parsed.success) return undefined;
    return parsed.data.caches.find((c) => c.name === decodeURIComponent(name))?.publicKeys;
  } catch {
    return undefined;
  }
}

/**
 * The public keys (as text) of the HTTP cache at `url`: what a nixcache server's cache-config
 * lists, else the Cachix API's `publicSigningKeys`. Best effort: a cache without such
 * an API, an error or a timeout gives none. `token` is sent as Cachix's API expects (an empty
 * Bearer when anonymous) and never appears in what this returns or throws.
 */
export async function publishedSigningKeys(
  url: string,
  opts: { token?: string; timeoutMs?: number } = {},
): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") return [];
    const cachix = /^([a-z0-9-]+)\.cachix\.org$/.exec(u.hostname);
    if (!cachix) {
      const keys = await cacheConfigKeys(url, opts);
      if (keys !== undefined) return keys;
    }
    const name = cachix ? cachix[1] : u.pathname.split("/").filter(Boolean).pop();
    if (!name) return [];
    const api = cachix ? DEFAULT_CACHIX_API : `${u.origin}/api/v1`;
    const res = await request(`${api}/cache/${encodeURIComponent(name)}`, {
      headers: { authorization: `Bearer ${opts.token ?? ""}`, accept: "application/json" },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return [];
    }
    const body = (await res.body.json()) as { publicSigningKeys?: unknown };
    return Array.isArray(body.publicSigningKeys)
      ? body.publicSigningKeys.filter((k): k is string => typeof k === "string")
      : [];
  } catch {
    return [];
  }
}
