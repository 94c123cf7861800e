// Which backends the server's behaviour tests run on: NIXCACHE_TEST_BACKEND = sqlite+file (the
// default), postgres+file, sqlite+s3 or postgres+s3 (scripts/test.sh runs them all). A test gets a
// fresh database and a fresh bucket per server; the data directory still holds what tests read
// there directly (nothing, with both URLs given).
import type { StateLocation } from "../../src/server/state-location.js";
import { openStorage } from "../../src/server/state-location.js";
import { freshDatabase } from "./postgres.js";
import { freshStorageUrl } from "./s3.js";

export type Backend = "sqlite+file" | "postgres+file" | "sqlite+s3" | "postgres+s3";
export const BACKENDS: readonly Backend[] = ["sqlite+file", "postgres+file", "sqlite+s3", "postgres+s3"];

function chosen(): Backend {
  const b = (process.env.NIXCACHE_TEST_BACKEND ?? "sqlite+file") as Backend;
  if (!BACKENDS.includes(b)) throw new Error(`NIXCACHE_TEST_BACKEND=${b}: use one of ${BACKENDS.join(", ")}`);
  return b;
}

export const BACKEND = chosen();
export const ON_POSTGRES = BACKEND.startsWith("postgres");
export const ON_S3 = BACKEND.endsWith("+s3");

/** Where a test server keeps its state: `dataDir` plus fresh URLs for the chosen backends. */
export async function testStateLocation(dataDir: string, backend: Backend = BACKEND): Promise<StateLocation> {
  return {
    dataDir,
    db: backend.startsWith("postgres") ? await freshDatabase() : undefined,
    storage: backend.endsWith("+s3") ? await freshStorageUrl() : undefined,
  };
}

/** The same location as `nixcache` flags. */
export function stateArgs(at: StateLocation): string[] {
  return [
    ...(at.dataDir !== undefined ? ["--data", at.dataDir] : []),
    ...(at.db !== undefined ? ["--db", at.db] : []),
    ...(at.storage !== undefined ? ["--storage", at.storage] : []),
  ];
}

/** The blobs in a location's storage (wherever it is). */
export async function storedBlobs(at: StateLocation): Promise<string[]> {
  const s = await openStorage(at);
  return (await s.listBlobs()).sort();
}
