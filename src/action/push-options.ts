// The Action's signing key and compression: from inputs and extra-args, checked against what the
// bundle can do on this runner's Node.
import * as core from "@actions/core";
import {
  type Compression,
  codecBackendName,
  compressionUnsupported,
  defaultCompression,
} from "../codec/compression.js";
import type { ActionInputs } from "../github/action-inputs.js";
import { parseSigningKey } from "../keys/key-files.js";
import type { SecretKey } from "../nix/signing.js";
import { errorMessage, NixcacheError } from "../util/errors.js";
import type { ExtraArgs } from "./extra-args.js";

export function signingKeyOf(inputs: ActionInputs): SecretKey | undefined {
  if (!inputs.signingKey) return undefined;
  try {
    return parseSigningKey(inputs.signingKey).key;
  } catch (e) {
    // The message of a key error never holds the key; and the key is masked.
    throw new NixcacheError("usage", `input signing-key: ${errorMessage(e)}`);
  }
}

/** The compression to push with: `--compression`, else zstd, else (no zstd here) none, said so. */
export function compressionOf(x: ExtraArgs): Compression {
  let c: Compression;
  if (x.given("compression") && x.values.compression !== undefined) {
    c = x.values.compression;
    const why = compressionUnsupported(c);
    if (why) throw new NixcacheError("usage", `extra-args --compression ${c}: ${why}`);
  } else {
    const d = defaultCompression();
    if (d.fallback) core.notice(`NARs are pushed uncompressed (Compression: none): ${d.fallback}.`);
    c = d.compression;
  }
  // Which implementation compresses: the bundle's is node:zlib (zstd from Node 22.15 on).
  if (c !== "none") core.info(`Compressing NARs with ${c}: ${codecBackendName()}, Node ${process.version}.`);
  return c;
}
