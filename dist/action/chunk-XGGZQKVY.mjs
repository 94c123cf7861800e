import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  defaultNetrcFile,
  readNetrcCredentials
} from "./chunk-WDP5GUJW.mjs";
import {
  mapLimit
} from "./chunk-CI2MQBST.mjs";
import {
  DEFAULT_CACHE_INFO
} from "./chunk-GNTT2KTA.mjs";
import {
  DEFAULT_CACHIX_API,
  codeForStatus,
  createPool,
  request,
  require_undici
} from "./chunk-VCO3GMX2.mjs";
import {
  external_exports
} from "./chunk-HVBSCZIH.mjs";
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
import {
  __toESM
} from "./chunk-QE6XXIDJ.mjs";

// src/caches/http-cache.ts
import { Readable } from "node:stream";

// src/ui-api/headers.ts
var NIXCACHE_SERVER_HEADER = "x-nixcache-server";
var RUN_HEADER = "x-nixcache-run";
var LOG_PAGE_HEADER = "x-nixcache-log-page";

// src/caches/ci-run.ts
var PRINTABLE = /^[\x21-\x7e][\x20-\x7e]{0,199}$/;
function ciRun(env = process.env) {
  if (env.NIXCACHE_RUN) {
    if (!PRINTABLE.test(env.NIXCACHE_RUN)) return void 0;
    return { id: env.NIXCACHE_RUN, url: env.NIXCACHE_RUN_URL || null };
  }
  const run = githubActionsRun(env);
  if (!run) return void 0;
  const id = `${run.repo}#${run.run}${run.attempt ? `/${run.attempt}` : ""}`;
  if (!PRINTABLE.test(id)) return void 0;
  return { id, url: run.url };
}
function githubActionsRun(env = process.env) {
  const repo = env.GITHUB_REPOSITORY;
  const run = env.GITHUB_RUN_ID;
  if (env.GITHUB_ACTIONS !== "true" || !repo || !run || !/^\d+$/.test(run)) return void 0;
  const attempt = env.GITHUB_RUN_ATTEMPT && env.GITHUB_RUN_ATTEMPT !== "1" ? env.GITHUB_RUN_ATTEMPT : void 0;
  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  const url = `${server}/${repo}/actions/runs/${run}${attempt ? `/attempts/${attempt}` : ""}`;
  return { repo, run, ...attempt ? { attempt } : {}, url };
}

// src/caches/published-keys.ts
var import_undici = __toESM(require_undici(), 1);

// src/ui-api/cache-config.ts
var CACHE_CONFIG_PATH = "/api/cache-config";
var CacheConfigEntry = external_exports.object({
  name: external_exports.string(),
  /** The URL Nix substitutes from: the server's public URL and the cache's name. */
  substituter: external_exports.string(),
  /** The keys its narinfos are signed with, `name:base64` (trusted-public-keys). */
  publicKeys: external_exports.array(external_exports.string()),
  /** Reading needs a token (netrc). */
  private: external_exports.boolean()
});
var CacheConfig = external_exports.object({
  caches: external_exports.array(CacheConfigEntry),
  /** The audience to request GitHub's OIDC identity token for, when the server exchanges them. */
  oidcAudience: external_exports.string().nullable()
});

// src/caches/published-keys.ts
async function cacheConfigKeys(url, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 1e4;
  try {
    const u = new URL(url.replace(/\/+$/, ""));
    if (u.protocol !== "http:" && u.protocol !== "https:") return void 0;
    const parts = u.pathname.split("/");
    const name = parts.pop();
    if (!name) return void 0;
    const api = new URL(`${parts.join("/")}${CACHE_CONFIG_PATH}`, u.origin);
    api.searchParams.set("cache", decodeURIComponent(name));
    const res = await (0, import_undici.request)(api, {
      headers: {
        accept: "application/json",
        ...opts.token ? { authorization: `Bearer ${opts.token}` } : {}
      },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs)
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return void 0;
    }
    const parsed = CacheConfig.safeParse(await res.body.json());
    if (!parsed.success) return void 0;
    return parsed.data.caches.find((c) => c.name === decodeURIComponent(name))?.publicKeys;
  } catch {
    return void 0;
  }
}
async function publishedSigningKeys(url, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 1e4;
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") return [];
    const cachix = /^([a-z0-9-]+)\.cachix\.org$/.exec(u.hostname);
    if (!cachix) {
      const keys = await cacheConfigKeys(url, opts);
      if (keys !== void 0) return keys;
    }
    const name = cachix ? cachix[1] : u.pathname.split("/").filter(Boolean).pop();
    if (!name) return [];
    const api = cachix ? DEFAULT_CACHIX_API : `${u.origin}/api/v1`;
    const res = await (0, import_undici.request)(`${api}/cache/${encodeURIComponent(name)}`, {
      headers: { authorization: `Bearer ${opts.token ?? ""}`, accept: "application/json" },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs)
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return [];
    }
    const body = await res.body.json();
    return Array.isArray(body.publicSigningKeys) ? body.publicSigningKeys.filter((k) => typeof k === "string") : [];
  } catch {
    return [];
  }
}

// src/caches/http-cache.ts
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
  run;
  /** Whether the server said it is nixcache's (learnt from nix-cache-info). */
  nixcache;
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
    this.run = opts.run === void 0 ? ciRun()?.id ?? null : opts.run;
  }
  /** What a nixcache server's cache-config (else a Cachix-compatible API) lists (see published-keys.ts). */
  advertisedKeys(token) {
    return publishedSigningKeys(this.url, token === void 0 ? {} : { token });
  }
  async cacheInfo() {
    const r = await this.send("GET", "nix-cache-info", { okStatuses: [200] });
    this.nixcache = r.headers[NIXCACHE_SERVER_HEADER] !== void 0;
    return parseCacheInfo(r.text);
  }
  async ensureCacheInfo() {
    const r = await this.send("GET", "nix-cache-info", { okStatuses: [200, 404] });
    this.nixcache = r.headers[NIXCACHE_SERVER_HEADER] !== void 0;
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
  /**
   * PUTs a build log to `log/<drv basename>` with the cache's credentials, as `nix store copy-log
   * --to` does; uncompressed, so any reader (and the dashboard's tail, which reads the end of
   * the stored log) takes it as it is. Retried briefly: a log is not worth a NAR's long retries.
   */
  async uploadBuildLog(drvBaseName, log, signal) {
    parseStorePathBase(drvBaseName);
    const r = await this.send("PUT", `log/${drvBaseName}`, {
      contentType: "text/plain; charset=utf-8",
      body: () => log,
      signal,
      retry: { ...this.retry, attempts: Math.min(this.retry.attempts ?? 3, 3), maxRetryAfterMs: 1e4 }
    });
    if (!await this.isNixcacheServer()) return {};
    const said = r.headers[LOG_PAGE_HEADER];
    return {
      dashboardUrl: typeof said === "string" && /^https?:\/\/[^\s]+$/.test(said) ? said : `${this.serverBase()}/ui/#/cache/${encodeURIComponent(this.cacheName())}/log/${encodeURIComponent(drvBaseName)}`
    };
  }
  /** The server's root (`http://host/prefix/main` → `http://host/prefix`). */
  serverBase() {
    return this.url.slice(0, this.url.length - (this.base.length - this.base.lastIndexOf("/")));
  }
  /** The cache's name on its server: the URL's last path segment. */
  cacheName() {
    return decodeURIComponent(this.base.slice(this.base.lastIndexOf("/") + 1));
  }
  async close() {
    await this.pool.close();
  }
  /** Whether this cache is served by nixcache's server (asks once, when no probe told yet). */
  async isNixcacheServer() {
    if (this.nixcache === void 0) await this.cacheInfo().catch(() => {
    });
    return this.nixcache === true;
  }
  /**
   * Uploads a CI report to a nixcache server's `POST /api/v1/cache/<name>/reports` (beside the
   * cache: `http://host/prefix/main` → `http://host/prefix/api/v1/cache/main/reports`), with the
   * cache's credentials. Returns the report's id and its page on the dashboard.
   */
  async uploadReport(report) {
    const cut = this.base.lastIndexOf("/");
    const name = this.base.slice(cut + 1);
    const path = `${this.base.slice(0, cut)}/api/v1/cache/${encodeURIComponent(name)}/reports`;
    const headers = {
      "content-type": "application/json",
      accept: "application/json"
    };
    if (this.auth) headers.authorization = this.auth;
    const body = Buffer.from(JSON.stringify(report));
    const what = `POST ${this.url.slice(0, this.url.length - this.base.length)}${path}`;
    const r = await request(
      this.pool,
      {
        method: "POST",
        path,
        what,
        headers,
        body: () => body,
        failed: (msg) => new HttpCacheError(msg),
        refused: (status, b, w) => {
          let said = b.toString("utf8").trim().slice(0, 500);
          try {
            said = String(JSON.parse(said).error ?? said);
          } catch {
          }
          return new HttpCacheError(`${w}: HTTP ${status}${said ? `: ${said}` : ""}`, status);
        }
      },
      // A report is worth a short retry, not the long one a NAR gets: the command is done.
      { ...this.retry, attempts: Math.min(this.retry.attempts ?? 3, 3), maxRetryAfterMs: 1e4 }
    );
    const answer = JSON.parse(r.body.toString("utf8"));
    return { id: answer.id, url: answer.url };
  }
  /** One request with retries; resolves for `okStatuses` (default 2xx), throws otherwise. */
  async send(method, rel, o = {}) {
    const headers = {};
    if (this.auth) headers.authorization = this.auth;
    if (o.contentType) headers["content-type"] = o.contentType;
    if (method === "PUT" && this.run !== null && this.nixcache === true) headers[RUN_HEADER] = this.run;
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
      o.retry ?? this.retry
    );
    return {
      status: r.status,
      text: o.binary ? "" : r.body.toString("utf8"),
      body: r.body,
      headers: r.headers
    };
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
  ciRun,
  githubActionsRun,
  HttpCacheError,
  HttpCache
};
