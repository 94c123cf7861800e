import { fileURLToPath } from "node:url";
import { NixcacheError } from "../util/errors.js";
import { wholeNumber } from "../util/flag-values.js";
import { cachixApiUrl, cachixToken } from "./credentials.js";
import type { HttpCacheOptions } from "./http-cache.js";
import type { WritableBinaryCache } from "./types.js";

export type OpenCacheOptions = HttpCacheOptions & {
  /** For `cachix://NAME`: the API base URL (default $NIXCACHE_CACHIX_API, else Cachix's own). */
  cachixApi?: string;
};

/**
 * Opens a cache by URL: `file:///dir` or `http(s)://host[:port][/prefix]`. The `cachix://NAME`
 * backend plugs in here too, returning the same interface.
 */
export async function openCache(url: string, opts: OpenCacheOptions = {}): Promise<WritableBinaryCache> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new NixcacheError(
      "usage",
      `invalid cache URL ${JSON.stringify(url)}: expected file:///dir or http(s)://host/...`,
    );
  }
  switch (u.protocol) {
    // Each backend is loaded when its scheme is used: a command reading one HTTP cache should not
    // pay for the Cachix client's schemas at start-up.
    case "file:": {
      const { FileCache } = await import("./file-cache.js");
      return new FileCache(fileURLToPath(u));
    }
    case "http:":
    case "https:": {
      const { HttpCache } = await import("./http-cache.js");
      return new HttpCache(url, opts);
    }
    case "cachix:": {
      const { CachixCache } = await import("./cachix/cache.js");
      // Without an explicit token, the token and signing key come from the environment as
      // cachix's client reads them (see credentials.ts).
      return new CachixCache(u.hostname || u.pathname.replace(/^\/+/, ""), {
        apiUrl: cachixApiUrl(opts.cachixApi),
        token: cachixToken(opts.token),
        signingKey: process.env.CACHIX_SIGNING_KEY,
        partMemory: partMemoryFromEnv(),
        connections: opts.connections,
        retry: opts.retry,
      });
    }
    default:
      throw new NixcacheError(
        "usage",
        `unsupported cache URL scheme ${u.protocol} in ${redact(u)}: expected file://, http(s):// or cachix://`,
      );
  }
}

/** NIXCACHE_CACHIX_PART_MEMORY: MiB of multipart buffers (default PART_MEMORY); checked. */
function partMemoryFromEnv(): number | undefined {
  const v = process.env.NIXCACHE_CACHIX_PART_MEMORY;
  if (!v) return undefined;
  const mib = wholeNumber(v, 1);
  if (mib === undefined)
    throw new NixcacheError(
      "usage",
      `NIXCACHE_CACHIX_PART_MEMORY must be a whole number of MiB (at least 1), got ${JSON.stringify(v)}`,
    );
  return mib * 1024 * 1024;
}

function redact(u: URL): string {
  const c = new URL(u.href);
  c.username = "";
  c.password = "";
  return c.href;
}
