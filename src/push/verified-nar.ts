import { createHash } from "node:crypto";
import { formatHashNix32, type Hash, hashEquals } from "../nix/hash.js";
import { encodeNar } from "../nix/nar-encode.js";
import { NixcacheError } from "../util/errors.js";

/** The NAR read from the store is not the one the Nix database registered. */
export class NarMismatchError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("failed", message, options);
  }
}

export interface ExpectedNar {
  narHash: Hash;
  narSize: number;
}

/**
 * The NAR of a store path, checked against the Nix database while it streams: the stream throws
 * at the first byte past the registered size, or at its end if size or hash differ, so an
 * upload that consumes it is abandoned instead of publishing a corrupt NAR.
 */
export async function* verifiedNar(path: string, expected: ExpectedNar): AsyncGenerator<Buffer> {
  checkAlgo(path, expected);
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of encodeNar(path)) {
    size += chunk.length;
    if (size > expected.narSize) throw tooLarge(path, expected);
    h.update(chunk);
    yield chunk;
  }
  checkNar(path, expected, size, { algo: "sha256", digest: h.digest() });
}

/**
 * Throws NarMismatchError unless the NAR read had the registered size and hash. For consumers
 * that read and hash the NAR themselves (`NarUpload.narSource`).
 */
export function checkNar(path: string, expected: ExpectedNar, size: number, hash: Hash): void {
  checkAlgo(path, expected);
  if (size > expected.narSize) throw tooLarge(path, expected);
  if (size !== expected.narSize)
    throw mismatch(path, `is ${size} bytes, the Nix database says ${expected.narSize}`);
  if (!hashEquals(hash, expected.narHash)) {
    throw mismatch(
      path,
      `has hash ${formatHashNix32(hash)}, the Nix database says ${formatHashNix32(expected.narHash)}`,
    );
  }
}

function checkAlgo(path: string, expected: ExpectedNar): void {
  if (expected.narHash.algo !== "sha256")
    throw new NarMismatchError(
      `${path}: only sha256 NAR hashes can be checked, got ${expected.narHash.algo}`,
    );
}

function tooLarge(path: string, expected: ExpectedNar): NarMismatchError {
  return mismatch(path, `is larger than the registered ${expected.narSize} bytes`);
}

function mismatch(path: string, what: string): NarMismatchError {
  return new NarMismatchError(
    `the NAR of ${path} ${what}: the store path was modified after it was registered ` +
      `(repair it with \`nix-store --verify --check-contents --repair\`); not uploaded`,
  );
}
