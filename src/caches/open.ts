import { fileURLToPath } from "node:url";
import { DEFAULT_CACHIX_API } from "./cachix-api.js";
import { CachixCache } from "./cachix-cache.js";
import { FileCache } from "./file-cache.js";
import { HttpCache, type HttpCacheOptions } from "./http-cache.js";
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
    throw new Error(`invalid cache URL ${JSON.stringify(url)}: expected file:///dir or http(s)://host/...`);
  }
  switch (u.protocol) {
    case "file:":
      return new FileCache(fileURLToPath(u));
    case "http:":
    case "https:":
      return new HttpCache(url, opts);
    case "cachix:":
      // The token and signing key are read from the environment as cachix's client reads them.
      return new CachixCache(u.hostname || u.pathname.replace(/^\/+/, ""), {
        apiUrl: opts.cachixApi ?? process.env.NIXCACHE_CACHIX_API ?? DEFAULT_CACHIX_API,
        token: opts.token ?? process.env.CACHIX_AUTH_TOKEN,
        signingKey: process.env.CACHIX_SIGNING_KEY,
        connections: opts.connections,
        retry: opts.retry,
      });
    default:
      throw new Error(
        `unsupported cache URL scheme ${u.protocol} in ${redact(u)}: expected file://, http(s):// or cachix://`,
      );
  }
}

function redact(u: URL): string {
  const c = new URL(u.href);
  c.username = "";
  c.password = "";
  return c.href;
}
