import { createHash } from "node:crypto";
import { NixcacheError } from "../util/errors.js";
import { nix32Decode, nix32Encode, nix32Length } from "./nix32.js";

export type HashAlgo = "md5" | "sha1" | "sha256" | "sha512";

export const HASH_SIZES: Record<HashAlgo, number> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

/** A digest with its algorithm. Immutable by convention. */
export interface Hash {
  readonly algo: HashAlgo;
  readonly digest: Buffer;
}

export class HashParseError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", message, options);
  }
}

function isAlgo(s: string): s is HashAlgo {
  return s in HASH_SIZES;
}

/**
 * Parses every form Nix accepts: `algo:<nix32|hex|base64>` and SRI `algo-<base64>`. When the text
 * carries no algorithm, `defaultAlgo` must say which one it is.
 */
export function parseHash(text: string, defaultAlgo?: HashAlgo): Hash {
  let algo: string | undefined;
  let rest: string;
  let sri = false;
  const colon = text.indexOf(":");
  const dash = text.indexOf("-");
  if (colon >= 0) {
    algo = text.slice(0, colon);
    rest = text.slice(colon + 1);
  } else if (dash >= 0 && isAlgo(text.slice(0, dash))) {
    algo = text.slice(0, dash);
    rest = text.slice(dash + 1);
    sri = true;
  } else {
    algo = defaultAlgo;
    rest = text;
  }
  if (algo === undefined)
    throw new HashParseError(`hash ${JSON.stringify(text)} does not name its algorithm`);
  if (!isAlgo(algo))
    throw new HashParseError(`unknown hash algorithm ${JSON.stringify(algo)} in ${JSON.stringify(text)}`);
  if (defaultAlgo && algo !== defaultAlgo) {
    throw new HashParseError(`expected a ${defaultAlgo} hash, got ${algo} in ${JSON.stringify(text)}`);
  }
  const size = HASH_SIZES[algo];
  const b64Len = 4 * Math.ceil(size / 3);
  let digest: Buffer | undefined;
  if (sri) {
    digest = decodeBase64Strict(rest, size);
  } else if (rest.length === size * 2 && /^[0-9a-fA-F]+$/.test(rest)) {
    digest = Buffer.from(rest, "hex");
  } else if (rest.length === nix32Length(size)) {
    try {
      digest = nix32Decode(rest, size);
    } catch (e) {
      throw new HashParseError(`invalid ${algo} hash ${JSON.stringify(text)}: ${(e as Error).message}`);
    }
  } else if (rest.length === b64Len) {
    digest = decodeBase64Strict(rest, size);
  }
  if (!digest) {
    throw new HashParseError(
      `invalid ${algo} hash ${JSON.stringify(text)}: length ${rest.length} is not that of hex, nix32 or base64`,
    );
  }
  return { algo, digest };
}

function decodeBase64Strict(text: string, size: number): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text))
    throw new HashParseError(`invalid base64 in hash: ${JSON.stringify(text)}`);
  const buf = Buffer.from(text, "base64");
  if (buf.length !== size) {
    throw new HashParseError(
      `base64 hash ${JSON.stringify(text)} decodes to ${buf.length} bytes, expected ${size}`,
    );
  }
  return buf;
}

/** `sha256:<nix32>`, the form narinfo files use. */
export function formatHashNix32(h: Hash): string {
  return `${h.algo}:${nix32Encode(h.digest)}`;
}

export function formatHashHex(h: Hash, withAlgo = true): string {
  return withAlgo ? `${h.algo}:${h.digest.toString("hex")}` : h.digest.toString("hex");
}

export function formatHashBase64(h: Hash): string {
  return `${h.algo}:${h.digest.toString("base64")}`;
}

export function formatHashSRI(h: Hash): string {
  return `${h.algo}-${h.digest.toString("base64")}`;
}

export function hashEquals(a: Hash, b: Hash): boolean {
  return a.algo === b.algo && a.digest.equals(b.digest);
}

export function hashBytes(algo: HashAlgo, data: string | Uint8Array): Hash {
  return { algo, digest: createHash(algo).update(data).digest() };
}

/** Nix's compressHash: XOR-folds a digest into `size` bytes (20 for store path hashes). */
export function compressHash(digest: Uint8Array, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < digest.length; i++) out[i % size] = (out[i % size] ?? 0) ^ (digest[i] ?? 0);
  return out;
}
