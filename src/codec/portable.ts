// The portable codecs: only what node:zlib has, so the Action's bundle carries no native addon
// and runs on Linux and macOS runners of either architecture. zstd is in node:zlib from Node
// 22.15 (GitHub runs actions on Node 24); on an older Node zstd is unsupported and callers fall
// back to `none` (defaultCompression). xz has no implementation in node:zlib: refused clearly.
// scripts/build-action.mjs puts this file in place of backend.ts.
import type { Transform } from "node:stream";
import { PassThrough } from "node:stream";
import zlib from "node:zlib";
import { NixcacheError } from "../util/errors.js";
import type { CodecBackend, Compression } from "./types.js";

/** node:zlib's zstd API (Node ≥ 22.15), absent from older Nodes and their type definitions. */
interface ZlibZstd {
  createZstdCompress?: (o?: { params?: Record<number, number> }) => Transform;
  createZstdDecompress?: () => Transform;
  constants: { ZSTD_c_compressionLevel?: number };
}
const z = zlib as unknown as ZlibZstd;

function reason(c: Compression): string | undefined {
  if (
    c === "zstd" &&
    (typeof z.createZstdCompress !== "function" || typeof z.createZstdDecompress !== "function")
  )
    return `Node ${process.version} has no zstd in node:zlib (it needs Node 22.15 or later)`;
  if (c === "xz")
    return "xz needs a native addon, which the portable build (the GitHub Action) does not carry";
  return undefined;
}

function unsupported(c: Compression): never {
  throw new NixcacheError("usage", `cannot use ${c} compression here: ${reason(c)}`);
}

export const backend: CodecBackend = {
  name: "portable (node:zlib)",
  supports: (c) => reason(c) === undefined,
  unsupportedReason: reason,
  compressor(c: Compression, level?: number): Transform {
    if (c === "none") return new PassThrough();
    if (reason(c) !== undefined || !z.createZstdCompress) unsupported(c);
    const key = z.constants.ZSTD_c_compressionLevel ?? 100;
    return z.createZstdCompress({ params: { [key]: level ?? 2 } });
  },
  decompressor(c: Compression): Transform {
    if (c === "none") return new PassThrough();
    if (reason(c) !== undefined || !z.createZstdDecompress) unsupported(c);
    return z.createZstdDecompress();
  },
};
