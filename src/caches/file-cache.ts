// A binary cache in a local directory (`file:///dir`), laid out as Nix lays it out: NARs are
// written under a temporary name and renamed to `nar/<filehash>.nar.<ext>` once complete, and a
// narinfo is renamed into place last, so a reader never sees a partial file.
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { access, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { compressAndHash, compressPathAndHash } from "../codec/compress-and-hash.js";
import { narExtension } from "../codec/compression.js";
import { type CacheInfo, formatCacheInfo, parseCacheInfo } from "../nix/cache-info.js";
import { buildNarInfo, formatNarInfo, type NarInfo, parseNarInfo } from "../nix/narinfo.js";
import { nix32Encode } from "../nix/nix32.js";
import { checkStoreHash, parseStorePath, parseStorePathBase } from "../nix/store-path.js";
import { NixcacheError } from "../util/errors.js";
import type { NarUpload, StagedPath, StoredBuildLog, WritableBinaryCache } from "./types.js";

export const DEFAULT_CACHE_INFO: CacheInfo = { storeDir: "/nix/store", wantMassQuery: true, priority: 40 };

export class FileCache implements WritableBinaryCache {
  readonly url: string;
  constructor(readonly dir: string) {
    this.url = `file://${dir}`;
  }

  async cacheInfo(): Promise<CacheInfo> {
    let text: string;
    try {
      text = await readFile(join(this.dir, "nix-cache-info"), "utf8");
    } catch (e) {
      throw new NixcacheError("notFound", `${this.url} is not a binary cache: ${(e as Error).message}`);
    }
    return parseCacheInfo(text);
  }

  async ensureCacheInfo(): Promise<CacheInfo> {
    try {
      return await this.cacheInfo();
    } catch {
      await mkdir(this.dir, { recursive: true });
      await this.writeAtomically("nix-cache-info", formatCacheInfo(DEFAULT_CACHE_INFO));
      return DEFAULT_CACHE_INFO;
    }
  }

  async missing(hashes: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    await Promise.all(
      hashes.map(async (h) => {
        checkStoreHash(h);
        try {
          await access(join(this.dir, `${h}.narinfo`));
        } catch {
          out.add(h);
        }
      }),
    );
    return out;
  }

  async getNarInfo(hash: string): Promise<NarInfo | null> {
    checkStoreHash(hash);
    let text: string;
    try {
      text = await readFile(join(this.dir, `${hash}.narinfo`), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    return parseNarInfo(text);
  }

  /** Reads a file of the cache by its URL (as found in a narinfo). */
  async readFile(relUrl: string): Promise<Buffer> {
    if (relUrl.split("/").includes(".."))
      throw new NixcacheError("invalid", `refusing URL ${JSON.stringify(relUrl)}`);
    return readFile(join(this.dir, relUrl));
  }

  async uploadNar(u: NarUpload): Promise<StagedPath> {
    u.signal?.throwIfAborted();
    const narDir = join(this.dir, "nar");
    await mkdir(narDir, { recursive: true });
    const tmp = join(narDir, `.tmp-${randomBytes(8).toString("hex")}`);
    const o = { level: u.level, onNarBytes: u.onProgress };
    const { chunks, stats } = u.narSource
      ? compressPathAndHash(u.narSource.fsPath, u.compression, {
          ...o,
          maxSize: u.info.narSize,
          checkNar: u.narSource.check,
        })
      : compressAndHash(u.nar(), u.compression, o);
    try {
      await pipeline(chunks, createWriteStream(tmp, { mode: 0o644 }), { signal: u.signal });
      await syncFile(tmp);
      const s = stats();
      const rel = `nar/${nix32Encode(s.fileHash.digest)}${narExtension(u.compression)}`;
      await rename(tmp, join(this.dir, rel));
      const hash = parseStorePath(u.info.storePath).hash;
      const narInfo = buildNarInfo(u.info, {
        url: rel,
        compression: u.compression,
        fileHash: s.fileHash,
        fileSize: s.fileSize,
      });
      return {
        narInfo,
        commit: async (signal?: AbortSignal) => {
          signal?.throwIfAborted();
          await this.writeAtomically(`${hash}.narinfo`, formatNarInfo(narInfo));
        },
      };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** Writes `log/<drv basename>` (renamed into place), where `nix log` looks in a file:// cache. */
  async uploadBuildLog(drvBaseName: string, log: Buffer, signal?: AbortSignal): Promise<StoredBuildLog> {
    parseStorePathBase(drvBaseName);
    signal?.throwIfAborted();
    await mkdir(join(this.dir, "log"), { recursive: true });
    await this.writeAtomically(`log/${drvBaseName}`, log);
    return {};
  }

  private async writeAtomically(rel: string, text: string | Buffer): Promise<void> {
    const dest = join(this.dir, rel);
    const tmp = `${dest}.tmp-${randomBytes(8).toString("hex")}`;
    try {
      const fh = await open(tmp, "w", 0o644);
      try {
        await fh.writeFile(text);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async close(): Promise<void> {}
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
