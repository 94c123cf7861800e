// Opening the server's two seams from where users say they live: `--data DIR` (SQLite and the
// filesystem under DIR, the embedded default), or `--db URL` and `--storage URL` (SQLite or
// PostgreSQL; a directory or an S3-compatible bucket). Every command that touches a server's state
// (serve, cache, token, gc, pin, data copy) opens it through here.
import { NixcacheError } from "../util/errors.js";
import {
  type DbLocation,
  dataDirLocations,
  parseDbUrl,
  parseStorageUrl,
  redactUrl,
  type StorageLocation,
} from "./locations.js";
import type { CacheMemoOptions } from "./metadata/queries/caches.js";
import { openSqliteStore } from "./metadata/sqlite/open.js";
import type { MetadataStore } from "./metadata/store.js";
import type { StorageBackend } from "./storage/backend.js";
import { FsStorage } from "./storage/fs.js";

export interface StateLocation {
  /** SQLite + files under this directory, for whichever of `db`/`storage` is not given. */
  dataDir?: string;
  /** `sqlite:///path/nixcache.db` or `postgres://user@host:port/dbname`. */
  db?: string;
  /** `file:///path` or `s3://BUCKET[/PREFIX]?endpoint=URL&region=R&path-style=1`. */
  storage?: string;
  /** PostgreSQL's password, when it is not in `db` (read from `serve --db-password-file`). */
  dbPassword?: string;
  /** S3 keys, when not the AWS SDK's default chain (`serve --s3-access-key-id-file` and friend). */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface ResolvedLocation {
  db: DbLocation;
  storage: StorageLocation;
}

function missing(what: "--db" | "--storage", at: StateLocation): NixcacheError {
  return new NixcacheError(
    "usage",
    at.db === undefined && at.storage === undefined
      ? "say where the server's state is: --data DIR, or --db URL with --storage URL"
      : `${what} is missing: give --db URL and --storage URL together (or --data DIR for the other)`,
  );
}

/** The metadata's location: `db`, else the SQLite file under `dataDir`. */
export function resolveDb(at: StateLocation): DbLocation {
  if (at.db !== undefined) return parseDbUrl(at.db);
  if (at.dataDir !== undefined) return dataDirLocations(at.dataDir).db;
  throw missing("--db", at);
}

/** The blobs' location: `storage`, else the files under `dataDir`. */
export function resolveStorage(at: StateLocation): StorageLocation {
  if (at.storage !== undefined) return parseStorageUrl(at.storage);
  if (at.dataDir !== undefined) return dataDirLocations(at.dataDir).storage;
  throw missing("--storage", at);
}

/**
 * Both locations (what a server needs). Given only one of `db` and `storage`, the other comes
 * from `dataDir`, which must then be given: a replica behind a load balancer must not quietly keep
 * half its state on its own disk.
 */
export function resolveLocation(at: StateLocation): ResolvedLocation {
  return { db: resolveDb(at), storage: resolveStorage(at) };
}

/** Where the metadata is, for messages (passwords redacted). */
export function describeLocation(at: StateLocation): string {
  const db = resolveDb(at);
  return db.kind === "sqlite" ? db.file : redactUrl(db.url);
}

/** Opens the metadata store, applying any migrations it lacks. */
export async function openMetadata(at: StateLocation, opts: CacheMemoOptions = {}): Promise<MetadataStore> {
  const db = resolveDb(at);
  if (db.kind === "sqlite") return openSqliteStore(db.file, opts);
  // Loaded only when used, like the S3 client.
  const { openPostgresStore } = await import("./metadata/postgres/open.js");
  return openPostgresStore(at.dbPassword === undefined ? db.url : withPassword(db.url, at.dbPassword), opts);
}

/** The blob storage (not yet initialised: call `init`). */
export async function openStorage(at: StateLocation): Promise<StorageBackend> {
  const storage = resolveStorage(at);
  if (storage.kind === "file") return new FsStorage(storage.dir);
  // Loaded only when used: the AWS SDK is large, and most servers keep blobs on disk.
  const { S3Storage } = await import("./storage/s3/backend.js");
  return S3Storage.open(storage, at.s3Credentials ? { credentials: at.s3Credentials } : {});
}

/** The URL with this password (pg takes the URL's over a separate one); messages redact it. */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  if (u.host === "")
    throw new NixcacheError(
      "usage",
      "a database password needs a postgres:// URL with a host (a socket needs none)",
    );
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** Runs `f` with the metadata store open, and closes it after. */
export async function withMetadata<T>(at: StateLocation, f: (meta: MetadataStore) => Promise<T>): Promise<T> {
  const meta = await openMetadata(at);
  try {
    return await f(meta);
  } finally {
    await meta.close();
  }
}
