// Nix's own narinfo disk cache (`$XDG_CACHE_HOME/nix/binary-cache-vN.sqlite`, else
// `~/.cache/nix/...`; N is 6, 7 or 8 by Nix version, see narinfoDiskCacheName): every narinfo Nix
// has seen or uploaded, per cache URL, kept for `narinfo-cache-positive-ttl` (30 days); every
// narinfo it found missing, kept for `narinfo-cache-negative-ttl` (1 hour); and each cache's
// `nix-cache-info`, kept 7 days (forever before Nix 2.10; `narinfo-cache-meta-ttl` from 2.34).
// After `nix copy --to URL` it holds the narinfo as Nix uploaded it; when the server signs on
// ingest, Nix on this machine then substitutes from the unsigned copy and fails. A path looked up
// before it was pushed stays "missing" for this machine's Nix until the negative entry expires.
// Read-only: doctor never changes it.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { type NixVersion, narinfoDiskCacheName } from "../local-nix/nix-version.js";
import { type NarInfo, parseNarInfo } from "../nix/narinfo.js";

const NAMES = ["binary-cache-v8.sqlite", "binary-cache-v7.sqlite", "binary-cache-v6.sqlite"];

/**
 * The disk cache file of the Nix `version` (its name changed in Nix 2.31 and 2.35). Without a
 * version (an unrecognised Nix): the newest of the files that exists, else the newest name.
 */
export function defaultDiskCacheFile(
  env: NodeJS.ProcessEnv = process.env,
  version?: NixVersion | null,
): string {
  const dir = path.join(env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "nix");
  if (version === undefined) return path.join(dir, "binary-cache-v6.sqlite");
  if (version !== null) return path.join(dir, narinfoDiskCacheName(version));
  const found = NAMES.find((n) => existsSync(path.join(dir, n)));
  return path.join(dir, found ?? (NAMES[0] as string));
}

/** One positive entry of the disk cache, as the narinfo Nix would use. */
export interface DiskCacheEntry {
  hashPart: string;
  narInfo: NarInfo;
  /** Unix seconds when Nix stored it. */
  timestamp: number;
}

interface Row {
  hashPart: string;
  namePart: string | null;
  url: string | null;
  compression: string | null;
  fileHash: string | null;
  fileSize: number | null;
  narHash: string | null;
  narSize: number | null;
  refs: string | null;
  deriver: string | null;
  sigs: string | null;
  ca: string | null;
  timestamp: number;
}

function rowNarInfo(r: Row): NarInfo | undefined {
  if (!r.namePart || !r.narHash || !r.narSize) return undefined;
  const lines = [
    `StorePath: /nix/store/${r.hashPart}-${r.namePart}`,
    `URL: ${r.url ?? "nar/unknown"}`,
    `Compression: ${r.compression || "none"}`,
    ...(r.fileHash ? [`FileHash: ${r.fileHash}`] : []),
    ...(r.fileSize ? [`FileSize: ${r.fileSize}`] : []),
    `NarHash: ${r.narHash}`,
    `NarSize: ${r.narSize}`,
    `References: ${r.refs ?? ""}`,
    ...(r.deriver ? [`Deriver: ${r.deriver}`] : []),
    ...(r.sigs ?? "")
      .split(" ")
      .filter(Boolean)
      .map((s) => `Sig: ${s}`),
    ...(r.ca ? [`CA: ${r.ca}`] : []),
  ];
  try {
    return parseNarInfo(`${lines.join("\n")}\n`);
  } catch {
    return undefined;
  }
}

/**
 * The positive entries Nix would still use for each of `urls` (younger than `positiveTtlS`), by
 * URL. A missing database (Nix never substituted here) is no entries; a database Nix laid out
 * differently raises.
 */
export async function readDiskCache(
  file: string,
  urls: readonly string[],
  positiveTtlS = 30 * 24 * 3600,
  nowS = Math.floor(Date.now() / 1000),
): Promise<Map<string, DiskCacheEntry[]>> {
  return (await readDiskCacheState(file, urls, { positiveTtlS }, nowS)).positive;
}

/** What Nix remembers of one cache's `nix-cache-info`. */
export interface DiskCacheMeta {
  /** Unix seconds when Nix stored it. */
  timestamp: number;
  storeDir: string;
  wantMassQuery: boolean;
  priority: number;
}

/** A narinfo Nix remembers as missing from a cache. */
export interface DiskCacheMiss {
  hashPart: string;
  /** Unix seconds when Nix looked and found nothing. */
  timestamp: number;
}

export interface DiskCacheState {
  positive: Map<string, DiskCacheEntry[]>;
  /** Misses Nix still believes (younger than the negative TTL), by URL. */
  negative: Map<string, DiskCacheMiss[]>;
  meta: Map<string, DiskCacheMeta>;
}

/** Everything Nix's disk cache says about `urls` that Nix would still use. */
export async function readDiskCacheState(
  file: string,
  urls: readonly string[],
  ttls: { positiveTtlS?: number; negativeTtlS?: number } = {},
  nowS = Math.floor(Date.now() / 1000),
): Promise<DiskCacheState> {
  const state: DiskCacheState = { positive: new Map(), negative: new Map(), meta: new Map() };
  const positiveTtlS = ttls.positiveTtlS ?? 30 * 24 * 3600;
  const negativeTtlS = ttls.negativeTtlS ?? 3600;
  const { default: Database } = await import("better-sqlite3");
  let db: import("better-sqlite3").Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    if ((e as { code?: string }).code === "SQLITE_CANTOPEN") return state;
    throw e;
  }
  try {
    const cache = db.prepare(
      "SELECT id, timestamp, storeDir, wantMassQuery, priority FROM BinaryCaches WHERE url = ? OR url = ?",
    );
    const rows = db.prepare(
      "SELECT hashPart, namePart, url, compression, fileHash, fileSize, narHash, narSize, refs, deriver, sigs, ca, timestamp FROM NARs WHERE cache = ? AND present = 1 AND timestamp >= ?",
    );
    const misses = db.prepare(
      "SELECT hashPart, timestamp FROM NARs WHERE cache = ? AND present = 0 AND timestamp > ? ORDER BY timestamp DESC",
    );
    for (const url of urls) {
      const bare = url.replace(/\/+$/, "");
      const c = cache.get(bare, `${bare}/`) as
        | { id: number; timestamp: number; storeDir: string; wantMassQuery: number; priority: number }
        | undefined;
      if (!c) continue;
      state.meta.set(url, {
        timestamp: c.timestamp,
        storeDir: c.storeDir,
        wantMassQuery: c.wantMassQuery !== 0,
        priority: c.priority,
      });
      const entries: DiskCacheEntry[] = [];
      for (const r of rows.all(c.id, nowS - positiveTtlS) as Row[]) {
        const ni = rowNarInfo(r);
        if (ni) entries.push({ hashPart: r.hashPart, narInfo: ni, timestamp: r.timestamp });
      }
      state.positive.set(url, entries);
      state.negative.set(url, misses.all(c.id, nowS - negativeTtlS) as DiskCacheMiss[]);
    }
  } finally {
    db.close();
  }
  return state;
}
