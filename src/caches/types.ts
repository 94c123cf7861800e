import type { CacheInfo } from "../nix/cache-info.js";
import type { NarInfo } from "../nix/narinfo.js";

/**
 * One binary cache, whatever its kind (file://, http(s)://, cachix://). Hashes are the 32-char
 * hash parts of store paths. Implementations live beside this file and are opened by URL.
 */
export interface BinaryCache {
  /** The URL this cache was opened from, without credentials. */
  readonly url: string;
  /** The cache's `nix-cache-info` (or its equivalent); rejects when the cache is unreachable. */
  cacheInfo(): Promise<CacheInfo>;
  /** Of these hashes, the ones the cache does not have. */
  missing(hashes: readonly string[]): Promise<Set<string>>;
  /** The narinfo for a hash, or null when the cache does not have it. */
  getNarInfo(hash: string): Promise<NarInfo | null>;
  /** Releases connections. */
  close(): Promise<void>;
}
