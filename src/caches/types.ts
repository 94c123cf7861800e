import type { Compression } from "../codec/compression.js";
import type { CacheInfo } from "../nix/cache-info.js";
import type { Hash } from "../nix/hash.js";
import type { NarInfo, NarInfoPath } from "../nix/narinfo.js";

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
  /**
   * The public keys (as text) the cache says it signs with, where it has an API that says;
   * best effort: none on failure. A cache without the method advertises none.
   */
  advertisedKeys?(token?: string): Promise<string[]>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** What a cache needs to know about a path to publish it; all known before its NAR is read. */
export type UploadInfo = NarInfoPath;

export interface NarUpload {
  info: UploadInfo;
  compression: Compression;
  /** Compression level; the backend's default when absent (zstd 2, xz 6). */
  level?: number;
  /**
   * Yields the uncompressed NAR. Called once per attempt, so a retry starts from scratch. It
   * throws (instead of ending) when the NAR turns out wrong; the backend then abandons the
   * upload so that nothing of it becomes visible.
   */
  nar: () => AsyncIterable<Buffer>;
  /**
   * Optional faster form of `nar` a backend may use instead: the filesystem path whose NAR
   * serialisation is the NAR, not yet checked. The backend encodes it itself (e.g. in its
   * compression threads), stops reading past `info.narSize` bytes, and calls `check` with the
   * size and SHA-256 of what it read before anything becomes visible; `check` throws what `nar`
   * would have thrown.
   */
  narSource?: { fsPath: string; check: (narSize: number, narHash: Hash) => void };
  /** Uncompressed NAR bytes sent; negative after a failed attempt that is being retried. */
  onProgress?: (narBytes: number) => void;
  signal?: AbortSignal;
}

/** A NAR that is stored but not yet visible: `commit` publishes its narinfo. */
export interface StagedPath {
  /** The narinfo `commit` writes, with the URL, FileHash and FileSize of the stored file. */
  readonly narInfo: NarInfo;
  commit(signal?: AbortSignal): Promise<void>;
}

/**
 * A cache that accepts uploads. Each backend streams the NAR, compresses it and computes
 * FileHash/FileSize itself in the same pass (the Cachix backend's multipart upload fits this:
 * parts go up as they are produced and `commit` completes the upload with the narinfo).
 */
export interface WritableBinaryCache extends BinaryCache {
  /** Creates `nix-cache-info` when the cache has none; returns what the cache has. */
  ensureCacheInfo(): Promise<CacheInfo>;
  /** Stores the NAR; the path stays invisible to readers until the result's `commit`. */
  uploadNar(upload: NarUpload): Promise<StagedPath>;
  /**
   * Stores a derivation's build log as `log/<drv basename>`, the binary-cache layout that
   * `nix store copy-log --to` writes and `nix log` reads (plain text, uncompressed). Absent on a
   * cache with no place for logs (Cachix); rejects when the cache refuses the log.
   */
  uploadBuildLog?(drvBaseName: string, log: Buffer, signal?: AbortSignal): Promise<StoredBuildLog>;
}

/** What a cache said of a build log it stored. */
export interface StoredBuildLog {
  /** The log's page on the cache's dashboard (a nixcache server's), when it has one. */
  dashboardUrl?: string;
}
