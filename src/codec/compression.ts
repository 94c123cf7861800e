import type { Transform } from "node:stream";
import { NixcacheError } from "../util/errors.js";
import { backend } from "./backend.js";
import type { Compression } from "./types.js";

export type { Compression } from "./types.js";

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

/** Which codec implementation this build carries (native addons, or node:zlib in the Action). */
export function codecBackendName(): string {
  return backend.name;
}

/** Why this process cannot write `c`, or undefined when it can. */
export function compressionUnsupported(c: Compression): string | undefined {
  return backend.unsupportedReason(c);
}

/**
 * zstd when this process has it, else `none` (the portable build on a Node without zstd in
 * node:zlib), with the reason: callers say so rather than fail.
 */
export function defaultCompression(): { compression: Compression; fallback?: string } {
  const why = backend.unsupportedReason("zstd");
  return why === undefined ? { compression: "zstd" } : { compression: "none", fallback: why };
}

/** A streaming compressor. zstd level 2 and xz preset 6 match what cachix and Nix use by default. */
export function compressor(c: Compression, level?: number): Transform {
  return backend.compressor(c, level);
}

export { XZ_MEMLIMIT } from "./limits.js";

/**
 * A streaming decompressor; malformed input makes the stream error. xz is decoded as Nix decodes
 * it (liblzma's stream decoder with concatenated streams): stream padding must be a multiple of
 * four zero bytes, and nothing but padding or another stream may follow a stream. Unbounded
 * output per input chunk: readers of untrusted data use decompressBounded.
 */
export function decompressor(c: Compression): Transform {
  return backend.decompressor(c);
}
