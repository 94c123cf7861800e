// Opening the caches a command reads and checking each answers before any work starts, so a typo in a
// URL or a dead cache is one clear error up front rather than every target reported missing.
import { errorMessage, NixcacheError } from "../util/errors.js";
import { type OpenCacheOptions, openCache } from "./open.js";
import type { BinaryCache } from "./types.js";

/** A cache that could not be opened (`stage: "open"`) or did not answer (`"unusable"`). */
export class CacheProbeError extends NixcacheError {
  constructor(
    readonly url: string,
    readonly stage: "open" | "unusable",
    readonly reason: string,
  ) {
    super("usage", stage === "open" ? `${url}: ${reason}` : `cache ${url} is not usable: ${reason}`);
  }
}

/**
 * Opens every URL and asks each cache for its nix-cache-info (all at once). On any failure the
 * caches already opened are closed and a CacheProbeError names the first that failed.
 */
export async function openAndProbeCaches(
  urls: readonly string[],
  opts: OpenCacheOptions = {},
): Promise<BinaryCache[]> {
  const caches: BinaryCache[] = [];
  try {
    for (const url of urls) {
      try {
        caches.push(await openCache(url, opts));
      } catch (e) {
        throw new CacheProbeError(url, "open", errorMessage(e));
      }
    }
    await Promise.all(
      caches.map(async (c) => {
        try {
          await c.cacheInfo();
        } catch (e) {
          throw new CacheProbeError(c.url, "unusable", errorMessage(e));
        }
      }),
    );
    return caches;
  } catch (e) {
    await Promise.all(caches.map((c) => c.close()));
    throw e;
  }
}
