import type { Hash } from "../nix/hash.js";

/** What was produced once a compressed stream has been read to its end. */
export interface FileStats {
  fileHash: Hash;
  fileSize: number;
  /** Uncompressed bytes read from the source. */
  narBytes: number;
}

export interface CompressOptions {
  level?: number;
  onNarBytes?: (n: number) => void;
  /** The source reuses a chunk's memory once the next is asked for (e.g. `encodeNarBorrowed`). */
  borrowed?: boolean;
  /**
   * Hash the source (SHA-256) too and call this with its size and hash at its end, before the
   * last compressed bytes are yielded; what it throws ends the iterable as a source error.
   */
  checkNar?: (narSize: number, narHash: Hash) => void;
}
