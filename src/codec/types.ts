import type { Transform } from "node:stream";
import type { Hash } from "../nix/hash.js";

/** The NAR compressions nixcache reads and writes. Nix also knows bzip2 and br; we refuse those clearly. */
export type Compression = "zstd" | "xz" | "none";

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

/** A compressed NAR being produced: its bytes, then (after the end) its stats. */
export interface CompressedStream {
  chunks: AsyncIterable<Buffer>;
  stats: () => FileStats;
  sourceError: () => unknown;
}

/**
 * Where the codecs come from. Two implementations with one shape: `backend.ts` (native addons,
 * zstd in a thread pool: the CLI and the server) and `portable.ts` (node:zlib only: the GitHub
 * Action's bundle, which must run on every runner OS and architecture). The bundle's build
 * (scripts/build-action.mjs) resolves `./backend.js` to `./portable.js`; nothing else chooses.
 */
export interface CodecBackend {
  /** For messages: which implementation this is. */
  readonly name: string;
  /** Whether this process can write (and read) `c`. */
  supports(c: Compression): boolean;
  /** Why `c` is not supported (undefined when it is). */
  unsupportedReason(c: Compression): string | undefined;
  compressor(c: Compression, level?: number): Transform;
  decompressor(c: Compression): Transform;
  /** zstd off the main thread, when the backend has it (compress-pool.ts). */
  zstdPool?: () => {
    compress(
      source: AsyncIterable<Buffer>,
      opts: Pick<CompressOptions, "level" | "onNarBytes" | "checkNar">,
    ): CompressedStream;
    compressPath(
      fsPath: string,
      opts: Pick<CompressOptions, "level" | "onNarBytes" | "checkNar"> & { maxSize?: number },
    ): CompressedStream;
  };
}
