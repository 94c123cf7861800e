// The Nix HTTP binary cache protocol (GET/HEAD/PUT) over a keep-alive undici pool.
//
// NARs are stored at `nar/<narhash>.nar.<ext>`: the NAR hash is known before the upload starts,
// so the NAR streams in one pass while its FileHash is computed, and the narinfo (written after)
// carries FileHash/FileSize. A retried or repeated upload of the same NAR writes the same name
// with the same decompressed content, so whatever a reader gets there is the right NAR.
import { Readable } from "node:stream";
import type { Pool } from "undici";
import { compressAndHash, compressPathAndHash, type FileStats } from "../codec/compress-and-hash.js";
import { narExtension } from "../codec/compression.js";
import { defaultNetrcFile, readNetrcCredentials } from "../http/netrc.js";
import { createPool } from "../http/pool.js";
import { codeForStatus, request } from "../http/request.js";
import type { RetryPolicy } from "../http/retry.js";
import { type CacheInfo, formatCacheInfo, parseCacheInfo } from "../nix/cache-info.js";
import { buildNarInfo, formatNarInfo, type NarInfo, parseNarInfo } from "../nix/narinfo.js";
import { nix32Encode } from "../nix/nix32.js";
import { checkStoreHash, parseStorePath, parseStorePathBase } from "../nix/store-path.js";
import { LOG_PAGE_HEADER, NIXCACHE_SERVER_HEADER, RUN_HEADER } from "../ui-api/headers.js";
import type { ReportUpload } from "../ui-api/types.js";
import { NixcacheError } from "../util/errors.js";
import { mapLimit } from "../util/limiter.js";
import { ciRun } from "./ci-run.js";
import { DEFAULT_CACHE_INFO } from "./file-cache.js";
import { publishedSigningKeys } from "./published-keys.js";
import type { NarUpload, StagedPath, StoredBuildLog, WritableBinaryCache } from "./types.js";

export interface HttpCacheOptions {
  /** Sent as `Authorization: Bearer`; takes precedence over netrc. */
  token?: string;
  /** netrc file for Basic auth (default: the one Nix uses). */
  netrcFile?: string;
  /** Connections kept open to the server (default 16); requests beyond wait their turn. */
  connections?: number;
  retry?: RetryPolicy;
  /** The CI run pushes are part of (default: from the environment, ci-run.ts); told to nixcache servers only. */
  run?: string | null;
}

/** A request the server refused for good (a 4xx other than 408/429), or could not be sent. */
export class HttpCacheError extends NixcacheError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(status === undefined ? "unavailable" : codeForStatus(status), message);
  }
}

export class HttpCache implements WritableBinaryCache {
  readonly url: string;
  private readonly pool: Pool;
  private readonly base: string;
  private readonly auth?: string;
  private readonly retry: RetryPolicy;
  private readonly run: string | null;
  /** Whether the server said it is nixcache's (learnt from nix-cache-info). */
  private nixcache: boolean | undefined;

  constructor(url: string, opts: HttpCacheOptions = {}) {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new NixcacheError("usage", `not an HTTP cache URL: ${url}`);
    const userinfo = u.username || u.password ? { login: u.username, password: u.password } : undefined;
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
    this.run = opts.run === undefined ? (ciRun()?.id ?? null) : opts.run;
  }

  /** What a nixcache server's cache-config (else a Cachix-compatible API) lists (see published-keys.ts). */
  advertisedKeys(token?: string): Promise<string[]> {
    return publishedSigningKeys(this.url, token === undefined ? {} : { token });
  }

  async cacheInfo(): Promise<CacheInfo> {
    const r = await this.send("GET", "nix-cache-info", { okStatuses: [200] });
    this.nixcache = r.headers[NIXCACHE_SERVER_HEADER] !== undefined;
    return parseCacheInfo(r.text);
  }

  async ensureCacheInfo(): Promise<CacheInfo> {
    const r = await this.send("GET", "nix-cache-info", { okStatuses: [200, 404] });
    this.nixcache = r.headers[NIXCACHE_SERVER_HEADER] !== undefined;
    if (r.status === 200) return parseCacheInfo(r.text);
    await this.send("PUT", "nix-cache-info", {
      body: () => Buffer.from(formatCacheInfo(DEFAULT_CACHE_INFO)),
      contentType: "text/x-nix-cache-info",
    });
    return DEFAULT_CACHE_INFO;
  }

  async missing(hashes: readonly string[]): Promise<Set<string>> {
    for (const h of hashes) checkStoreHash(h);
    const out = new Set<string>();
    await mapLimit(hashes, 32, async (h) => {
      // Nix treats 401/403 as absent too, but for a pusher that hides a bad token: fail instead.
      const r = await this.send("HEAD", `${h}.narinfo`, { okStatuses: [200, 404] });
      if (r.status === 404) out.add(h);
    });
    return out;
  }

  async getNarInfo(hash: string): Promise<NarInfo | null> {
    checkStoreHash(hash);
    const r = await this.send("GET", `${hash}.narinfo`, { okStatuses: [200, 404] });
    if (r.status === 404) return null;
    return parseNarInfo(r.text);
  }

  /** GETs a file of the cache by its URL relative to the cache root (as in a narinfo). */
  async readFile(relUrl: string): Promise<Buffer> {
    const r = await this.send("GET", relUrl, { okStatuses: [200], binary: true });
    return r.body;
  }

  async uploadNar(u: NarUpload): Promise<StagedPath> {
    const narUrl = `nar/${nix32Encode(u.info.narHash.digest)}${narExtension(u.compression)}`;
    let stats: FileStats | undefined;
    let sent = 0;
    let sourceError: unknown;
    const compress = () => {
      // A retry starts over: take back the progress of the failed attempt.
      if (sent) u.onProgress?.(-sent);
      sent = 0;
      const onNarBytes = (n: number) => {
        sent += n;
        u.onProgress?.(n);
      };
      const o = { level: u.level, onNarBytes };
      return u.narSource
        ? compressPathAndHash(u.narSource.fsPath, u.compression, {
            ...o,
            maxSize: u.info.narSize,
            checkNar: u.narSource.check,
          })
        : compressAndHash(u.nar(), u.compression, o);
    };
    // Most NARs are small: compressed whole before the PUT, they go in one write with a
    // Content-Length, and a retry resends the bytes instead of reading the store again. Only
    // past WHOLE_LIMIT does the rest stream (chunked) behind what was read so far.
    const first = compress();
    const it = first.chunks[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let whole: Buffer | undefined;
    try {
      let headBytes = 0;
      while (headBytes < WHOLE_LIMIT) {
        u.signal?.throwIfAborted();
        const r = await it.next();
        if (r.done) {
          whole = head.length === 1 ? (head[0] as Buffer) : Buffer.concat(head);
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
          const c =
            attempts++ === 0
              ? { chunks: resume(head, it), stats: first.stats, sourceError: first.sourceError }
              : compress();
          async function* watched(): AsyncGenerator<Buffer> {
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
        fatal: () => sourceError,
      });
    } finally {
      // Ends the first compression job if no attempt read it to its end.
      await it.return?.();
    }
    if (!stats) throw new NixcacheError("internal", `upload of ${narUrl} ended without the whole NAR`);
    const narInfo = buildNarInfo(u.info, {
      url: narUrl,
      compression: u.compression,
      fileHash: stats.fileHash,
      fileSize: stats.fileSize,
    });
    const hash = parseStorePath(u.info.storePath).hash;
    const text = formatNarInfo(narInfo);
    return {
      narInfo,
      commit: async (signal?: AbortSignal) => {
        await this.send("PUT", `${hash}.narinfo`, {
          contentType: "text/x-nix-narinfo",
          body: () => Buffer.from(text),
          signal,
        });
      },
    };
  }

  /**
   * PUTs a build log to `log/<drv basename>` with the cache's credentials, as `nix store copy-log
   * --to` does; uncompressed, so any reader (and the dashboard's tail, which reads the end of
   * the stored log) takes it as it is. Retried briefly: a log is not worth a NAR's long retries.
   */
  async uploadBuildLog(drvBaseName: string, log: Buffer, signal?: AbortSignal): Promise<StoredBuildLog> {
    parseStorePathBase(drvBaseName);
    const r = await this.send("PUT", `log/${drvBaseName}`, {
      contentType: "text/plain; charset=utf-8",
      body: () => log,
      signal,
      retry: { ...this.retry, attempts: Math.min(this.retry.attempts ?? 3, 3), maxRetryAfterMs: 10_000 },
    });
    if (!(await this.isNixcacheServer())) return {};
    const said = r.headers[LOG_PAGE_HEADER];
    return {
      dashboardUrl:
        typeof said === "string" && /^https?:\/\/[^\s]+$/.test(said)
          ? said
          : `${this.serverBase()}/ui/#/cache/${encodeURIComponent(this.cacheName())}/log/${encodeURIComponent(drvBaseName)}`,
    };
  }

  /** The server's root (`http://host/prefix/main` → `http://host/prefix`). */
  private serverBase(): string {
    return this.url.slice(0, this.url.length - (this.base.length - this.base.lastIndexOf("/")));
  }

  /** The cache's name on its server: the URL's last path segment. */
  private cacheName(): string {
    return decodeURIComponent(this.base.slice(this.base.lastIndexOf("/") + 1));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Whether this cache is served by nixcache's server (asks once, when no probe told yet). */
  async isNixcacheServer(): Promise<boolean> {
    if (this.nixcache === undefined) await this.cacheInfo().catch(() => {});
    return this.nixcache === true;
  }

  /**
   * Uploads a CI report to a nixcache server's `POST /api/v1/cache/<name>/reports` (beside the
   * cache: `http://host/prefix/main` → `http://host/prefix/api/v1/cache/main/reports`), with the
   * cache's credentials. Returns the report's id and its page on the dashboard.
   */
  async uploadReport(report: ReportUpload): Promise<{ id: number; url: string }> {
    const cut = this.base.lastIndexOf("/");
    const name = this.base.slice(cut + 1);
    const path = `${this.base.slice(0, cut)}/api/v1/cache/${encodeURIComponent(name)}/reports`;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
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
            said = String((JSON.parse(said) as { error?: unknown }).error ?? said);
          } catch {}
          return new HttpCacheError(`${w}: HTTP ${status}${said ? `: ${said}` : ""}`, status);
        },
      },
      // A report is worth a short retry, not the long one a NAR gets: the command is done.
      { ...this.retry, attempts: Math.min(this.retry.attempts ?? 3, 3), maxRetryAfterMs: 10_000 },
    );
    const answer = JSON.parse(r.body.toString("utf8")) as { id: number; url: string };
    return { id: answer.id, url: answer.url };
  }

  /** One request with retries; resolves for `okStatuses` (default 2xx), throws otherwise. */
  private async send(
    method: "GET" | "HEAD" | "PUT",
    rel: string,
    o: {
      okStatuses?: number[];
      /** A Buffer goes with a Content-Length, a stream chunked. */
      body?: () => Readable | Buffer;
      contentType?: string;
      signal?: AbortSignal;
      binary?: boolean;
      fatal?: () => unknown;
      retry?: RetryPolicy;
    } = {},
  ): Promise<{ status: number; text: string; body: Buffer; headers: Record<string, unknown> }> {
    const headers: Record<string, string> = {};
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
            status,
          );
        },
      },
      o.retry ?? this.retry,
    );
    return {
      status: r.status,
      text: o.binary ? "" : r.body.toString("utf8"),
      body: r.body,
      headers: r.headers,
    };
  }
}

/** Compressed NARs up to this size are uploaded from memory, in one piece. */
const WHOLE_LIMIT = 1024 * 1024;

/** Yields `head`, then the rest of `it`. */
async function* resume(head: Buffer[], it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}
