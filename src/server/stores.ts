// Opening the server's two seams from where they live. The metadata is in the data directory
// (SQLite); blobs are there too (the filesystem) unless `storage` names an object store
// (`s3://BUCKET[/PREFIX]?endpoint=…`, locations.ts).

import { parseStorageUrl } from "./locations.js";
import { SqliteMetadataStore } from "./metadata/sqlite/store.js";
import type { MetadataStore } from "./metadata/store.js";
import type { StorageBackend } from "./storage/backend.js";
import { FsStorage } from "./storage/fs.js";

export interface StoreLocation {
  dataDir: string;
  /** `--storage`: `file:///path` or `s3://BUCKET[/PREFIX]?…` (default: the data directory). */
  storage?: string;
}

/** Opens the metadata store, applying any migrations it lacks. */
export async function openMetadata(at: StoreLocation): Promise<MetadataStore> {
  return SqliteMetadataStore.open(at.dataDir);
}

/** The blob storage (not yet initialised: call `init`). */
export async function openStorage(at: StoreLocation): Promise<StorageBackend> {
  if (at.storage === undefined) return new FsStorage(at.dataDir);
  const loc = parseStorageUrl(at.storage);
  if (loc.kind === "file") return new FsStorage(loc.dir);
  // Loaded only when used: the AWS SDK is large, and most servers keep blobs on disk.
  const { S3Storage } = await import("./storage/s3.js");
  return S3Storage.open(loc);
}

/** Runs `f` with the metadata store open, and closes it after. */
export async function withMetadata<T>(at: StoreLocation, f: (meta: MetadataStore) => Promise<T>): Promise<T> {
  const meta = await openMetadata(at);
  try {
    return await f(meta);
  } finally {
    await meta.close();
  }
}
