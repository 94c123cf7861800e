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
): { chunks: AsyncIterable<Buffer>; stats: () => FileStats } {
  const hash = createHash("sha256");
  let fileSize = 0;
  let narBytes = 0;
  let digest: Buffer | undefined;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      narBytes += chunk.length;
      opts.onNarBytes?.(chunk.length);
      yield chunk;
    }
  }
  async function* run(): AsyncGenerator<Buffer> {
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
  };
}
