// Compress-and-hash: a NAR in, compressed bytes out, with FileHash/FileSize (and optionally the
// NAR's own hash) computed in the same pass.
import { createHash } from "node:crypto";
import { pipeline, Readable } from "node:stream";
import { encodeNarBorrowed } from "../nix/nar-encode.js";
import { backend } from "./backend.js";
import { type Compression, compressor } from "./compression.js";
import type { CompressedStream, CompressOptions } from "./types.js";

export type { CompressOptions, FileStats } from "./types.js";

/**
 * Compresses `source` and hashes the compressed bytes in the same pass. `stats()` is valid after
 * the returned iterable has ended. An error in the source ends the iterable with that error;
 * a consumer that stops early closes the source. zstd runs in the shared thread pool
 * (compress-pool.ts) when the codec backend has one; xz (itself threaded by liblzma), none, and
 * node:zlib's zstd (on libuv's threads) run here.
 */
export function compressAndHash(
  source: AsyncIterable<Buffer>,
  compression: Compression,
  opts: CompressOptions = {},
): CompressedStream {
  if (compression === "zstd" && backend.zstdPool) return backend.zstdPool().compress(source, opts);
  const hash = createHash("sha256");
  const narHash = opts.checkNar ? createHash("sha256") : undefined;
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
        if (r.done) {
          if (narHash && opts.checkNar) {
            try {
              opts.checkNar(narBytes, { algo: "sha256", digest: narHash.digest() });
            } catch (e) {
              sourceError = e;
              throw e;
            }
          }
          return;
        }
        narHash?.update(r.value);
        narBytes += r.value.length;
        opts.onNarBytes?.(r.value.length);
        // The stream below keeps chunks queued: a borrowed one must be copied.
        yield opts.borrowed ? Buffer.from(r.value) : r.value;
      }
    } finally {
      await it.return?.();
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
    sourceError: () => sourceError,
  };
}

/**
 * The NAR of `fsPath`, compressed and hashed like `compressAndHash` with `checkNar`; reading
 * stops past `maxSize` bytes (checkNar then sees the larger size). zstd reads, hashes and
 * compresses in the thread pool; the main thread only gets compressed bytes.
 */
export function compressPathAndHash(
  fsPath: string,
  compression: Compression,
  opts: Omit<CompressOptions, "borrowed"> & { maxSize?: number },
): CompressedStream {
  if (compression === "zstd" && backend.zstdPool) return backend.zstdPool().compressPath(fsPath, opts);
  return compressAndHash(upTo(encodeNarBorrowed(fsPath), opts.maxSize), compression, {
    ...opts,
    borrowed: true,
  });
}

/** `source`, ended after the chunk that takes it past `max` bytes. */
async function* upTo(source: AsyncGenerator<Buffer>, max = Number.MAX_SAFE_INTEGER): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    yield chunk;
    if (n > max) return;
  }
}
