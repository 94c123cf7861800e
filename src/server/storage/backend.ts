// The server's blob storage seam. Blobs are content-addressed (named by the SHA-256, in hex, of
// their bytes) and appear only complete: a write is staged, verified by the caller, then committed
// under its hash. Multipart parts of the Cachix API are staged and committed the same way, under
// their upload and part number. Only the filesystem implementation exists (fs.ts); an object store
// implements the same methods (a staged write as a temporary object or a multipart upload).
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

export interface StorageBackend {
  /**
   * Prepares storage. With `clearStaging` (one process per data directory: the single server, or
   * the primary of a cluster), drops whatever staged writes a dead process left.
   */
  init(opts?: { clearStaging?: boolean }): Promise<void>;

  stageBlob(): Promise<StagedBlob>;
  /** The blob's size, or undefined when there is no such blob. */
  blobSize(hash: string): Promise<number | undefined>;
  /** Opens a blob for range reads (rejects when it does not exist). */
  openBlob(hash: string): Promise<BlobReader>;
  /** A blob's bytes `start..end` (inclusive; default the whole blob) as a stream. */
  readBlob(hash: string, range?: { start: number; end: number }): Readable;
  /** When the blob was last written or re-committed (ms since the epoch), or undefined. */
  blobModified(hash: string): Promise<number | undefined>;
  deleteBlob(hash: string): Promise<void>;
  listBlobs(): Promise<string[]>;

  stagePart(upload: string, part: number): Promise<StagedPart>;
  /** The committed parts of an upload, in the order given, as one stream. */
  readParts(upload: string, parts: readonly number[]): Readable;
  /** When a part of the upload was last written (ms since the epoch), or undefined when none. */
  partsLastWritten(upload: string): Promise<number | undefined>;
  /** Uploads that have parts (or staged parts) stored. */
  listPartUploads(): Promise<string[]>;
  deleteParts(upload: string): Promise<void>;
}
