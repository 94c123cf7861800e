// Receiving a NAR, storage-agnostic: the upload is hashed as stored (FileHash/FileSize) and
// written to a staged blob, decompressed and parsed as it streams (NarHash/NarSize). Nothing is
// committed here; the caller compares what was measured with what was claimed, then commits.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Compression, decompressor } from "../../codec/compression.js";
import type { Hash } from "../../nix/hash.js";
import { NarError, validateNar } from "../../nix/nar-decode.js";
import { IngestError } from "../errors.js";
import type { StagedWrite } from "../storage/backend.js";

export interface Received {
  /** The blob name: the SHA-256 (hex) of the stored bytes. */
  blob: string;
  fileHash: Hash;
  fileSize: number;
  narHash: Hash;
  narSize: number;
}

const tooLarge = (maxBytes: number) =>
  new IngestError("tooLarge", `upload exceeds the limit of ${maxBytes} bytes`);
const truncatedAfter = (n: number) =>
  new IngestError("invalid", `upload was truncated: the connection closed after ${n} bytes`);

/** Streams `body` into `staged`, verifying it is a complete NAR in `compression`. */
export async function receiveNar(
  body: Readable,
  compression: Compression,
  staged: StagedWrite,
  maxBytes: number,
): Promise<Received> {
  const fileHasher = createHash("sha256");
  let fileSize = 0;
  let overLimit = false;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      fileSize += chunk.length;
      if (fileSize > maxBytes) {
        overLimit = true;
        cb(tooLarge(maxBytes));
        return;
      }
      fileHasher.update(chunk);
      staged.write(chunk).then(
        () => cb(null, chunk),
        (e: Error) => cb(e),
      );
    },
  });
  const decomp = decompressor(compression);
  // The request is piped by hand, not through pipeline(): pipeline would destroy the request (and
  // with it the socket) on a refusal, and the client would never see the 4xx that says why.
  let truncated = false;
  tap.on("error", () => {});
  const onClose = () => {
    if (!body.readableEnded) {
      truncated = true;
      tap.destroy(truncatedAfter(fileSize));
    }
  };
  const onError = (e: Error) => tap.destroy(e);
  body.on("close", onClose);
  body.on("error", onError);
  body.pipe(tap);
  const flow = pipeline(tap, decomp).then(
    () => undefined,
    (e: unknown) => e,
  );
  const validation = validateNar(decomp).then(
    (v) => ({ v }),
    (e: unknown) => ({ e }),
  );
  const [flowErr, val] = await Promise.all([flow, validation]);
  body.off("close", onClose);
  body.off("error", onError);
  body.unpipe(tap);
  if (overLimit) throw tooLarge(maxBytes);
  if (truncated) throw truncatedAfter(fileSize);
  if ("e" in val) {
    if (val.e instanceof NarError) throw new IngestError("invalid", `${val.e.message} (after decompression)`);
    if (flowErr) throw decompressionError(flowErr, compression, fileSize);
    throw val.e;
  }
  if (flowErr) throw decompressionError(flowErr, compression, fileSize);
  const digest = fileHasher.digest();
  return {
    blob: digest.toString("hex"),
    fileHash: { algo: "sha256", digest },
    fileSize,
    narHash: val.v.narHash,
    narSize: val.v.narSize,
  };
}

function decompressionError(e: unknown, compression: Compression, at: number): Error {
  if (e instanceof IngestError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (compression === "none") return new IngestError("invalid", `upload failed after ${at} bytes: ${msg}`);
  return new IngestError("invalid", `upload is not valid ${compression} data (after ${at} bytes): ${msg}`);
}
