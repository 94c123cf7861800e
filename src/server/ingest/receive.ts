// Receiving a NAR, storage-agnostic: the upload is hashed as stored (FileHash/FileSize) and
// written to a staged blob, decompressed and parsed as it streams (NarHash/NarSize). Nothing is
// committed here; the caller compares what was measured with what was claimed, then commits.
// Memory stays bounded whatever the upload's size or compression ratio (decompressBounded), and
// the NAR is pulled through at the pace the slowest stage allows.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { DecompressedSizeError, decompressBounded } from "../../codec/bounded-decompress.js";
import type { Compression } from "../../codec/compression.js";
import type { Hash } from "../../nix/hash.js";
import { NarError, validateNar } from "../../nix/nar-decode.js";
import { NixcacheError, outOfSpace } from "../../util/errors.js";
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

export interface ReceiveLimits {
  /** Largest upload, in stored (compressed) bytes. */
  maxBytes: number;
  /** Largest NAR after decompression: refuses decompression bombs as they inflate. */
  maxNarBytes: number;
}

/** The NAR inflated past `maxNarBytes` (a decompression bomb, or a NAR larger than claimed). */
export class NarTooLargeError extends IngestError {
  constructor(
    message: string,
    readonly limit: number,
  ) {
    super("tooLarge", message);
  }
}

const tooLarge = (maxBytes: number) =>
  new IngestError("tooLarge", `upload exceeds the limit of ${maxBytes} bytes`);
const truncatedAfter = (n: number) =>
  new IngestError("invalid", `upload was truncated: the connection closed after ${n} bytes`);

/**
 * The chunks of `body`, never destroying it when the reader stops early (so a refusal can still
 * be answered); a body whose connection closed before its end, even before this was called, is
 * an IngestError saying so.
 */
async function* bodyChunks(body: Readable, counted: () => number): AsyncGenerator<Buffer> {
  if (body.destroyed && !body.readableEnded) throw truncatedAfter(counted());
  const it = body.iterator({ destroyOnReturn: false });
  for (;;) {
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (e) {
      // The body may come from storage (a multipart upload being verified): its failure is not
      // the client's truncated upload.
      if (isStorageFailure(e)) throw e;
      throw new IngestError("invalid", truncatedAfter(counted()).message, { cause: e });
    }
    if (r.done) return;
    yield r.value;
  }
}

/** Streams `body` into `staged`, verifying it is a complete NAR in `compression`. */
export async function receiveNar(
  body: Readable,
  compression: Compression,
  staged: StagedWrite,
  limits: ReceiveLimits,
): Promise<Received> {
  const fileHasher = createHash("sha256");
  let fileSize = 0;
  async function* stored(): AsyncGenerator<Buffer> {
    for await (const chunk of bodyChunks(body, () => fileSize)) {
      fileSize += chunk.length;
      if (fileSize > limits.maxBytes) throw tooLarge(limits.maxBytes);
      fileHasher.update(chunk);
      await staged.write(chunk);
      yield chunk;
    }
  }
  let v: { narSize: number; narHash: Hash };
  try {
    v = await validateNar(decompressBounded(stored(), compression, limits.maxNarBytes));
  } catch (e) {
    throw refusal(e, compression, fileSize);
  }
  const digest = fileHasher.digest();
  return {
    blob: digest.toString("hex"),
    fileHash: { algo: "sha256", digest },
    fileSize,
    narHash: v.narHash,
    narSize: v.narSize,
  };
}

/** Storage failed (down, full, or refused a request): a server-side failure, never the upload's fault. */
function isStorageFailure(e: unknown): boolean {
  if (outOfSpace(e)) return true;
  return e instanceof NixcacheError && (e.code === "unavailable" || e.code === "internal");
}

function refusal(e: unknown, compression: Compression, at: number): Error {
  if (e instanceof IngestError || isStorageFailure(e)) return e as Error;
  if (e instanceof DecompressedSizeError)
    return new NarTooLargeError(`${e.message} (after ${at} bytes of upload)`, e.limit);
  if (e instanceof NarError) return new IngestError("invalid", `${e.message} (after decompression)`);
  const msg = e instanceof Error ? e.message : String(e);
  if (compression === "none") return new IngestError("invalid", `upload failed after ${at} bytes: ${msg}`);
  return new IngestError("invalid", `upload is not valid ${compression} data (after ${at} bytes): ${msg}`);
}
