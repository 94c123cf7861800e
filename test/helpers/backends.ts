// Which backends the server's behaviour tests run on: {file, S3} x {SQLite, PostgreSQL}. A file
// that runs on each declares it with forEachBackend(…); NIXCACHE_TEST_BACKEND = sqlite+file,
// postgres+file, sqlite+s3 or postgres+s3 narrows that to one, and is the one backend of the files
// that run on one (sqlite+file when unset). A test gets a fresh database and a fresh bucket per
// server; the data directory still holds what tests read there directly (nothing, with both URLs
// given).
import { describe } from "node:test";
import type { StateLocation } from "../../src/server/state-location.js";
import { openStorage } from "../../src/server/state-location.js";
import { freshDatabase } from "./postgres.js";
import { freshStorageUrl } from "./s3.js";

export type Backend = "sqlite+file" | "postgres+file" | "sqlite+s3" | "postgres+s3";
export const BACKENDS: readonly Backend[] = ["sqlite+file", "postgres+file", "sqlite+s3", "postgres+s3"];

/** The backend NIXCACHE_TEST_BACKEND names, if set. */
function named(): Backend | undefined {
  const b = process.env.NIXCACHE_TEST_BACKEND;
  if (b === undefined || b === "") return undefined;
  if (!(BACKENDS as readonly string[]).includes(b))
    throw new Error(`NIXCACHE_TEST_BACKEND=${b}: use one of ${BACKENDS.join(", ")}`);
  return b as Backend;
}

/** The backend of the files that run on one. */
const BACKEND = named() ?? "sqlite+file";

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

/** One backend as a suite sees it. */
export interface BackendUnderTest {
  name: Backend;
  onS3: boolean;
  onPostgres: boolean;
  /** Fresh URLs on this backend for a server keeping its state in `dataDir`. */
  stores(dataDir: string): Promise<StateLocation>;
}

export function backendUnderTest(name: Backend): BackendUnderTest {
  return {
    name,
    onS3: name.endsWith("+s3"),
    onPostgres: name.startsWith("postgres"),
    stores: (dataDir) => testStateLocation(dataDir, name),
  };
}

/**
 * Registers `body`'s tests once per backend, each set in a suite named "on <backend>" (one after
 * the other: each suite starts its own servers in its own hooks). `only` limits the backends a
 * file runs on; NIXCACHE_TEST_BACKEND narrows them to the one it names.
 */
export function forEachBackend(body: (backend: BackendUnderTest) => void): void;
export function forEachBackend(only: readonly Backend[], body: (backend: BackendUnderTest) => void): void;
export function forEachBackend(
  a: readonly Backend[] | ((backend: BackendUnderTest) => void),
  b?: (backend: BackendUnderTest) => void,
): void {
  const [only, body] =
    typeof a === "function" ? [BACKENDS, a] : [a, b as (backend: BackendUnderTest) => void];
  const one = named();
  for (const name of only) {
    if (one !== undefined && name !== one) continue;
    describe(`on ${name}`, () => body(backendUnderTest(name)));
  }
}
