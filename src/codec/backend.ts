// The native codecs (the CLI's and the server's): zstd-napi and lzma-native, zstd in the thread
// pool. Platform-specific addons: the Action's bundle replaces this file by portable.ts.
import { createRequire } from "node:module";
import type { Transform } from "node:stream";
import { PassThrough } from "node:stream";
import type * as Lzma from "lzma-native";
import type * as Zstd from "zstd-napi";
import { sharedCompressPool } from "./compress-pool.js";
import { XZ_MEMLIMIT } from "./limits.js";
import type { CodecBackend, Compression } from "./types.js";

// The addons load on first use: commands that only read narinfos (verify, targets) start faster
// without them.
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

export const backend: CodecBackend = {
  name: "native (zstd-napi, lzma-native)",
  supports: () => true,
  unsupportedReason: () => undefined,
  compressor(c: Compression, level?: number): Transform {
    switch (c) {
      case "zstd":
        return new (zstd().CompressStream)({ compressionLevel: level ?? 2 });
      case "xz":
        return lzma().createCompressor({ preset: (level ?? 6) as Lzma.Preset }) as unknown as Transform;
      case "none":
        return new PassThrough();
    }
  },
  decompressor(c: Compression): Transform {
    switch (c) {
      case "zstd":
        return new (zstd().DecompressStream)();
      case "xz":
        // As Nix decodes it: liblzma's stream decoder over concatenated streams, memory bounded.
        return lzma().createStream("streamDecoder", {
          flags: (lzma() as unknown as { CONCATENATED: number }).CONCATENATED,
          memlimit: XZ_MEMLIMIT,
        } as unknown as Lzma.LzmaOptions) as unknown as Transform;
      case "none":
        return new PassThrough();
    }
  },
  zstdPool: sharedCompressPool,
};
