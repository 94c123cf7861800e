import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_STORE_DIR,
  NixcacheError,
  encodeNarBorrowed
} from "./chunk-HG6QJGPZ.mjs";

// src/codec/portable.ts
import { PassThrough } from "node:stream";
import zlib from "node:zlib";
var z = zlib;
function reason(c) {
  if (c === "zstd" && (typeof z.createZstdCompress !== "function" || typeof z.createZstdDecompress !== "function"))
    return `Node ${process.version} has no zstd in node:zlib (it needs Node 22.15 or later)`;
  if (c === "xz")
    return "xz needs a native addon, which the portable build (the GitHub Action) does not carry";
  return void 0;
}
function unsupported(c) {
  throw new NixcacheError("usage", `cannot use ${c} compression here: ${reason(c)}`);
}
var backend = {
  name: "portable (node:zlib)",
  supports: (c) => reason(c) === void 0,
  unsupportedReason: reason,
  compressor(c, level) {
    if (c === "none") return new PassThrough();
    if (reason(c) !== void 0 || !z.createZstdCompress) unsupported(c);
    const key = z.constants.ZSTD_c_compressionLevel ?? 100;
    return z.createZstdCompress({ params: { [key]: level ?? 2 } });
  },
  decompressor(c) {
    if (c === "none") return new PassThrough();
    if (reason(c) !== void 0 || !z.createZstdDecompress) unsupported(c);
    return z.createZstdDecompress();
  }
};

// src/codec/limits.ts
var XZ_MEMLIMIT = 128 << 20;

// src/codec/compression.ts
var COMPRESSIONS = ["zstd", "xz", "none"];
function narExtension(c) {
  return c === "zstd" ? ".nar.zst" : c === "xz" ? ".nar.xz" : ".nar";
}
function codecBackendName() {
  return backend.name;
}
function compressionUnsupported(c) {
  return backend.unsupportedReason(c);
}
function defaultCompression() {
  const why = backend.unsupportedReason("zstd");
  return why === void 0 ? { compression: "zstd" } : { compression: "none", fallback: why };
}
function compressor(c, level) {
  return backend.compressor(c, level);
}

// src/codec/compress-and-hash.ts
import { createHash } from "node:crypto";
import { pipeline, Readable } from "node:stream";
function compressAndHash(source, compression, opts = {}) {
  if (compression === "zstd" && backend.zstdPool) return backend.zstdPool().compress(source, opts);
  const hash = createHash("sha256");
  const narHash = opts.checkNar ? createHash("sha256") : void 0;
  let fileSize = 0;
  let narBytes = 0;
  let digest;
  let sourceError;
  async function* counted() {
    const it = source[Symbol.asyncIterator]();
    try {
      for (; ; ) {
        let r;
        try {
          r = await it.next();
        } catch (e) {
          sourceError = e;
          throw e;
        }
        if (r.done) {
          if (narHash && opts.checkNar) {
            try {
              opts.checkNar(narBytes, { algo: "sha256", digest: narHash.digest() });
            } catch (e) {
              sourceError = e;
              throw e;
            }
          }
          return;
        }
        narHash?.update(r.value);
        narBytes += r.value.length;
        opts.onNarBytes?.(r.value.length);
        yield opts.borrowed ? Buffer.from(r.value) : r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  async function* run() {
    const z2 = compressor(compression, opts.level);
    pipeline(Readable.from(counted(), { objectMode: false, highWaterMark: 1 << 20 }), z2, () => {
    });
    for await (const out of z2) {
      hash.update(out);
      fileSize += out.length;
      yield out;
    }
    digest = hash.digest();
  }
  return {
    chunks: run(),
    stats: () => {
      if (!digest) throw new Error("compressed NAR read before its end");
      return { fileHash: { algo: "sha256", digest }, fileSize, narBytes };
    },
    sourceError: () => sourceError
  };
}
function compressPathAndHash(fsPath, compression, opts) {
  if (compression === "zstd" && backend.zstdPool) return backend.zstdPool().compressPath(fsPath, opts);
  return compressAndHash(upTo(encodeNarBorrowed(fsPath), opts.maxSize), compression, {
    ...opts,
    borrowed: true
  });
}
async function* upTo(source, max = Number.MAX_SAFE_INTEGER) {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    yield chunk;
    if (n > max) return;
  }
}

// src/nix/cache-info.ts
function parseCacheInfo(text) {
  const info = { storeDir: DEFAULT_STORE_DIR, wantMassQuery: false };
  let sawStoreDir = false;
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0)
      throw new Error(`nix-cache-info line ${i + 1}: expected "Key: Value", got ${JSON.stringify(line)}`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === "StoreDir") {
      info.storeDir = value;
      sawStoreDir = true;
    } else if (key === "WantMassQuery") info.wantMassQuery = value === "1";
    else if (key === "Priority") {
      if (!/^-?[0-9]+$/.test(value))
        throw new Error(`nix-cache-info line ${i + 1}: Priority ${JSON.stringify(value)} is not an integer`);
      info.priority = Number(value);
    }
  }
  if (!sawStoreDir) throw new Error("nix-cache-info has no StoreDir");
  return info;
}
function formatCacheInfo(info) {
  let s = `StoreDir: ${info.storeDir}
WantMassQuery: ${info.wantMassQuery ? 1 : 0}
`;
  if (info.priority !== void 0) s += `Priority: ${info.priority}
`;
  return s;
}

export {
  COMPRESSIONS,
  narExtension,
  codecBackendName,
  compressionUnsupported,
  defaultCompression,
  compressAndHash,
  compressPathAndHash,
  parseCacheInfo,
  formatCacheInfo
};
