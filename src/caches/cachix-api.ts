// The Cachix API (v1) as cachix client 1.11 speaks it: JSON shapes checked with zod on both sides
// (nixcache's server answers with them, the client checks every answer), and a small client over
// a keep-alive undici pool. Lives with the caches because the `cachix://` backend is its main user;
// token inspection and provisioning (src/cachix/) use it too.
import { Pool } from "undici";
import { z } from "zod";
import { parseRetryAfter, RetryableError, type RetryPolicy, withRetry } from "./retry.js";

/** Where cachix's own client points by default. */
export const DEFAULT_CACHIX_API = "https://app.cachix.org/api/v1";

/** The most hashes the bulk narinfo query takes at once (what cachix's client sends per call). */
export const NARINFO_BULK_MAX = 32768;

export const Permission = z.enum(["Read", "Write", "Admin"]);
export type Permission = z.infer<typeof Permission>;
export const CompressionMethod = z.enum(["XZ", "ZSTD"]);
export type CompressionMethod = z.infer<typeof CompressionMethod>;

export const BinaryCache = z.object({
  name: z.string(),
  uri: z.string(),
  isPublic: z.boolean(),
  publicSigningKeys: z.array(z.string()),
  githubUsername: z.string().nullable(),
  permission: Permission,
  preferredCompressionMethod: CompressionMethod,
});
export type BinaryCache = z.infer<typeof BinaryCache>;

const StoreHash = z.string().regex(/^[0-9a-df-np-sv-z]{32}$/, "expected a 32-character store path hash");
const BaseName = z
  .string()
  .regex(/^[0-9a-df-np-sv-z]{32}-[0-9A-Za-z+\-._?=]{1,211}$/, "expected a store path base name");

export const NarInfoCreate = z.object({
  cStoreHash: StoreHash,
  cStoreSuffix: z
    .string()
    .regex(/^[0-9A-Za-z+\-._?=]{1,211}$/, "expected a store path name (no leading dash)"),
  cNarHash: z.string().regex(/^sha256:[0-9a-df-np-sv-z]{52}$/, "expected sha256:<52 nix32 characters>"),
  cNarSize: z.number().int().positive(),
  cFileHash: z.string().regex(/^[0-9a-f]{64}$/, "expected the lowercase hex SHA-256 of the compressed file"),
  cFileSize: z.number().int().nonnegative(),
  cReferences: z.array(BaseName),
  cDeriver: z.union([z.literal("unknown-deriver"), BaseName]),
  cSig: z.string().nullable(),
});
export type NarInfoCreate = z.infer<typeof NarInfoCreate>;

export const CreateMultipartUploadResponse = z.object({ narId: z.uuid(), uploadId: z.string().min(1) });
export const SigningData = z.object({
  contentMD5: z.string().regex(/^[A-Za-z0-9+/]{22}==$/, "expected the base64 MD5 of the part"),
});
export const UploadPartResponse = z.object({ uploadUrl: z.string() });
export const CompletedPart = z.object({ partNumber: z.number().int().min(1).max(10000), eTag: z.string() });
export const CompletedMultipartUpload = z.object({
  parts: z.array(CompletedPart).min(1).nullable(),
  narInfoCreate: NarInfoCreate,
});
export type CompletedMultipartUpload = z.infer<typeof CompletedMultipartUpload>;

export const SigningKeyCreate = z.object({
  publicKey: z.string(),
  /** nixcache extension: the key name to publish (Cachix names keys itself and ignores this). */
  keyName: z.string().optional(),
});

export const User = z.object({
  id: z.number().int(),
  githubUsername: z.string().nullable(),
  email: z.string().nullable(),
  fullname: z.string().nullable(),
  slug: z.string().nullable(),
});
export type User = z.infer<typeof User>;

export const CacheCreate = z.object({
  isPublic: z.boolean(),
  generateSigningKey: z.boolean(),
  accountID: z.number().int().nullable().optional(),
});

export const CacheSettings = z.object({
  isPublic: z.boolean(),
  preferredCompressionMethod: CompressionMethod,
});
export const CacheSettingsUpdate = CacheSettings.partial();

/** `POST /token` (nixcache's minimal design; Cachix's own token API is not public). */
export const TokenCreate = z.object({
  cacheName: z.string(),
  permission: Permission,
  description: z.string().max(200).nullable().optional(),
  /** ISO 8601, or null for a token that never expires. */
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
});
export const TokenCreated = z.object({ token: z.string(), id: z.string() });
export const TokenInfo = z.object({
  id: z.string(),
  kind: z.enum(["personal", "cache"]),
  cacheName: z.string().nullable(),
  permission: Permission.nullable(),
  description: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export const TokenList = z.array(TokenInfo);

export const ErrorBody = z.object({ error: z.string() });

/** An answer the API gave that is not a success; `status` is the HTTP status. */
export class CachixApiError extends Error {
  override name = "CachixApiError";
  constructor(
    message: string,
    readonly status: number,
    /** The server's own message, when it sent one. */
    readonly serverMessage?: string,
  ) {
    super(message);
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

type Method = "GET" | "HEAD" | "POST" | "PUT";

/** A thin client: one method per call the backend, inspection and provisioning need. */
export class CachixApi {
  readonly apiUrl: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly auth: string;
  private readonly pools = new Map<string, Pool>();
  private readonly connections: number;
  readonly retry: RetryPolicy;
  readonly hasToken: boolean;

  constructor(opts: CachixApiOptions = {}) {
    const raw = opts.apiUrl ?? DEFAULT_CACHIX_API;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error(`--cachix-api ${JSON.stringify(raw)} is not a URL (e.g. ${DEFAULT_CACHIX_API})`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new Error(`--cachix-api ${JSON.stringify(raw)} must be an http(s) URL`);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, "");
    this.apiUrl = `${this.origin}${this.basePath}`;
    this.auth = `Bearer ${opts.token ?? ""}`;
    this.hasToken = !!opts.token;
    this.connections = opts.connections ?? 16;
    this.retry = opts.retry ?? {};
  }

  /** Whether this is Cachix's own service (for remedies that name its web pages). */
  get isPublicCachix(): boolean {
    return /(^|\.)cachix\.org$/.test(new URL(this.origin).hostname);
  }

  private pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections: this.connections,
        keepAliveTimeout: 30_000,
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
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
    return this.json("POST", `/cache/${enc(name)}/narinfo`, z.array(z.string()), { body: hashes });
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
    return withRetry(
      async () => {
        const headers: Record<string, string> = { accept: "application/json", ...o.headers };
        // Presigned part URLs carry their own authority; the token is never sent there.
        if (!o.absolute) headers.authorization = this.auth;
        let body: string | Buffer | undefined;
        if (o.raw) body = o.raw;
        else if (o.body !== undefined) {
          body = JSON.stringify(o.body);
          headers["content-type"] = "application/json";
        }
        let res: Awaited<ReturnType<Pool["request"]>>;
        try {
          res = await this.pool(target.origin).request({
            method,
            path: `${target.pathname}${target.search}`,
            headers,
            body,
            signal: o.signal,
          });
        } catch (e) {
          if (o.signal?.aborted) throw o.signal.reason ?? e;
          const code = (e as NodeJS.ErrnoException).code ?? "";
          throw new RetryableError(`${what}: ${(e as Error).message}${code ? ` (${code})` : ""}`);
        }
        const text = method === "HEAD" ? "" : await res.body.text();
        const status = res.statusCode;
        const ok = o.ok ? o.ok.includes(status) : status >= 200 && status < 300;
        if (ok) return { status, text, headers: res.headers };
        const serverMessage = errorMessageOf(text);
        const msg = `${what}: HTTP ${status}${serverMessage ? `: ${serverMessage}` : ""}`;
        if (status === 408 || status === 429 || status >= 500)
          throw new RetryableError(msg, parseRetryAfter(res.headers["retry-after"]));
        throw new CachixApiError(msg, status, serverMessage);
      },
      this.retry,
      o.signal,
    );
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
