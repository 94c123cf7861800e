import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  compressAndHash,
  compressPathAndHash,
  formatCacheInfo,
  narExtension,
  parseCacheInfo
} from "./chunk-GXIWLXRF.mjs";
import {
  NixcacheError,
  buildNarInfo,
  checkStoreHash,
  formatNarInfo,
  nix32Encode,
  parseNarInfo,
  parseStorePath,
  parseStorePathBase
} from "./chunk-HG6QJGPZ.mjs";

// src/caches/file-cache.ts
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { access, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
var DEFAULT_CACHE_INFO = { storeDir: "/nix/store", wantMassQuery: true, priority: 40 };
var FileCache = class {
  constructor(dir) {
    this.dir = dir;
    this.url = `file://${dir}`;
  }
  dir;
  url;
  async cacheInfo() {
    let text;
    try {
      text = await readFile(join(this.dir, "nix-cache-info"), "utf8");
    } catch (e) {
      throw new NixcacheError("notFound", `${this.url} is not a binary cache: ${e.message}`);
    }
    return parseCacheInfo(text);
  }
  async ensureCacheInfo() {
    try {
      return await this.cacheInfo();
    } catch {
      await mkdir(this.dir, { recursive: true });
      await this.writeAtomically("nix-cache-info", formatCacheInfo(DEFAULT_CACHE_INFO));
      return DEFAULT_CACHE_INFO;
    }
  }
  async missing(hashes) {
    const out = /* @__PURE__ */ new Set();
    await Promise.all(
      hashes.map(async (h) => {
        checkStoreHash(h);
        try {
          await access(join(this.dir, `${h}.narinfo`));
        } catch {
          out.add(h);
        }
      })
    );
    return out;
  }
  async getNarInfo(hash) {
    checkStoreHash(hash);
    let text;
    try {
      text = await readFile(join(this.dir, `${hash}.narinfo`), "utf8");
    } catch (e) {
      if (e.code === "ENOENT") return null;
      throw e;
    }
    return parseNarInfo(text);
  }
  /** Reads a file of the cache by its URL (as found in a narinfo). */
  async readFile(relUrl) {
    if (relUrl.split("/").includes(".."))
      throw new NixcacheError("invalid", `refusing URL ${JSON.stringify(relUrl)}`);
    return readFile(join(this.dir, relUrl));
  }
  async uploadNar(u) {
    u.signal?.throwIfAborted();
    const narDir = join(this.dir, "nar");
    await mkdir(narDir, { recursive: true });
    const tmp = join(narDir, `.tmp-${randomBytes(8).toString("hex")}`);
    const o = { level: u.level, onNarBytes: u.onProgress };
    const { chunks, stats } = u.narSource ? compressPathAndHash(u.narSource.fsPath, u.compression, {
      ...o,
      maxSize: u.info.narSize,
      checkNar: u.narSource.check
    }) : compressAndHash(u.nar(), u.compression, o);
    try {
      await pipeline(chunks, createWriteStream(tmp, { mode: 420 }), { signal: u.signal });
      await syncFile(tmp);
      const s = stats();
      const rel = `nar/${nix32Encode(s.fileHash.digest)}${narExtension(u.compression)}`;
      await rename(tmp, join(this.dir, rel));
      const hash = parseStorePath(u.info.storePath).hash;
      const narInfo = buildNarInfo(u.info, {
        url: rel,
        compression: u.compression,
        fileHash: s.fileHash,
        fileSize: s.fileSize
      });
      return {
        narInfo,
        commit: async (signal) => {
          signal?.throwIfAborted();
          await this.writeAtomically(`${hash}.narinfo`, formatNarInfo(narInfo));
        }
      };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
  /** Writes `log/<drv basename>` (renamed into place), where `nix log` looks in a file:// cache. */
  async uploadBuildLog(drvBaseName, log, signal) {
    parseStorePathBase(drvBaseName);
    signal?.throwIfAborted();
    await mkdir(join(this.dir, "log"), { recursive: true });
    await this.writeAtomically(`log/${drvBaseName}`, log);
    return {};
  }
  async writeAtomically(rel, text) {
    const dest = join(this.dir, rel);
    const tmp = `${dest}.tmp-${randomBytes(8).toString("hex")}`;
    try {
      const fh = await open(tmp, "w", 420);
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
  async close() {
  }
};
async function syncFile(path) {
  const fh = await open(path, "r");
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

export {
  DEFAULT_CACHE_INFO,
  FileCache
};
