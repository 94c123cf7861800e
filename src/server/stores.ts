// Opening the server's two seams from where they live. Today both are in one data directory
// (SQLite + the filesystem); other locations (a database URL, an object store) are added here.

import { SqliteMetadataStore } from "./metadata/sqlite/store.js";
import type { MetadataStore } from "./metadata/store.js";
import type { StorageBackend } from "./storage/backend.js";
import { FsStorage } from "./storage/fs.js";

export interface StoreLocation {
  dataDir: string;
}

/** Opens the metadata store, applying any migrations it lacks. */
export async function openMetadata(at: StoreLocation): Promise<MetadataStore> {
  return SqliteMetadataStore.open(at.dataDir);
}

export function openStorage(at: StoreLocation): StorageBackend {
  return new FsStorage(at.dataDir);
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
