import { createHash } from "node:crypto";
import { pipeline, Readable } from "node:stream";
import type { Hash } from "../nix/hash.js";
import { type Compression, compressor } from "./compression.js";

/** What was produced once a compressed stream has been read to its end. */
export interface FileStats {
  fileHash: Hash;
  fileSize: number;
  /** Uncompressed bytes read from the source. */
  narBytes: number;
}

/**
 * Compresses `source` and hashes the compressed bytes in the same pass. `stats()` is valid after
 * the returned iterable has ended. An error in the source ends the iterable with that error;
 * a consumer that stops early closes the source.
 */
export function compressAndHash(
  source: AsyncIterable<Buffer>,
  compression: Compression,
  opts: { level?: number; onNarBytes?: (n: number) => void } = {},
): { chunks: AsyncIterable<Buffer>; stats: () => FileStats; sourceError: () => unknown } {
  const hash = createHash("sha256");
  let fileSize = 0;
  let narBytes = 0;
  let digest: Buffer | undefined;
  let sourceError: unknown;
  async function* counted(): AsyncGenerator<Buffer> {
    const it = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        let r: IteratorResult<Buffer>;
        // Only what the source itself throws counts as a source error: a consumer that is
        // destroyed with an error (a dropped connection) also throws into this generator.
        try {
          r = await it.next();
        } catch (e) {
          sourceError = e;
          throw e;
        }
        if (r.done) return;
        narBytes += r.value.length;
        opts.onNarBytes?.(r.value.length);
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  async function* run(): AsyncGenerator<Buffer> {
    // Compressed on the main thread: zstd's worker-thread mode (nbWorkers: 1) doubled peak memory
    // with 8 paths in flight and was no faster on the 2 shared cores of the bench machine.
    const z = compressor(compression, opts.level);
    // pipeline destroys the compressor with the source's error, and the source when we stop.
    pipeline(Readable.from(counted(), { objectMode: false, highWaterMark: 1 << 20 }), z, () => {});
    for await (const out of z as AsyncIterable<Buffer>) {
      hash.update(out);
      fileSize += out.length;
      yield out;
    }
    digest = hash.digest();
  }
  return {
    chunks: run(),
    stats: () => {
      if (!digest) throw new Error("compressed NAR read before its end");
      return { fileHash: { algo: "sha256", digest }, fileSize, narBytes };
    },
    sourceError: () => sourceError,
  };
}
