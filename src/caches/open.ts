import { fileURLToPath } from "node:url";
import { FileCache } from "./file-cache.js";
import { HttpCache, type HttpCacheOptions } from "./http-cache.js";
import type { WritableBinaryCache } from "./types.js";

export type OpenCacheOptions = HttpCacheOptions;

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
      throw new Error("cachix:// caches are not supported yet");
    default:
      throw new Error(
        `unsupported cache URL scheme ${u.protocol} in ${redact(u)}: expected file:// or http(s)://`,
      );
  }
}

function redact(u: URL): string {
  const c = new URL(u.href);
  c.username = "";
  c.password = "";
  return c.href;
}
