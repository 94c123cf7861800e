// The server's blob storage seam. Blobs are content-addressed (named by the SHA-256, in hex, of
// their bytes) and appear only complete: a write is staged, verified by the caller, then committed
// under its hash. Multipart parts of the Cachix API are staged and committed the same way, under
// their upload and part number. fs.ts keeps them on the local filesystem, s3/ in an S3 bucket
// (a staged write as a multipart upload, committed by a server-side copy). An object store may
// also take the Cachix API's multipart parts itself (`direct`) and hand out short-lived GET URLs.
import type { Readable } from "node:stream";

/** Bytes being written; nothing is visible to readers until `commit`. */
export interface StagedWrite {
  write(chunk: Buffer): Promise<void>;
  /** Drops what was written; safe to call more than once, and after a failed commit. */
  discard(): Promise<void>;
}

export interface StagedBlob extends StagedWrite {
  /** Makes the bytes durable and visible as blob `hash` (a no-op when that blob exists already). */
  commit(hash: string): Promise<void>;
}

export interface StagedPart extends StagedWrite {
  /** Makes the part visible to `readParts`, replacing an earlier one with the same number. */
  commit(): Promise<void>;
}

/** Random access to one blob, for range requests: `read` as FileHandle#read, then `close`. */
export interface BlobReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** A blob's name: the SHA-256 of its bytes, in lowercase hex. */
export const BLOB_NAME = /^[0-9a-f]{64}$/;
/** An upload's name (a multipart upload's, a direct upload's NAR id): safe in a path or a key. */
export const UPLOAD_NAME = /^[0-9A-Za-z-]{1,64}$/;

/** `hash`, once checked to be a blob name: no caller can point outside the blobs. */
export function checkBlobName(hash: string): string {
  if (!BLOB_NAME.test(hash)) throw new Error(`invalid blob name ${JSON.stringify(hash)}`);
  return hash;
}

/** `upload`, once checked to be an upload name. */
export function checkUploadName(upload: string): string {
  if (!UPLOAD_NAME.test(upload)) throw new Error(`invalid upload name ${JSON.stringify(upload)}`);
  return upload;
}

/** Every item of a paged listing, in order (listBlobs over blobPages). */
export async function collectPages<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

export interface StorageBackend {
  /**
   * Prepares storage. With `clearStaging` (one process per data directory: the single server, or
   * the primary of a cluster), drops whatever staged writes a dead process left.
   */
  init(opts?: { clearStaging?: boolean }): Promise<void>;

  stageBlob(): Promise<StagedBlob>;
  /**
   * Staged writes neither committed nor discarded: this process's in progress, and what storage
   * holds of others' (a dead process's leftovers until `init` clears them). For checks and tests.
   */
  listStaged(): Promise<string[]>;
  /** The blob's size, or undefined when there is no such blob. */
  blobSize(hash: string): Promise<number | undefined>;
  /**
   * Opens a blob for range reads (rejects when it does not exist); `from` is where reading will
   * likely start (an object store fetches from there at once).
   */
  openBlob(hash: string, from?: number): Promise<BlobReader>;
  /** A blob's bytes `start..end` (inclusive; default the whole blob) as a stream. */
  readBlob(hash: string, range?: { start: number; end: number }): Readable;
  /** When the blob was last written or re-committed (ms since the epoch), or undefined. */
  blobModified(hash: string): Promise<number | undefined>;
  deleteBlob(hash: string): Promise<void>;
  /** Every stored blob (listBlobs collects blobPages). */
  listBlobs(): Promise<string[]>;
  /** The stored blobs a page at a time (a directory, a listing page): memory stays flat. */
  blobPages(): AsyncIterable<string[]>;

  stagePart(upload: string, part: number): Promise<StagedPart>;
  /** The committed parts of an upload, in the order given, as one stream. */
  readParts(upload: string, parts: readonly number[]): Readable;
  /** When a part of the upload was last written (ms since the epoch), or undefined when none. */
  partsLastWritten(upload: string): Promise<number | undefined>;
  /** Uploads that have parts (or staged parts) stored. */
  listPartUploads(): Promise<string[]>;
  deleteParts(upload: string): Promise<void>;

  /** Multipart uploads that clients send straight to storage (the NAR bytes bypass the server). */
  direct?: DirectUploads;
  /** A URL that serves the blob's bytes (with Range) to anyone holding it, for `ttlMs`. */
  presignGet?(hash: string, ttlMs: number, opts?: { contentType?: string }): Promise<string>;
}

/** A part of a direct upload as storage holds it. */
export interface DirectPart {
  part: number;
  /** Quoted, as S3 gives it: the part's MD5 in hex. */
  etag: string;
  size: number;
  /** ms since the epoch. */
  modified: number;
}

/** An upload's parts assembled into one object, not yet a blob. */
export interface AssembledUpload {
  size: number;
  /** The object's bytes, for verification. */
  read(): Readable;
  /** Makes the object blob `hash` (a no-op when that blob exists already) and drops the upload. */
  commit(hash: string): Promise<void>;
  /** Drops the object; safe to call more than once. */
  discard(): Promise<void>;
}

/**
 * The Cachix API's multipart upload run by the object store itself: the upload id is the
 * store's, part URLs are presigned by it and bound to each part's Content-MD5.
 */
export interface DirectUploads {
  /** Every part but the last must be at least this large. */
  readonly minPartBytes: number;
  /** Starts the upload of NAR `narId`; returns the store's upload id. */
  createUpload(narId: string): Promise<string>;
  /** A URL that takes one PUT of part `part`, whose bytes must have this (base64) MD5. */
  partUrl(narId: string, uploadId: string, part: number, contentMD5: string, ttlMs: number): Promise<string>;
  /** The parts received so far, by number; undefined when the upload is no longer open in storage. */
  listParts(narId: string, uploadId: string): Promise<DirectPart[] | undefined>;
  /**
   * Assembles the listed parts into one object. Completing again an upload assembled already (a
   * retry after a failure) finds the object, as long as the parts are the same.
   */
  complete(
    narId: string,
    uploadId: string,
    parts: ReadonlyArray<{ part: number; etag: string }>,
  ): Promise<AssembledUpload>;
  /** Drops the upload (when `uploadId` is given) and any object assembled from it. */
  abort(narId: string, uploadId?: string): Promise<void>;
  /** What storage holds: open uploads (with their id) and assembled objects (uploadId null). */
  listUploads(): Promise<Array<{ narId: string; uploadId: string | null; since: number }>>;
}
