import { createHash } from "node:crypto";
import { formatHashNix32, type Hash } from "../nix/hash.js";
import { encodeNar } from "../nix/nar-encode.js";

/** The NAR read from the store is not the one the Nix database registered. */
export class NarMismatchError extends Error {
  override name = "NarMismatchError";
}

/**
 * The NAR of a store path, checked against the Nix database while it streams: the stream throws
 * at the first byte past the registered size, or at its end if size or hash differ, so an
 * upload that consumes it is abandoned instead of publishing a corrupt NAR.
 */
export async function* verifiedNar(
  path: string,
  expected: { narHash: Hash; narSize: number },
): AsyncGenerator<Buffer> {
  if (expected.narHash.algo !== "sha256")
    throw new NarMismatchError(
      `${path}: only sha256 NAR hashes can be checked, got ${expected.narHash.algo}`,
    );
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of encodeNar(path)) {
    size += chunk.length;
    if (size > expected.narSize)
      throw mismatch(path, `is larger than the registered ${expected.narSize} bytes`);
    h.update(chunk);
    yield chunk;
  }
  if (size !== expected.narSize)
    throw mismatch(path, `is ${size} bytes, the Nix database says ${expected.narSize}`);
  const digest = h.digest();
  if (!digest.equals(expected.narHash.digest)) {
    const got = formatHashNix32({ algo: "sha256", digest });
    throw mismatch(path, `has hash ${got}, the Nix database says ${formatHashNix32(expected.narHash)}`);
  }
}

function mismatch(path: string, what: string): NarMismatchError {
  return new NarMismatchError(
    `the NAR of ${path} ${what}: the store path was modified after it was registered ` +
      `(repair it with \`nix-store --verify --check-contents --repair\`); not uploaded`,
  );
}
