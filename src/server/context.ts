import type { BlobStore } from "./blobs.js";
import type { ServerDb } from "./db.js";
import type { NarInfoCache } from "./narinfo-cache.js";

/** What route modules share: storage, metadata, limits, and the hooks for shutdown and errors. */
export interface ServerContext {
  db: ServerDb;
  blobs: BlobStore;
  /** Narinfo responses kept in memory (the hot read path). */
  narinfos: NarInfoCache;
  maxUploadBytes: number;
  maxNarInfoBytes: number;
  /** Registers an in-flight upload so shutdown can wait for it to commit. */
  track<T>(work: Promise<T>): Promise<T>;
  logError(err: unknown): void;
}
