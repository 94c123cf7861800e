// A thin client of the Cachix API (v1) over keep-alive undici pools, with the library's retry
// classification (src/http/); the wire types it checks answers with are in src/cachix-api/. The
// `cachix://` backend (cache.ts) and token inspection and provisioning (src/cachix-admin/) use it.
import type { z } from "zod";
import {
  BinaryCache,
  type CacheCreate,
  CacheSettings,
  type CacheSettingsUpdate,
  type CompletedMultipartUpload,
  CreateMultipartUploadResponse,
  DEFAULT_CACHIX_API,
  ErrorBody,
  HashList,
  type SigningKeyCreate,
  type TokenCreate,
  TokenCreated,
  TokenList,
  UploadPartResponse,
  User,
} from "../../cachix-api/schemas.js";
import { Pools } from "../../http/pool.js";
import { codeForStatus, type Method, request } from "../../http/request.js";
import type { RetryPolicy } from "../../http/retry.js";
import { NixcacheError } from "../../util/errors.js";
import { cachixApiUrl, cachixToken } from "../credentials.js";

/** An answer the API gave that is not a success; `status` is the HTTP status. */
export class CachixApiError extends NixcacheError {
  constructor(
    message: string,
    readonly status: number,
    /** The server's own message, when it sent one. */
    readonly serverMessage?: string,
  ) {
    super(codeForStatus(status), message);
  }
}

export interface CachixApiOptions {
  /** Base URL of the API, e.g. `https://app.cachix.org/api/v1`. */
  apiUrl?: string;
  /** Sent as `Authorization: Bearer <token>`; empty (anonymous) when absent, as cachix does. */
  token?: string;
  connections?: number;
  retry?: RetryPolicy;
}

/** A thin client: one method per call the backend, inspection and provisioning need. */
export class CachixApi {
  readonly apiUrl: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly auth: string;
  private readonly pools: Pools;
  readonly retry: RetryPolicy;
  readonly hasToken: boolean;

  constructor(opts: CachixApiOptions = {}) {
    const raw = opts.apiUrl ?? DEFAULT_CACHIX_API;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new NixcacheError(
        "usage",
        `--cachix-api ${JSON.stringify(raw)} is not a URL (e.g. ${DEFAULT_CACHIX_API})`,
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
  get isPublicCachix(): boolean {
    return /(^|\.)cachix\.org$/.test(new URL(this.origin).hostname);
  }

  async close(): Promise<void> {
    await this.pools.close();
  }

  getCache(name: string): Promise<BinaryCache> {
    return this.json("GET", `/cache/${enc(name)}`, BinaryCache);
  }

  async cacheInfoText(name: string): Promise<string> {
    return (await this.call("GET", `/cache/${enc(name)}/nix-cache-info`)).text;
  }

  /** The narinfo text, or null when the cache does not have it. */
  async narInfoText(name: string, hash: string): Promise<string | null> {
    const r = await this.call("GET", `/cache/${enc(name)}/${hash}.narinfo`, { ok: [200, 404] });
    return r.status === 404 ? null : r.text;
  }

  /** Of these hashes, the ones missing (one call; the caller splits at NARINFO_BULK_MAX). */
  missingHashes(name: string, hashes: readonly string[]): Promise<string[]> {
    return this.json("POST", `/cache/${enc(name)}/narinfo`, HashList, { body: hashes });
  }

  createMultipart(name: string, compression: "zst" | "xz") {
    return this.json(
      "POST",
      `/cache/${enc(name)}/multipart-nar?compression=${compression}`,
      CreateMultipartUploadResponse,
    );
  }

  partUrl(name: string, narId: string, uploadId: string, partNumber: number, contentMD5: string) {
    return this.json(
      "POST",
      `/cache/${enc(name)}/multipart-nar/${enc(narId)}?uploadId=${enc(uploadId)}&partNumber=${partNumber}`,
      UploadPartResponse,
      { body: { contentMD5 } },
    );
  }

  /** PUTs one part to a presigned URL (no Authorization); returns the ETag the server gave. */
  async putPart(url: string, body: Buffer, contentMD5: string, signal?: AbortSignal): Promise<string> {
    const r = await this.call("PUT", url, {
      raw: body,
      headers: { "content-md5": contentMD5, "content-type": "application/octet-stream" },
      absolute: true,
      signal,
    });
    const etag = r.headers.etag;
    if (typeof etag !== "string" || !etag)
      throw new CachixApiError(`PUT part: the server sent no ETag`, r.status);
    return etag;
  }

  async complete(
    name: string,
    narId: string,
    uploadId: string,
    body: CompletedMultipartUpload,
  ): Promise<void> {
    await this.call(
      "POST",
      `/cache/${enc(name)}/multipart-nar/${enc(narId)}/complete?uploadId=${enc(uploadId)}`,
      {
        body,
      },
    );
  }

  async abort(name: string, narId: string, uploadId: string): Promise<void> {
    await this.call(
      "POST",
      `/cache/${enc(name)}/multipart-nar/${enc(narId)}/abort?uploadId=${enc(uploadId)}`,
    );
  }

  getUser(): Promise<User> {
    return this.json("GET", "/user", User);
  }

  async createCache(name: string, body: z.input<typeof CacheCreate>): Promise<void> {
    await this.call("POST", `/cache/${enc(name)}`, { body });
  }

  getSettings(name: string) {
    return this.json("GET", `/cache/${enc(name)}/settings`, CacheSettings);
  }

  async putSettings(name: string, body: z.input<typeof CacheSettingsUpdate>): Promise<void> {
    await this.call("PUT", `/cache/${enc(name)}/settings`, { body });
  }

  async addKey(name: string, body: z.input<typeof SigningKeyCreate>): Promise<void> {
    await this.call("POST", `/cache/${enc(name)}/key`, { body });
  }

  createToken(body: z.input<typeof TokenCreate>) {
    return this.json("POST", "/token", TokenCreated, { body });
  }

  listTokens() {
    return this.json("GET", "/token", TokenList);
  }

  private async json<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    o: { body?: unknown } = {},
  ): Promise<z.infer<S>> {
    const r = await this.call(method, path, o);
    let value: unknown;
    try {
      value = JSON.parse(r.text);
    } catch {
      throw new CachixApiError(`${method} ${this.apiUrl}${path}: the answer is not JSON`, r.status);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new CachixApiError(
        `${method} ${this.apiUrl}${path}: unexpected answer: ${parsed.error.issues
          .map((i) => `${i.path.join(".") || "body"}: ${i.message}`)
          .join("; ")}`,
        r.status,
      );
    return parsed.data;
  }

  /** One call with retries on 408/429/5xx and dropped connections (full-jitter backoff, Retry-After). */
  async call(
    method: Method,
    path: string,
    o: {
      body?: unknown;
      raw?: Buffer;
      headers?: Record<string, string>;
      ok?: number[];
      absolute?: boolean;
      signal?: AbortSignal;
    } = {},
  ): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
    const target = o.absolute ? new URL(path) : new URL(`${this.origin}${this.basePath}${path}`);
    const shown = o.absolute
      ? `${target.origin}${target.pathname}`
      : `${this.apiUrl}${path.replace(/\?.*$/, "")}`;
    const what = `${method} ${shown}`;
    const headers: Record<string, string> = { accept: "application/json", ...o.headers };
    // Presigned part URLs carry their own authority; the token is never sent there.
    if (!o.absolute) headers.authorization = this.auth;
    let body: string | Buffer | undefined;
    if (o.raw) body = o.raw;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] = "application/json";
    }
    const serverMessage = (b: Buffer) => errorMessageOf(b.toString("utf8"));
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
        refused: (status, b, what) => {
          const said = serverMessage(b);
          return new CachixApiError(`${what}: HTTP ${status}${said ? `: ${said}` : ""}`, status, said);
        },
      },
      this.retry,
    );
    return { status: r.status, text: method === "HEAD" ? "" : r.body.toString("utf8"), headers: r.headers };
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** The message of a JSON `{error}` body, or the text itself (bounded). */
function errorMessageOf(text: string): string | undefined {
  const t = text.trim();
  if (!t) return undefined;
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(t));
    if (parsed.success) return parsed.data.error;
  } catch {}
  return t.slice(0, 300);
}

/**
 * What cachix's client says for a refused cache lookup: a 404 is a cache that does not exist; a
 * 401 is one that does not exist or is private (with no token) or out of the token's reach.
 */
export function cacheAccessMessage(name: string, err: CachixApiError, hasToken: boolean): string {
  if (err.status === 404) return `Binary cache ${name} does not exist.`;
  if (err.status === 401 && hasToken)
    return `Binary cache ${name} doesn't exist or you don't have access.${err.serverMessage ? ` Error: ${err.serverMessage}` : ""}`;
  if (err.status === 401)
    return `Binary cache ${name} doesn't exist or it's private and you need a token: set CACHIX_AUTH_TOKEN`;
  return err.message;
}

/**
 * The API client a command uses: the API from `apiUrl` (else $NIXCACHE_CACHIX_API, else Cachix's
 * own) and the token from `token` (else $CACHIX_AUTH_TOKEN, else $NIXCACHE_TOKEN). Fewer retries than
 * an upload: these are interactive commands. Throws a usage error for a malformed API URL.
 */
export function openCachixApi(
  o: { apiUrl?: string; token?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): { api: CachixApi; token?: string } {
  const token = cachixToken(o.token, env);
  try {
    return {
      api: new CachixApi({ apiUrl: cachixApiUrl(o.apiUrl, env), token, retry: { attempts: 3 } }),
      token,
    };
  } catch (e) {
    throw new NixcacheError("usage", (e as Error).message);
  }
}
