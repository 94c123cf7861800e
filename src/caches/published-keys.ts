// The signing keys a cache publishes about itself, where it has an API that says: Cachix's
// (`<name>.cachix.org`) or a Cachix-compatible server beside the Nix protocol (nixcache serve
// answers `/api/v1/cache/<name>` for the cache at `/<name>`).
import { request } from "undici";
import { DEFAULT_CACHIX_API } from "../cachix-api/constants.js";

/**
 * The `publicSigningKeys` (as text) of the HTTP cache at `url`. Best effort: a cache without such
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
