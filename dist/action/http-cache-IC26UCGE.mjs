import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  defaultNetrcFile,
  readNetrcCredentials
} from "./chunk-6LJQC4UZ.mjs";
import {
  codeForStatus,
  createPool,
  request
} from "./chunk-URC3GVE2.mjs";
import {
  mapLimit
} from "./chunk-UPCQ43US.mjs";
import {
  DEFAULT_CACHE_INFO
} from "./chunk-AIA2B53Y.mjs";
import {
  compressAndHash,
  compressPathAndHash,
  formatCacheInfo,
  narExtension,
  parseCacheInfo
} from "./chunk-WPJ6VEY4.mjs";
import {
  NixcacheError,
  buildNarInfo,
  checkStoreHash,
  formatNarInfo,
  nix32Encode,
  parseNarInfo,
  parseStorePath
} from "./chunk-LFQFR25N.mjs";

// src/caches/http-cache.ts
import { Readable } from "node:stream";
var HttpCacheError = class extends NixcacheError {
  constructor(message, status) {
    super(status === void 0 ? "unavailable" : codeForStatus(status), message);
    this.status = status;
  }
  status;
};
var HttpCache = class {
  url;
  pool;
  base;
  auth;
  retry;
  constructor(url, opts = {}) {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new NixcacheError("usage", `not an HTTP cache URL: ${url}`);
    const userinfo = u.username || u.password ? { login: u.username, password: u.password } : void 0;
    u.username = "";
    u.password = "";
    u.search = "";
    u.hash = "";
    this.base = u.pathname.replace(/\/+$/, "");
    this.url = `${u.origin}${this.base}`;
    if (opts.token) this.auth = `Bearer ${opts.token}`;
    else {
      const cred = userinfo ?? readNetrcCredentials(opts.netrcFile ?? defaultNetrcFile(), u.hostname);
      if (cred)
        this.auth = `Basic ${Buffer.from(`${decodeURIComponent(cred.login)}:${decodeURIComponent(cred.password)}`).toString("base64")}`;
    }
    this.pool = createPool(u.origin, { connections: opts.connections });
    this.retry = opts.retry ?? {};
  }
  async cacheInfo() {
    const r = await this.send("GET", "nix-cache-info", { okStatuses: [200] });
    return parseCacheInfo(r.text);
  }
  async ensureCacheInfo() {
    const r = await this.send("GET", "nix-cache-info", { okStatuses: [200, 404] });
    if (r.status === 200) return parseCacheInfo(r.text);
    await this.send("PUT", "nix-cache-info", {
      body: () => Buffer.from(formatCacheInfo(DEFAULT_CACHE_INFO)),
      contentType: "text/x-nix-cache-info"
    });
    return DEFAULT_CACHE_INFO;
  }
  async missing(hashes) {
    for (const h of hashes) checkStoreHash(h);
    const out = /* @__PURE__ */ new Set();
    await mapLimit(hashes, 32, async (h) => {
      const r = await this.send("HEAD", `${h}.narinfo`, { okStatuses: [200, 404] });
      if (r.status === 404) out.add(h);
    });
    return out;
  }
  async getNarInfo(hash) {
    checkStoreHash(hash);
    const r = await this.send("GET", `${hash}.narinfo`, { okStatuses: [200, 404] });
    if (r.status === 404) return null;
    return parseNarInfo(r.text);
  }
  /** GETs a file of the cache by its URL relative to the cache root (as in a narinfo). */
  async readFile(relUrl) {
    const r = await this.send("GET", relUrl, { okStatuses: [200], binary: true });
    return r.body;
  }
  async uploadNar(u) {
    const narUrl = `nar/${nix32Encode(u.info.narHash.digest)}${narExtension(u.compression)}`;
    let stats;
    let sent = 0;
    let sourceError;
    const compress = () => {
      if (sent) u.onProgress?.(-sent);
      sent = 0;
      const onNarBytes = (n) => {
        sent += n;
        u.onProgress?.(n);
      };
      const o = { level: u.level, onNarBytes };
      return u.narSource ? compressPathAndHash(u.narSource.fsPath, u.compression, {
        ...o,
        maxSize: u.info.narSize,
        checkNar: u.narSource.check
      }) : compressAndHash(u.nar(), u.compression, o);
    };
    const first = compress();
    const it = first.chunks[Symbol.asyncIterator]();
    const head = [];
    let whole;
    try {
      let headBytes = 0;
      while (headBytes < WHOLE_LIMIT) {
        u.signal?.throwIfAborted();
        const r = await it.next();
        if (r.done) {
          whole = head.length === 1 ? head[0] : Buffer.concat(head);
          stats = first.stats();
          break;
        }
        head.push(r.value);
        headBytes += r.value.length;
      }
      let attempts = 0;
      await this.send("PUT", narUrl, {
        contentType: "application/x-nix-nar",
        signal: u.signal,
        body: () => {
          if (whole) return whole;
          const c = attempts++ === 0 ? { chunks: resume(head, it), stats: first.stats, sourceError: first.sourceError } : compress();
          async function* watched() {
            try {
              yield* c.chunks;
            } finally {
              sourceError = c.sourceError();
            }
            stats = c.stats();
          }
          return Readable.from(watched(), { objectMode: false });
        },
        // A NAR that turned out wrong must not be retried (it would be wrong again).
        fatal: () => sourceError
      });
    } finally {
      await it.return?.();
    }
    if (!stats) throw new NixcacheError("internal", `upload of ${narUrl} ended without the whole NAR`);
    const narInfo = buildNarInfo(u.info, {
      url: narUrl,
      compression: u.compression,
      fileHash: stats.fileHash,
      fileSize: stats.fileSize
    });
    const hash = parseStorePath(u.info.storePath).hash;
    const text = formatNarInfo(narInfo);
    return {
      narInfo,
      commit: async (signal) => {
        await this.send("PUT", `${hash}.narinfo`, {
          contentType: "text/x-nix-narinfo",
          body: () => Buffer.from(text),
          signal
        });
      }
    };
  }
  async close() {
    await this.pool.close();
  }
  /** One request with retries; resolves for `okStatuses` (default 2xx), throws otherwise. */
  async send(method, rel, o = {}) {
    const headers = {};
    if (this.auth) headers.authorization = this.auth;
    if (o.contentType) headers["content-type"] = o.contentType;
    const r = await request(
      this.pool,
      {
        method,
        path: `${this.base}/${rel}`,
        what: `${method} ${this.url}/${rel}`,
        headers,
        body: o.body,
        ok: o.okStatuses,
        signal: o.signal,
        fatal: o.fatal,
        failed: (msg) => new HttpCacheError(msg),
        refused: (status, body, what) => {
          const said = body.toString("utf8").trim().slice(0, 500);
          const msg = `${what}: HTTP ${status}${said ? `: ${said}` : ""}`;
          return new HttpCacheError(
            status === 401 || status === 403 ? `${msg} (check the token or netrc credentials)` : msg,
            status
          );
        }
      },
      this.retry
    );
    return { status: r.status, text: o.binary ? "" : r.body.toString("utf8"), body: r.body };
  }
};
var WHOLE_LIMIT = 1024 * 1024;
async function* resume(head, it) {
  yield* head;
  for (; ; ) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}
export {
  HttpCache,
  HttpCacheError
};
