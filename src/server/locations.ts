// Where the server's two seams live, as users name them: `--db sqlite:///path/nixcache.db` or
// `--db postgres://user@host:port/dbname`, `--storage file:///path` or
// `--storage 's3://BUCKET[/PREFIX]?endpoint=URL&region=R&path-style=1'`. `--data DIR` means SQLite
// and the filesystem under DIR. Pure: parsing only; state-location.ts opens what these describe.
import { join } from "node:path";
import { NixcacheError } from "../util/errors.js";

export type DbLocation = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };

export interface S3Location {
  kind: "s3";
  bucket: string;
  /** Key prefix without leading or trailing slash ("" for the bucket's root). */
  prefix: string;
  /** Endpoint of an S3-compatible store (undefined: AWS's, from the region). */
  endpoint?: string;
  region: string;
  pathStyle: boolean;
}

export type StorageLocation = { kind: "file"; dir: string } | S3Location;

function usage(message: string): NixcacheError {
  return new NixcacheError("usage", message);
}

/** A URL with any password replaced, for messages. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
  }
}

function fileUrlPath(raw: string, flag: string): string {
  const u = new URL(raw);
  if (u.host !== "" && u.host !== "localhost")
    throw usage(`${flag} ${raw}: a file URL names a local path (file:///path), not host ${u.host}`);
  const path = decodeURIComponent(u.pathname);
  if (!path.startsWith("/") || path === "/") throw usage(`${flag} ${raw}: give an absolute path`);
  return path;
}

export function parseDbUrl(raw: string): DbLocation {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usage(
      `--db ${redactUrl(raw)}: not a URL (use sqlite:///path/nixcache.db or postgres://user@host:port/dbname)`,
    );
  }
  if (u.protocol === "sqlite:") {
    if (u.host !== "") throw usage(`--db ${raw}: write sqlite:///absolute/path (three slashes)`);
    const file = decodeURIComponent(u.pathname);
    if (!file.startsWith("/") || file.endsWith("/"))
      throw usage(`--db ${raw}: give the database file's path`);
    return { kind: "sqlite", file };
  }
  if (u.protocol === "postgres:" || u.protocol === "postgresql:") return { kind: "postgres", url: raw };
  throw usage(
    `--db ${redactUrl(raw)}: unsupported scheme ${u.protocol} (use sqlite:///path or postgres://user@host:port/dbname)`,
  );
}

const S3_PARAMS = new Set(["endpoint", "region", "path-style"]);

export function parseStorageUrl(raw: string): StorageLocation {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usage(
      `--storage ${raw}: not a URL (use file:///path or s3://BUCKET[/PREFIX]?endpoint=URL&region=R)`,
    );
  }
  if (u.protocol === "file:") return { kind: "file", dir: fileUrlPath(raw, "--storage") };
  if (u.protocol !== "s3:")
    throw usage(
      `--storage ${raw}: unsupported scheme ${u.protocol} (use file:///path or s3://BUCKET[/PREFIX])`,
    );
  if (u.username || u.password)
    throw usage(
      "--storage: put no credentials in the URL; they come from serve's s3-access-key-id-file and " +
        "s3-secret-access-key-file (or systemd credentials of those names), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an AWS profile",
    );
  const bucket = u.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw usage(
      `--storage ${raw}: ${JSON.stringify(bucket)} is not a valid bucket name (3-63 of a-z 0-9 . -)`,
    );
  for (const k of u.searchParams.keys())
    if (!S3_PARAMS.has(k))
      throw usage(`--storage ${raw}: unknown parameter ${k} (known: endpoint, region, path-style)`);
  const prefix = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, "");
  if (prefix.split("/").some((p) => p === ".." || p === "."))
    throw usage(`--storage ${raw}: the prefix may not contain . or .. segments`);
  const endpoint = u.searchParams.get("endpoint") ?? undefined;
  if (endpoint !== undefined) {
    let e: URL;
    try {
      e = new URL(endpoint);
    } catch {
      throw usage(`--storage ${raw}: endpoint ${endpoint} is not a URL`);
    }
    if (e.protocol !== "http:" && e.protocol !== "https:")
      throw usage(`--storage ${raw}: endpoint must be http:// or https://`);
  }
  const pathStyle = u.searchParams.get("path-style");
  if (pathStyle !== null && !["0", "1", "true", "false"].includes(pathStyle))
    throw usage(`--storage ${raw}: path-style is 1 or 0`);
  return {
    kind: "s3",
    bucket,
    prefix,
    endpoint,
    region:
      u.searchParams.get("region") ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    pathStyle: pathStyle === "1" || pathStyle === "true",
  };
}

/** What `--data DIR` means: SQLite and the filesystem, both under DIR. */
export function dataDirLocations(dir: string): { db: DbLocation; storage: StorageLocation } {
  return { db: { kind: "sqlite", file: join(dir, "nixcache.db") }, storage: { kind: "file", dir } };
}
