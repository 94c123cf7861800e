import { createRequire } from "node:module";
import type { Transform } from "node:stream";
import { PassThrough } from "node:stream";
import type * as Lzma from "lzma-native";
import type * as Zstd from "zstd-napi";
import { NixcacheError } from "../util/errors.js";

// The native codecs load on first use: commands that only read narinfos (verify, targets) start
// faster without them.
const require = createRequire(import.meta.url);
let zstdModule: typeof Zstd | undefined;
let lzmaModule: typeof Lzma | undefined;
const zstd = (): typeof Zstd => {
  zstdModule ??= require("zstd-napi") as typeof Zstd;
  return zstdModule;
};
const lzma = (): typeof Lzma => {
  lzmaModule ??= require("lzma-native") as typeof Lzma;
  return lzmaModule;
};

/** The NAR compressions nixcache reads and writes. Nix also knows bzip2 and br; we refuse those clearly. */
export type Compression = "zstd" | "xz" | "none";

export const COMPRESSIONS: readonly Compression[] = ["zstd", "xz", "none"];

export function isCompression(s: string): s is Compression {
  return (COMPRESSIONS as readonly string[]).includes(s);
}

/** Throws a clear error for compressions Nix knows but nixcache does not handle. */
export function parseCompression(s: string): Compression {
  if (isCompression(s)) return s;
  throw new NixcacheError(
    "invalid",
    `unsupported compression ${JSON.stringify(s)}: nixcache handles ${COMPRESSIONS.join(", ")}`,
  );
}

/** File extension Nix uses for a compressed NAR: `nar/<filehash>.nar<ext>`. */
export function narExtension(c: Compression): string {
  return c === "zstd" ? ".nar.zst" : c === "xz" ? ".nar.xz" : ".nar";
}

/** A streaming compressor. zstd level 2 and xz preset 6 match what cachix and Nix use by default. */
export function compressor(c: Compression, level?: number): Transform {
  switch (c) {
    case "zstd":
      return new (zstd().CompressStream)({ compressionLevel: level ?? 2 });
    case "xz":
      return lzma().createCompressor({ preset: (level ?? 6) as Lzma.Preset }) as unknown as Transform;
    case "none":
      return new PassThrough();
  }
}

/**
 * Memory an xz stream may need to decode (its dictionary, mostly). xz's presets use at most 64 MiB;
 * a stream that claims more is refused rather than allowed to grow the process.
 */
export const XZ_MEMLIMIT = 128 << 20;

/**
 * A streaming decompressor; malformed input makes the stream error. xz is decoded as Nix decodes
 * it (liblzma's stream decoder with concatenated streams): stream padding must be a multiple of
 * four zero bytes, and nothing but padding or another stream may follow a stream. Unbounded
 * output per input chunk: readers of untrusted data use decompressBounded.
 */
export function decompressor(c: Compression): Transform {
  switch (c) {
    case "zstd":
      return new (zstd().DecompressStream)();
    case "xz":
      return lzma().createStream("streamDecoder", {
        flags: (lzma() as unknown as { CONCATENATED: number }).CONCATENATED,
        memlimit: XZ_MEMLIMIT,
      } as unknown as Lzma.LzmaOptions) as unknown as Transform;
    case "none":
      return new PassThrough();
  }
}
