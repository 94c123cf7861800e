import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  DEFAULT_CACHIX_API,
  Pools,
  codeForStatus,
  request
} from "./chunk-VCO3GMX2.mjs";
import {
  external_exports
} from "./chunk-HVBSCZIH.mjs";
import {
  compressAndHash,
  compressPathAndHash,
  narExtension,
  parseCacheInfo
} from "./chunk-GXIWLXRF.mjs";
import {
  KeyFormatError,
  NIX32_ALPHABET,
  NixcacheError,
  buildNarInfo,
  checkStoreHash,
  formatHashNix32,
  narInfoFingerprint,
  nix32Encode,
  parseNarInfo,
  parseSecretKey,
  parseStorePath,
  secretKeyFromSeed,
  signRaw
} from "./chunk-HG6QJGPZ.mjs";

// src/cachix-api/schemas.ts
var NARINFO_BULK_MAX = 32768;
var PERMISSION_NAMES = ["Read", "Write", "Admin"];
var Permission = external_exports.enum(PERMISSION_NAMES);
var CompressionMethod = external_exports.enum(["XZ", "ZSTD"]);
var BinaryCache = external_exports.object({
  name: external_exports.string(),
  uri: external_exports.string(),
  isPublic: external_exports.boolean(),
  publicSigningKeys: external_exports.array(external_exports.string()),
  githubUsername: external_exports.string().nullable(),
  permission: Permission,
  preferredCompressionMethod: CompressionMethod
});
var N32 = `[${NIX32_ALPHABET}]`;
var StoreHash = external_exports.string().regex(new RegExp(`^${N32}{32}$`), "expected a 32-character store path hash");
var BaseName = external_exports.string().regex(new RegExp(`^${N32}{32}-[0-9A-Za-z+\\-._?=]{1,211}$`), "expected a store path base name");
var NarInfoCreate = external_exports.object({
  cStoreHash: StoreHash,
  cStoreSuffix: external_exports.string().regex(/^[0-9A-Za-z+\-._?=]{1,211}$/, "expected a store path name (no leading dash)"),
  cNarHash: external_exports.string().regex(new RegExp(`^sha256:${N32}{52}$`), "expected sha256:<52 nix32 characters>"),
  cNarSize: external_exports.number().int().positive(),
  cFileHash: external_exports.string().regex(/^[0-9a-f]{64}$/, "expected the lowercase hex SHA-256 of the compressed file"),
  cFileSize: external_exports.number().int().nonnegative(),
  cReferences: external_exports.array(BaseName),
  cDeriver: external_exports.union([external_exports.literal("unknown-deriver"), BaseName]),
  cSig: external_exports.string().nullable()
});
var CreateMultipartUploadResponse = external_exports.object({ narId: external_exports.uuid(), uploadId: external_exports.string().min(1) });
var SigningData = external_exports.object({
  contentMD5: external_exports.string().regex(/^[A-Za-z0-9+/]{22}==$/, "expected the base64 MD5 of the part")
});
var UploadPartResponse = external_exports.object({ uploadUrl: external_exports.string() });
var CompletedPart = external_exports.object({ partNumber: external_exports.number().int().min(1).max(1e4), eTag: external_exports.string() });
var CompletedMultipartUpload = external_exports.object({
  parts: external_exports.array(CompletedPart).min(1).nullable(),
  narInfoCreate: NarInfoCreate
});
var SigningKeyCreate = external_exports.object({
  publicKey: external_exports.string(),
  /** nixcache extension: the key name to publish (Cachix names keys itself and ignores this). */
  keyName: external_exports.string().optional()
});
var User = external_exports.object({
  id: external_exports.number().int(),
  githubUsername: external_exports.string().nullable(),
  email: external_exports.string().nullable(),
  fullname: external_exports.string().nullable(),
  slug: external_exports.string().nullable()
});
var CacheCreate = external_exports.object({
  isPublic: external_exports.boolean(),
  generateSigningKey: external_exports.boolean(),
  accountID: external_exports.number().int().nullable().optional()
});
var CacheSettings = external_exports.object({
  isPublic: external_exports.boolean(),
  preferredCompressionMethod: CompressionMethod
});
var CacheSettingsUpdate = CacheSettings.partial();
var TokenCreate = external_exports.object({
  cacheName: external_exports.string(),
  permission: Permission,
  description: external_exports.string().max(200).nullable().optional(),
  /** ISO 8601, or null for a token that never expires. */
  expiresAt: external_exports.iso.datetime({ offset: true }).nullable().optional()
});
var TokenCreated = external_exports.object({ token: external_exports.string(), id: external_exports.string() });
var TokenInfo = external_exports.object({
  id: external_exports.string(),
  kind: external_exports.enum(["personal", "cache"]),
  cacheName: external_exports.string().nullable(),
  permission: Permission.nullable(),
  description: external_exports.string().nullable(),
  createdAt: external_exports.string(),
  expiresAt: external_exports.string().nullable(),
  revokedAt: external_exports.string().nullable()
});
var TokenList = external_exports.array(TokenInfo);
var ErrorBody = external_exports.object({ error: external_exports.string() });
var HashList = external_exports.array(external_exports.string());

// src/keys/key-files.ts
function parseCachixSigningKey(text) {
  const raw = Buffer.from(text.trim(), "base64");
  if (!text.trim()) throw new KeyFormatError("CACHIX_SIGNING_KEY is empty");
  if (raw.length !== 64)
    throw new KeyFormatError(
      `CACHIX_SIGNING_KEY holds ${raw.length} bytes, expected the base64 of 64 (seed and public key)`
    );
  const key = secretKeyFromSeed("cachix", raw.subarray(0, 32));
  if (!key.publicKey.equals(raw.subarray(32)))
    throw new KeyFormatError("CACHIX_SIGNING_KEY is inconsistent: its public half does not match its seed");
  return key;
}
function parseSigningKey(text, formats = ["nix", "cachix"]) {
  const t = text.trim();
  const only = formats.length === 1 ? formats[0] : void 0;
  const format = only ?? (t.includes(":") ? "nix" : "cachix");
  return { key: format === "nix" ? parseSecretKey(t) : parseCachixSigningKey(t), format };
}

// src/caches/credentials.ts
function cachixToken(flag, env = process.env) {
  return flag || env.CACHIX_AUTH_TOKEN || env.NIXCACHE_TOKEN || void 0;
}
function cacheToken(url, flag, env = process.env) {
  if (/^cachix:/i.test(url)) return cachixToken(flag, env);
  return flag || env.NIXCACHE_TOKEN || void 0;
}
function cachixApiUrl(flag, env = process.env) {
  return flag ?? env.NIXCACHE_CACHIX_API ?? DEFAULT_CACHIX_API;
}

// src/caches/cachix/client.ts
var CachixApiError = class extends NixcacheError {
  constructor(message, status, serverMessage) {
    super(codeForStatus(status), message);
    this.status = status;
    this.serverMessage = serverMessage;
  }
  status;
  serverMessage;
};
var CachixApi = class {
  apiUrl;
  origin;
  basePath;
  auth;
  pools;
  retry;
  hasToken;
  constructor(opts = {}) {
    const raw = opts.apiUrl ?? DEFAULT_CACHIX_API;
    let u;
    try {
      u = new URL(raw);
    } catch {
      throw new NixcacheError(
        "usage",
        `--cachix-api ${JSON.stringify(raw)} is not a URL (e.g. ${DEFAULT_CACHIX_API})`
      );
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new NixcacheError("usage", `--cachix-api ${JSON.stringify(raw)} must be an http(s) URL`);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, "");
    this.apiUrl = `${this.origin}${this.basePath}`;
    this.auth = `Bearer ${opts.token ?? ""}`;
    this.hasToken = !!opts.token;
    this.pools = new Pools({ connections: opts.connections });
    this.retry = opts.retry ?? {};
  }
  /** Whether this is Cachix's own service (for remedies that name its web pages). */
  get isPublicCachix() {
    return /(^|\.)cachix\.org$/.test(new URL(this.origin).hostname);
  }
  async close() {
    await this.pools.close();
  }
  getCache(name) {
    return this.json("GET", `/cache/${enc(name)}`, BinaryCache);
  }
  async cacheInfoText(name) {
    return (await this.call("GET", `/cache/${enc(name)}/nix-cache-info`)).text;
  }
  /** The narinfo text, or null when the cache does not have it. */
  async narInfoText(name, hash) {
    const r = await this.call("GET", `/cache/${enc(name)}/${hash}.narinfo`, { ok: [200, 404] });
    return r.status === 404 ? null : r.text;
  }
  /** Of these hashes, the ones missing (one call; the caller splits at NARINFO_BULK_MAX). */
  missingHashes(name, hashes) {
    return this.json("POST", `/cache/${enc(name)}/narinfo`, HashList, { body: hashes });
  }
  createMultipart(name, compression) {
    return this.json(
      "POST",
      `/cache/${enc(name)}/multipart-nar?compression=${compression}`,
      CreateMultipartUploadResponse
    );
  }
  partUrl(name, narId, uploadId, partNumber, contentMD5) {
    return this.json(
      "POST",
      `/cache/${enc(name)}/multipart-nar/${enc(narId)}?uploadId=${enc(uploadId)}&partNumber=${partNumber}`,
      UploadPartResponse,
      { body: { contentMD5 } }
    );
  }
  /** PUTs one part to a presigned URL (no Authorization); returns the ETag the server gave. */
  async putPart(url, body, contentMD5, signal) {
    const r = await this.call("PUT", url, {
      raw: body,
      headers: { "content-md5": contentMD5, "content-type": "application/octet-stream" },
      absolute: true,
      signal
    });
    const etag = r.headers.etag;
    if (typeof etag !== "string" || !etag)
      throw new CachixApiError(`PUT part: the server sent no ETag`, r.status);
    return etag;
  }
  async complete(name, narId, uploadId, body) {
    await this.call(
      "POST",
      `/cache/${enc(name)}/multipart-nar/${enc(narId)}/complete?uploadId=${enc(uploadId)}`,
      {
        body
      }
    );
  }
  async abort(name, narId, uploadId) {
    await this.call(
      "POST",
      `/cache/${enc(name)}/multipart-nar/${enc(narId)}/abort?uploadId=${enc(uploadId)}`
    );
  }
  getUser() {
    return this.json("GET", "/user", User);
  }
  async createCache(name, body) {
    await this.call("POST", `/cache/${enc(name)}`, { body });
  }
  getSettings(name) {
    return this.json("GET", `/cache/${enc(name)}/settings`, CacheSettings);
  }
  async putSettings(name, body) {
    await this.call("PUT", `/cache/${enc(name)}/settings`, { body });
  }
  async addKey(name, body) {
    await this.call("POST", `/cache/${enc(name)}/key`, { body });
  }
  createToken(body) {
    return this.json("POST", "/token", TokenCreated, { body });
  }
  listTokens() {
    return this.json("GET", "/token", TokenList);
  }
  async json(method, path, schema, o = {}) {
    const r = await this.call(method, path, o);
    let value;
    try {
      value = JSON.parse(r.text);
    } catch {
      throw new CachixApiError(`${method} ${this.apiUrl}${path}: the answer is not JSON`, r.status);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new CachixApiError(
        `${method} ${this.apiUrl}${path}: unexpected answer: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
        r.status
      );
    return parsed.data;
  }
  /** One call with retries on 408/429/5xx and dropped connections (full-jitter backoff, Retry-After). */
  async call(method, path, o = {}) {
    const target = o.absolute ? new URL(path) : new URL(`${this.origin}${this.basePath}${path}`);
    const shown = o.absolute ? `${target.origin}${target.pathname}` : `${this.apiUrl}${path.replace(/\?.*$/, "")}`;
    const what = `${method} ${shown}`;
    const headers = { accept: "application/json", ...o.headers };
    if (!o.absolute) headers.authorization = this.auth;
    let body;
    if (o.raw) body = o.raw;
    else if (o.body !== void 0) {
      body = JSON.stringify(o.body);
      headers["content-type"] = "application/json";
    }
    const serverMessage = (b) => errorMessageOf(b.toString("utf8"));
    const r = await request(
      this.pools.get(target.origin),
      {
        method,
        path: `${target.pathname}${target.search}`,
        what,
        headers,
        body: () => body,
        ok: o.ok,
        signal: o.signal,
        serverMessage,
        refused: (status, b, what2) => {
          const said = serverMessage(b);
          return new CachixApiError(`${what2}: HTTP ${status}${said ? `: ${said}` : ""}`, status, said);
        }
      },
      this.retry
    );
    return { status: r.status, text: method === "HEAD" ? "" : r.body.toString("utf8"), headers: r.headers };
  }
};
function enc(s) {
  return encodeURIComponent(s);
}
function errorMessageOf(text) {
  const t = text.trim();
  if (!t) return void 0;
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(t));
    if (parsed.success) return parsed.data.error;
  } catch {
  }
  return t.slice(0, 300);
}
function cacheAccessMessage(name, err, hasToken) {
  if (err.status === 404) return `Binary cache ${name} does not exist.`;
  if (err.status === 401 && hasToken)
    return `Binary cache ${name} doesn't exist or you don't have access.${err.serverMessage ? ` Error: ${err.serverMessage}` : ""}`;
  if (err.status === 401)
    return `Binary cache ${name} doesn't exist or it's private and you need a token: set CACHIX_AUTH_TOKEN`;
  return err.message;
}

// src/caches/cachix/part-budget.ts
import { createHash } from "node:crypto";
var PartBudget = class {
  constructor(limit, partSize) {
    this.limit = limit;
    this.partSize = partSize;
  }
  limit;
  partSize;
  used = 0;
  waiters = [];
  /** Full-size buffers of finished parts, reused (fresh 32 MiB allocations cost page faults). */
  free = [];
  /** Bytes reserved now (for tests and diagnostics). */
  get reserved() {
    return this.used;
  }
  /**
   * A buffer of `size` bytes, once the budget has room for it. Waiters are served in order, so a
   * full-size part is not starved by a stream of small ones; when nothing is reserved any size is
   * granted, so a part larger than the budget still goes.
   */
  take(want, signal) {
    signal?.throwIfAborted();
    const size = want > this.partSize / 32 ? this.partSize : want;
    if (this.waiters.length === 0 && this.fits(size)) return Promise.resolve(this.grant(size));
    return new Promise((resolve, reject) => {
      const w = {
        size,
        grant: (p) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(p);
        }
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        this.pump();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(w);
    });
  }
  /** Enlarges `p` to `size` bytes at once, over the budget if need be (a NAR longer than announced). */
  grow(p, size) {
    if (size <= p.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(size);
    p.buf.copy(bigger, 0, 0, p.len);
    this.used += size - p.buf.length;
    p.buf = bigger;
  }
  /**
   * Returns `p`'s reservation. `reusable` says nothing else still reads the buffer (a request that
   * failed may still be writing it to a socket).
   */
  give(p, reusable) {
    this.used -= p.buf.length;
    if (reusable && p.buf.length === this.partSize && this.free.length * this.partSize < this.limit)
      this.free.push(p.buf);
    p.buf = Buffer.alloc(0);
    p.len = 0;
    this.pump();
  }
  fits(size) {
    return this.used === 0 || this.used + size <= this.limit;
  }
  grant(size) {
    this.used += size;
    const buf = size === this.partSize ? this.free.pop() ?? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
    return { buf, len: 0, md5: createHash("md5") };
  }
  pump() {
    while (this.waiters.length > 0 && this.fits(this.waiters[0].size)) {
      const w = this.waiters.shift();
      w.grant(this.grant(w.size));
    }
  }
};

// src/caches/cachix/cache.ts
var PART_SIZE = 32 * 1024 * 1024;
var PARTS_IN_FLIGHT = 4;
var PART_MEMORY = 64 * 1024 * 1024;
var CachixCache = class {
  constructor(name, opts = {}) {
    this.name = name;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
      throw new NixcacheError("usage", `cachix://${name}: ${JSON.stringify(name)} is not a cache name`);
    this.api = new CachixApi(opts);
    this.url = `cachix://${name}`;
    if (opts.signingKey) this.key = parseSigningKey(opts.signingKey, ["cachix"]).key;
    this.partSize = opts.partSize ?? PART_SIZE;
    this.buffers = new PartBudget(opts.partMemory ?? PART_MEMORY, this.partSize);
  }
  name;
  url;
  api;
  key;
  partSize;
  /** Shared by every upload in flight, so memory does not grow with the number of jobs. */
  buffers;
  info;
  /** The cache as the API describes it (permission, keys, compression); asked once. */
  async describe() {
    if (!this.info) {
      try {
        this.info = await this.api.getCache(this.name);
      } catch (e) {
        if (e instanceof CachixApiError) throw new Error(cacheAccessMessage(this.name, e, this.api.hasToken));
        throw e;
      }
    }
    return this.info;
  }
  /** The API's `publicSigningKeys`; none when it cannot say (the push itself reports what is wrong). */
  async advertisedKeys() {
    return this.describe().then(
      (d) => d.publicSigningKeys,
      () => []
    );
  }
  async cacheInfo() {
    await this.describe();
    return parseCacheInfo(await this.api.cacheInfoText(this.name));
  }
  /** A Cachix cache always has its nix-cache-info; pushing needs Write, checked here up front. */
  async ensureCacheInfo() {
    const info = await this.cacheInfo();
    const d = await this.describe();
    if (d.permission === "Read")
      throw new NixcacheError(
        "forbidden",
        `the token has only Read permission on cache ${this.name}: pushing needs a Write token (run \`nixcache token inspect --cache ${this.name}\` for the remedy)`
      );
    return info;
  }
  async missing(hashes) {
    for (const h of hashes) checkStoreHash(h);
    const out = /* @__PURE__ */ new Set();
    for (let i = 0; i < hashes.length; i += NARINFO_BULK_MAX) {
      const chunk = hashes.slice(i, i + NARINFO_BULK_MAX);
      for (const h of await this.lookup(() => this.api.missingHashes(this.name, chunk))) out.add(h);
    }
    return out;
  }
  async getNarInfo(hash) {
    checkStoreHash(hash);
    const text = await this.lookup(() => this.api.narInfoText(this.name, hash));
    return text === null ? null : parseNarInfo(text);
  }
  async uploadNar(u) {
    if (u.compression === "none")
      throw new NixcacheError("usage", "Cachix caches take zstd or xz NARs: use --compression zstd or xz");
    const sp = parseStorePath(u.info.storePath);
    const created = this.lookup(
      () => this.api.createMultipart(this.name, u.compression === "xz" ? "xz" : "zst")
    );
    let sent = 0;
    const onNarBytes = (n) => {
      sent += n;
      u.onProgress?.(n);
    };
    const c = u.narSource ? compressPathAndHash(u.narSource.fsPath, u.compression, {
      level: u.level,
      onNarBytes,
      maxSize: u.info.narSize,
      checkNar: u.narSource.check
    }) : compressAndHash(u.nar(), u.compression, { level: u.level, onNarBytes });
    let parts;
    let stats;
    try {
      parts = await this.uploadParts(c.chunks, created, compressedBound(u.info.narSize), u.signal);
      stats = c.stats();
    } catch (e) {
      if (sent) u.onProgress?.(-sent);
      const ids = await created.catch(() => void 0);
      if (ids) await this.api.abort(this.name, ids.narId, ids.uploadId).catch(() => {
      });
      throw e;
    }
    const { narId, uploadId } = await created;
    const references = [...u.info.references].sort();
    const nic = {
      cStoreHash: sp.hash,
      cStoreSuffix: sp.name,
      cNarHash: formatHashNix32(u.info.narHash),
      cNarSize: u.info.narSize,
      cFileHash: stats.fileHash.digest.toString("hex"),
      cFileSize: stats.fileSize,
      cReferences: references,
      cDeriver: u.info.deriver ?? "unknown-deriver",
      cSig: this.key ? signRaw(this.key, narInfoFingerprint({ ...u.info, references })).toString("base64") : null
    };
    const narInfo = buildNarInfo(u.info, {
      url: `nar/${nix32Encode(stats.fileHash.digest)}${narExtension(u.compression)}`,
      compression: u.compression,
      fileHash: stats.fileHash,
      fileSize: stats.fileSize
    });
    return {
      narInfo,
      commit: async () => {
        await this.api.complete(this.name, narId, uploadId, { parts, narInfoCreate: nic });
      }
    };
  }
  /**
   * Cuts the compressed stream into parts and uploads them, `PARTS_IN_FLIGHT` at a time per path.
   * Each part's buffer is taken from the process-wide budget (`partBuffers`) before it is filled,
   * sized to what can still come (`bound` less what came), so small NARs take little and large ones
   * wait for room instead of growing memory. The last part is always sent, even when empty, so
   * that every upload has at least one part.
   */
  async uploadParts(chunks, created, bound, signal) {
    const buffers = this.buffers;
    const done = [];
    const inflight = /* @__PURE__ */ new Set();
    let failure;
    let partNumber = 0;
    let produced = 0;
    let part;
    const send = (p) => {
      const n = ++partNumber;
      const body = p.buf.subarray(0, p.len);
      const md5 = p.md5.digest("base64");
      const t = (async () => {
        const { narId, uploadId } = await created;
        const { uploadUrl } = await this.api.partUrl(this.name, narId, uploadId, n, md5);
        return this.api.putPart(uploadUrl, body, md5, signal);
      })().then(
        (eTag) => {
          done.push({ partNumber: n, eTag });
          buffers.give(p, true);
        },
        (e) => {
          failure ??= e;
          buffers.give(p, false);
        }
      );
      const tracked = t.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
    };
    const next = async () => {
      while (inflight.size >= PARTS_IN_FLIGHT) await Promise.race(inflight);
      if (failure) throw failure;
      return buffers.take(Math.max(1, Math.min(this.partSize, bound - produced)), signal);
    };
    try {
      for await (const chunk of chunks) {
        let c = chunk;
        while (c.length > 0) {
          part ??= await next();
          const take = Math.min(c.length, this.partSize - part.len);
          if (part.len + take > part.buf.length) buffers.grow(part, part.len + take);
          c.copy(part.buf, part.len, 0, take);
          part.md5.update(c.subarray(0, take));
          part.len += take;
          produced += take;
          c = c.subarray(take);
          if (part.len === this.partSize) {
            send(part);
            part = void 0;
          }
        }
      }
      send(part ?? await next());
      part = void 0;
      await Promise.all(inflight);
    } finally {
      if (part) buffers.give(part, true);
      await Promise.allSettled(inflight);
    }
    if (failure) throw failure;
    return done.sort((a, b) => a.partNumber - b.partNumber);
  }
  /**
   * Turns 401/404 on the cache into cachix's own wording, as a plain Error so that it prints as
   * cachix prints it (`Error: Binary cache … does not exist.`, which test/server/cachix/api.test.ts holds).
   */
  async lookup(f) {
    try {
      return await f();
    } catch (e) {
      if (e instanceof CachixApiError && (e.status === 401 || e.status === 404))
        throw new Error(cacheAccessMessage(this.name, e, this.api.hasToken));
      throw e;
    }
  }
  async close() {
    await this.api.close();
  }
};
function compressedBound(narSize) {
  return narSize + Math.ceil(narSize / 128) + 64 * 1024;
}

export {
  cachixToken,
  cacheToken,
  cachixApiUrl,
  parseSigningKey,
  PART_SIZE,
  PARTS_IN_FLIGHT,
  PART_MEMORY,
  CachixCache,
  compressedBound
};
