// Ingest: verify, then commit. A NAR upload is hashed as stored (FileHash/FileSize), decompressed
// and parsed as it streams (NarHash/NarSize); only a complete, valid upload becomes a blob. A
// narinfo is accepted only when it agrees with a NAR this cache received, then signed and stored.
// Route modules (the Nix protocol now, a Cachix-compatible API later) call these functions.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Compression, decompressor, parseCompression } from "../codec/compression.js";
import { formatHashNix32, type Hash, hashEquals, parseHash } from "../nix/hash.js";
import { NarError, validateNar } from "../nix/nar-decode.js";
import { formatNarInfo, NarInfoError, parseNarInfo, signNarInfo } from "../nix/narinfo.js";
import { parseStorePath, StorePathError } from "../nix/store-path.js";
import type { BlobStore, TempBlob } from "./blobs.js";
import type { ServerDb, UploadRow } from "./db.js";

/** A refusal meant for the client: the status and a body that says exactly what was wrong. */
export class IngestError extends Error {
  override name = "IngestError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The compression a NAR URL's extension declares (`.nar`, `.nar.zst`, `.nar.xz`). */
export function compressionOfNarUrl(name: string): Compression {
  if (name.endsWith(".nar")) return "none";
  if (name.endsWith(".nar.zst")) return "zstd";
  if (name.endsWith(".nar.xz")) return "xz";
  const ext = /\.nar\.([A-Za-z0-9]+)$/.exec(name)?.[1];
  if (ext) {
    const known: Record<string, string> = { bz2: "bzip2", br: "br", lz4: "lz4", lzip: "lzip" };
    throw new IngestError(
      415,
      `unsupported NAR compression ${JSON.stringify(known[ext] ?? ext)} (from ${name}): this server accepts .nar, .nar.zst and .nar.xz`,
    );
  }
  throw new IngestError(400, `NAR URL ${JSON.stringify(name)} does not end in .nar, .nar.zst or .nar.xz`);
}

export interface NarIngestOptions {
  db: ServerDb;
  blobs: BlobStore;
  cache: string;
  /** Path relative to the cache root, e.g. `nar/<filehash>.nar.zst`. */
  url: string;
  body: Readable;
  /** Largest accepted upload, in stored (compressed) bytes. */
  maxBytes: number;
}

/** Receives one NAR, verifies it completely, stores it and records it (still invisible). */
export async function ingestNar(o: NarIngestOptions): Promise<UploadRow> {
  const compression = compressionOfNarUrl(o.url);
  const temp = await o.blobs.createTemp();
  try {
    const received = await receive(o.body, compression, temp, o.maxBytes);
    await temp.finish();
    await o.blobs.commit(temp.path, received.blob);
    const row = {
      cache: o.cache,
      url: o.url,
      blob: received.blob,
      compression,
      narHash: formatHashNix32(received.narHash),
      narSize: received.narSize,
      fileHash: formatHashNix32(received.fileHash),
      fileSize: received.fileSize,
    };
    if (!o.db.recordUpload(row))
      throw new IngestError(
        409,
        `${o.url} already serves a different NAR in cache ${o.cache}; a served NAR URL never changes`,
      );
    return { ...row, visible: false };
  } catch (e) {
    await temp.discard();
    throw e;
  }
}

/**
 * Receives and verifies a NAR into a temporary file without recording anything, for callers that
 * check what the client claimed before storing (the Cachix API's multipart `complete`): `commit`
 * moves it into the blob store and records it (still invisible), `discard` drops it.
 */
export async function receiveNarBlob(o: {
  blobs: BlobStore;
  body: Readable;
  compression: Compression;
  maxBytes: number;
}): Promise<{
  received: Received;
  commit: (db: ServerDb, cache: string, url: string) => Promise<UploadRow>;
  discard: () => Promise<void>;
}> {
  const temp = await o.blobs.createTemp();
  let received: Received;
  try {
    received = await receive(o.body, o.compression, temp, o.maxBytes);
    await temp.finish();
  } catch (e) {
    await temp.discard();
    throw e;
  }
  return {
    received,
    discard: () => temp.discard(),
    commit: async (db, cache, url) => {
      await o.blobs.commit(temp.path, received.blob);
      const row = {
        cache,
        url,
        blob: received.blob,
        compression: o.compression,
        narHash: formatHashNix32(received.narHash),
        narSize: received.narSize,
        fileHash: formatHashNix32(received.fileHash),
        fileSize: received.fileSize,
      };
      if (!db.recordUpload(row))
        throw new IngestError(409, `${url} already serves a different NAR in cache ${cache}`);
      return { ...row, visible: false };
    },
  };
}

export interface Received {
  blob: string;
  fileHash: Hash;
  fileSize: number;
  narHash: Hash;
  narSize: number;
}

async function receive(
  body: Readable,
  compression: Compression,
  temp: TempBlob,
  maxBytes: number,
): Promise<Received> {
  const fileHasher = createHash("sha256");
  let fileSize = 0;
  let tooLarge = false;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      fileSize += chunk.length;
      if (fileSize > maxBytes) {
        tooLarge = true;
        cb(new IngestError(413, `upload exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      fileHasher.update(chunk);
      temp.write(chunk).then(
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
      tap.destroy(
        new IngestError(400, `upload was truncated: the connection closed after ${fileSize} bytes`),
      );
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
  if (tooLarge) throw new IngestError(413, `upload exceeds the limit of ${maxBytes} bytes`);
  if (truncated)
    throw new IngestError(400, `upload was truncated: the connection closed after ${fileSize} bytes`);
  if ("e" in val) {
    if (val.e instanceof NarError) throw new IngestError(400, `${val.e.message} (after decompression)`);
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
  if (compression === "none") return new IngestError(400, `upload failed after ${at} bytes: ${msg}`);
  return new IngestError(400, `upload is not valid ${compression} data (after ${at} bytes): ${msg}`);
}

export interface NarInfoIngestOptions {
  db: ServerDb;
  cache: string;
  /** The hash part from the request URL (`<hash>.narinfo`). */
  hash: string;
  text: string;
  /** Sign with the cache's managed key (default true; false for a self-signed Cachix-API cache). */
  sign?: boolean;
}

/** Checks a narinfo against the NAR received for its URL, signs it and commits it; returns the stored text. */
export function ingestNarInfo(o: NarInfoIngestOptions): string {
  let ni: ReturnType<typeof parseNarInfo>;
  try {
    ni = parseNarInfo(o.text);
  } catch (e) {
    if (e instanceof NarInfoError) throw new IngestError(400, `invalid narinfo: ${e.message}`);
    throw e;
  }
  let sp: ReturnType<typeof parseStorePath>;
  try {
    sp = parseStorePath(ni.storePath);
  } catch (e) {
    if (e instanceof StorePathError) throw new IngestError(400, `invalid narinfo: ${e.message}`);
    throw e;
  }
  if (sp.hash !== o.hash)
    throw new IngestError(400, `narinfo StorePath ${ni.storePath} does not match the URL's hash ${o.hash}`);
  const url = stripQuery(ni.url);
  if (!url.startsWith("nar/"))
    throw new IngestError(400, `narinfo URL ${JSON.stringify(ni.url)} must point under nar/ in this cache`);
  try {
    parseCompression(ni.compression);
  } catch (e) {
    throw new IngestError(415, `invalid narinfo: ${(e as Error).message}`);
  }
  const up = o.db.getUpload(o.cache, url);
  if (!up)
    throw new IngestError(
      400,
      `narinfo for ${ni.storePath} refers to ${url}, which this cache has not received: upload the NAR first`,
    );
  const mismatch = (what: string, claimed: string | number, actual: string | number) =>
    new IngestError(
      400,
      `narinfo for ${ni.storePath} claims ${what} ${claimed}, but the NAR received at ${url} has ${actual}`,
    );
  if (ni.compression !== up.compression) throw mismatch("Compression", ni.compression, up.compression);
  if (formatHashNix32(ni.narHash) !== up.narHash)
    throw mismatch("NarHash", formatHashNix32(ni.narHash), up.narHash);
  if (ni.narSize !== up.narSize) throw mismatch("NarSize", ni.narSize, up.narSize);
  if (ni.fileHash && !hashEquals(ni.fileHash, parseFileHash(up.fileHash)))
    throw mismatch("FileHash", formatHashNix32(ni.fileHash), up.fileHash);
  if (ni.fileSize !== undefined && ni.fileSize !== up.fileSize)
    throw mismatch("FileSize", ni.fileSize, up.fileSize);
  // Fill in what we measured, and sign with the cache's key (keeping the client's signatures).
  const complete = { ...ni, url, fileHash: parseFileHash(up.fileHash), fileSize: up.fileSize };
  const signed = o.sign === false ? complete : signNarInfo(complete, o.db.signingKey(o.cache));
  const text = formatNarInfo(signed);
  o.db.commitNarInfo(o.cache, o.hash, ni.storePath, url, text);
  return text;
}

function stripQuery(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** File hashes are stored in our own `sha256:<nix32>` form. */
function parseFileHash(stored: string): Hash {
  return parseHash(stored);
}
