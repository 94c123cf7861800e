// Decompression with bounded memory, whatever the compression ratio. The native streams push all
// the output of one input chunk at once (a 64 KiB chunk of a zstd bomb is gigabytes), so input is
// fed to them in slices sized from the ratio seen so far, and each slice's output is handed on
// before the next slice goes in. The event loop is given a turn regularly, so a server decoding
// highly compressible data keeps answering other requests.

import type { Transform } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";
import { NixcacheError } from "../util/errors.js";
import { type Compression, decompressor } from "./compression.js";

/** Output aimed at per slice: the most one slice may add to memory is a small multiple of it. */
const TARGET_OUT = 4 << 20;
const MIN_SLICE = 64;
const MAX_SLICE = 64 << 10;
/** Longest stretch of synchronous decoding before other work gets a turn. */
const TURN_MS = 10;

export class DecompressedSizeError extends NixcacheError {
  constructor(readonly limit: number) {
    super("tooLarge", `decompressed NAR exceeds the limit of ${limit} bytes`);
  }
}

/** Writes one slice into `t` (or ends it); resolves once `t` has processed it. */
function feed(t: Transform, slice: Buffer | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    t.once("error", onError);
    const done = (e?: Error | null) => {
      t.off("error", onError);
      if (e) reject(e);
      else resolve();
    };
    if (slice) t.write(slice, done);
    else {
      t.once("end", () => done());
      t.end();
    }
  });
}

/**
 * Decompresses `source` as `compression`, yielding chunks of at most a few MiB; throws
 * DecompressedSizeError as soon as the output passes `maxBytes`, and the codec's error on
 * malformed input.
 */
export async function* decompressBounded(
  source: AsyncIterable<Buffer>,
  compression: Compression,
  maxBytes = Number.POSITIVE_INFINITY,
): AsyncGenerator<Buffer> {
  let total = 0;
  const check = (n: number) => {
    total += n;
    if (total > maxBytes) throw new DecompressedSizeError(maxBytes);
  };
  if (compression === "none") {
    for await (const chunk of source) {
      check(chunk.length);
      yield chunk;
    }
    return;
  }
  const t = decompressor(compression);
  const out: Buffer[] = [];
  t.on("data", (b: Buffer) => out.push(b));
  t.on("error", () => {});
  let slice = 1024;
  let turn = performance.now();
  const drain = async function* (): AsyncGenerator<Buffer, number> {
    let produced = 0;
    for (const b of out.splice(0)) {
      produced += b.length;
      check(b.length);
      yield b;
    }
    if (performance.now() - turn > TURN_MS) {
      await nextTurn();
      turn = performance.now();
    }
    return produced;
  };
  try {
    for await (const chunk of source) {
      for (let off = 0; off < chunk.length; ) {
        const piece = chunk.subarray(off, off + slice);
        off += piece.length;
        await feed(t, piece);
        const produced: number = yield* drain();
        // Aim the next slice at TARGET_OUT of output, from this slice's ratio.
        if (produced > TARGET_OUT) slice = Math.max(MIN_SLICE, slice >> 1);
        else if (produced < TARGET_OUT / 4) slice = Math.min(MAX_SLICE, slice << 1);
      }
    }
    await feed(t, undefined);
    yield* drain();
  } finally {
    t.destroy();
  }
}
