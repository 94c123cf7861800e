// Nix's own narinfo disk cache (`$XDG_CACHE_HOME/nix/binary-cache-v6.sqlite`, else
// `~/.cache/nix/...`): every narinfo Nix has seen or uploaded, per cache URL, kept for
// `narinfo-cache-positive-ttl` (30 days). After `nix copy --to URL` it holds the narinfo as Nix
// uploaded it; when the server signs on ingest, Nix on this machine then substitutes from the
// unsigned copy and fails. Read-only: doctor never changes it.
import { homedir } from "node:os";
import path from "node:path";
import { type NarInfo, parseNarInfo } from "../nix/narinfo.js";

export function defaultDiskCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "nix", "binary-cache-v6.sqlite");
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
  const out = new Map<string, DiskCacheEntry[]>();
  const { default: Database } = await import("better-sqlite3");
  let db: import("better-sqlite3").Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    if ((e as { code?: string }).code === "SQLITE_CANTOPEN") return out;
    throw e;
  }
  try {
    const cacheId = db.prepare("SELECT id FROM BinaryCaches WHERE url = ? OR url = ?");
    const rows = db.prepare(
      "SELECT hashPart, namePart, url, compression, fileHash, fileSize, narHash, narSize, refs, deriver, sigs, ca, timestamp FROM NARs WHERE cache = ? AND present = 1 AND timestamp >= ?",
    );
    for (const url of urls) {
      const bare = url.replace(/\/+$/, "");
      const id = cacheId.get(bare, `${bare}/`) as { id: number } | undefined;
      if (!id) continue;
      const entries: DiskCacheEntry[] = [];
      for (const r of rows.all(id.id, nowS - positiveTtlS) as Row[]) {
        const ni = rowNarInfo(r);
        if (ni) entries.push({ hashPart: r.hashPart, narInfo: ni, timestamp: r.timestamp });
      }
      out.set(url, entries);
    }
  } finally {
    db.close();
  }
  return out;
}
