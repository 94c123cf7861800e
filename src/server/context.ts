import type { BlobStore } from "./blobs.js";
import type { ServerDb } from "./db.js";

/** What route modules share: storage, metadata, limits, and the hooks for shutdown and errors. */
export interface ServerContext {
  db: ServerDb;
  blobs: BlobStore;
  maxUploadBytes: number;
  maxNarInfoBytes: number;
  /** Registers an in-flight upload so shutdown can wait for it to commit. */
  track<T>(work: Promise<T>): Promise<T>;
  logError(err: unknown): void;
}
