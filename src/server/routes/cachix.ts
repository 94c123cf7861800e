// The Cachix-compatible API under /api/v1 (what cachix client 1.11 calls, PROTOCOLS.md §3), over
// the same caches, tokens and verified ingest as the Nix side. Like Cachix: a Bearer with an empty
// token is anonymous, every refusal is 401 (404 only for a cache that does not exist), replies are
// application/json with optional fields null, and errors are `{"error": "..."}`.
import type { IncomingMessage } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import {
  CacheCreate,
  CacheSettingsUpdate,
  type Permission as CachixPermission,
  CompletedMultipartUpload,
  NARINFO_BULK_MAX,
  SigningData,
  SigningKeyCreate,
  TokenCreate,
} from "../../cachix-api/schemas.js";
import { formatCacheInfo } from "../../nix/cache-info.js";
import { parsePublicKey } from "../../nix/signing.js";
import { DEFAULT_STORE_DIR } from "../../nix/store-path.js";
import { authorize, createToken, hashToken, tokenFromHeader } from "../auth.js";
import { type AccountRow, cachixDb } from "../cachix-db.js";
import { CachixUploads } from "../cachix-uploads.js";
import type { ServerContext } from "../context.js";
import type { CacheRow, Permission, TokenRow } from "../db.js";
import { IngestError } from "../ingest.js";
import { CacheName } from "./nix.js";

const HASH = /^[0-9a-df-np-sv-z]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JSON_LIMIT = 4 * 1024 * 1024;
const TO_CACHIX: Record<Permission, CachixPermission> = { read: "Read", write: "Write", admin: "Admin" };
const FROM_CACHIX: Record<CachixPermission, Permission> = { Read: "read", Write: "write", Admin: "admin" };

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Req = FastifyRequest<{
  Params: { name?: string; file?: string; narId?: string; part?: string };
  Querystring: Record<string, string | undefined>;
}>;

/** Who is calling: nobody, a cache token, or a personal token with its account. */
type Caller =
  | { kind: "anonymous" }
  | { kind: "cache"; token: TokenRow }
  | { kind: "personal"; token: TokenRow; account: AccountRow };

export interface CachixRouteOptions {
  dataDir: string;
  /** Lifetime of presigned part URLs (default one hour). */
  partUrlTtlMs?: number;
}

export function registerCachixRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  opts: CachixRouteOptions,
): void {
  const { db } = ctx;
  const store = cachixDb(db);
  const uploads = new CachixUploads(ctx, opts.dataDir, opts.partUrlTtlMs);

  function caller(req: Req): Caller {
    const text = tokenFromHeader(req.headers.authorization);
    if (text === undefined) return { kind: "anonymous" };
    const row = db.findTokenByHash(hashToken(text));
    if (!row) throw new ApiError(401, "unknown token");
    if (row.revokedAt !== null) throw new ApiError(401, `token ${row.id} has been revoked`);
    if (row.expiresAt !== null && row.expiresAt <= Date.now())
      throw new ApiError(401, `token ${row.id} has expired`);
    if (row.kind === "personal") {
      const account = row.account === null ? undefined : store.account(row.account);
      if (!account) throw new ApiError(401, `token ${row.id} belongs to no account`);
      return { kind: "personal", token: row, account };
    }
    return { kind: "cache", token: row };
  }

  function personal(req: Req, what: string): { token: TokenRow; account: AccountRow } {
    const c = caller(req);
    if (c.kind !== "personal")
      throw new ApiError(
        401,
        c.kind === "anonymous"
          ? `${what} needs a personal token`
          : `${what} needs a personal token; token ${c.token.id} is a cache token (${c.token.perm} on ${c.token.cache})`,
      );
    return c;
  }

  function findCache(name: string | undefined): CacheRow {
    const cache = name && CacheName.safeParse(name).success ? db.getCache(name) : undefined;
    if (!cache) throw new ApiError(404, `Binary cache ${name} does not exist.`);
    return cache;
  }

  /** The cache, when the caller may do `needed` on it; 404 when it does not exist, 401 otherwise. */
  function access(req: Req, needed: Permission): CacheRow {
    const cache = findCache(req.params.name);
    caller(req); // an invalid token is refused even where none is needed
    const auth = authorize(db, cache, req.headers.authorization, needed);
    if (!auth.ok) throw new ApiError(401, auth.message);
    (req as { cacheName?: string }).cacheName = cache.name;
    return cache;
  }

  /** The highest permission the caller has on the cache, or undefined. */
  function permissionOn(req: Req, cache: CacheRow): Permission | undefined {
    for (const p of ["admin", "write", "read"] as const)
      if (authorize(db, cache, req.headers.authorization, p).ok) return p;
    return undefined;
  }

  function origin(req: Req): string {
    return `${req.protocol}://${req.host}`;
  }

  function publicKeys(cache: CacheRow): string[] {
    const managed = store.settings(cache.name).managed;
    return [...(managed ? [cache.publicKey] : []), ...store.userKeys(cache.name)];
  }

  function openUpload(req: Req, cache: CacheRow) {
    const narId = req.params.narId ?? "";
    const up = UUID.test(narId) ? store.upload(narId) : undefined;
    if (!up || up.cache !== cache.name || up.uploadId !== req.query.uploadId)
      throw new ApiError(404, `no multipart upload ${narId} with that uploadId in cache ${cache.name}`);
    return up;
  }

  app.register(
    async (api) => {
      api.setErrorHandler((err, _req, reply) => {
        if (err instanceof ApiError || err instanceof IngestError)
          return sendError(reply, err.status, err.message);
        const status = (err as { statusCode?: number }).statusCode;
        if (status && status >= 400 && status < 500) return sendError(reply, status, (err as Error).message);
        ctx.logError(err);
        return sendError(reply, 500, "internal server error");
      });
      api.setNotFoundHandler((req, reply) =>
        sendError(reply, 404, `no such API call: ${req.method} ${req.url.replace(/\?.*$/, "")}`),
      );

      // --- caches ---
      api.get("/cache/:name", async (req: Req, reply) => {
        const cache = findCache(req.params.name);
        caller(req);
        const perm = permissionOn(req, cache);
        if (!perm)
          throw new ApiError(401, `cache ${cache.name} is private: a token with access to it is required`);
        const s = store.settings(cache.name);
        return sendJson(reply, {
          name: cache.name,
          uri: `${origin(req)}/${cache.name}`,
          isPublic: cache.isPublic,
          publicSigningKeys: publicKeys(cache),
          githubUsername: s.owner,
          permission: TO_CACHIX[perm],
          preferredCompressionMethod: s.compression,
        });
      });

      api.post("/cache/:name", async (req: Req, reply) => {
        const { account } = personal(req, "creating a cache");
        const name = req.params.name ?? "";
        const valid = CacheName.safeParse(name);
        if (!valid.success)
          throw new ApiError(
            400,
            `invalid cache name ${JSON.stringify(name)}: ${valid.error.issues[0]?.message}`,
          );
        const body = await readJson(req.raw, CacheCreate);
        if (body.accountID != null && body.accountID !== account.id)
          throw new ApiError(
            401,
            `accountID ${body.accountID} is not the account of this token (${account.id})`,
          );
        if (db.getCache(name)) throw new ApiError(409, `Binary cache ${name} already exists.`);
        try {
          store.createCache({
            name,
            isPublic: body.isPublic,
            owner: account.slug,
            managed: body.generateSigningKey,
          });
        } catch (e) {
          if ((e as Error).name === "DbError")
            throw new ApiError(409, `Binary cache ${name} already exists.`);
          throw e;
        }
        return reply.code(200).send();
      });

      api.get("/cache/:name/settings", async (req: Req, reply) => {
        const cache = access(req, "read");
        return sendJson(reply, {
          isPublic: cache.isPublic,
          preferredCompressionMethod: store.settings(cache.name).compression,
        });
      });

      api.put("/cache/:name/settings", async (req: Req, reply) => {
        const cache = access(req, "admin");
        const body = await readJson(req.raw, CacheSettingsUpdate);
        if (body.isPublic !== undefined && body.isPublic !== cache.isPublic)
          db.setCachePublic(cache.name, body.isPublic);
        if (body.preferredCompressionMethod !== undefined)
          store.setSettings(cache.name, {
            ...store.settings(cache.name),
            compression: body.preferredCompressionMethod,
          });
        return reply.code(200).send();
      });

      api.post("/cache/:name/key", async (req: Req, reply) => {
        const cache = access(req, "admin");
        const body = await readJson(req.raw, SigningKeyCreate);
        const raw = Buffer.from(body.publicKey, "base64");
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body.publicKey) || raw.length !== 32)
          throw new ApiError(400, "publicKey must be the base64 of a 32-byte ed25519 public key");
        const existing = store.userKeys(cache.name).length;
        const name = body.keyName ?? `${cache.name}-user-${existing + 1}`;
        try {
          parsePublicKey(`${name}:${raw.toString("base64")}`);
        } catch (e) {
          throw new ApiError(400, `keyName: ${(e as Error).message}`);
        }
        if (!/^[^:\s]+$/.test(name)) throw new ApiError(400, "keyName must have no ':' or whitespace");
        // The managed key is published only for managed caches; then names must not collide.
        if (
          store.settings(cache.name).managed &&
          name === cache.publicKey.slice(0, cache.publicKey.indexOf(":"))
        )
          throw new ApiError(400, `keyName ${name} is the name of the cache's managed key`);
        store.addUserKey(cache.name, name, raw.toString("base64"));
        return reply.code(200).send();
      });

      // --- reading ---
      api.get("/cache/:name/nix-cache-info", async (req: Req, reply) => {
        const cache = access(req, "read");
        return reply
          .type("text/x-nix-cache-info")
          .send(
            formatCacheInfo({ storeDir: DEFAULT_STORE_DIR, wantMassQuery: true, priority: cache.priority }),
          );
      });

      const narinfo = async (req: Req, reply: FastifyReply) => {
        const file = req.params.file ?? "";
        const hash = file.endsWith(".narinfo") ? file.slice(0, -8) : "";
        if (!HASH.test(hash)) throw new ApiError(404, `not found: ${file}`);
        const cache = access(req, "read");
        const text = db.getNarInfoText(cache.name, hash);
        if (text === undefined) throw new ApiError(404, `no narinfo for ${hash} in cache ${cache.name}`);
        reply.type("text/x-nix-narinfo");
        return req.method === "HEAD" ? reply.send() : reply.send(text);
      };
      api.get("/cache/:name/:file", narinfo);
      api.head("/cache/:name/:file", narinfo);

      api.post("/cache/:name/narinfo", async (req: Req, reply) => {
        const cache = access(req, "read");
        const hashes = await readJson(req.raw, HashList);
        const missing = hashes.filter((h) => db.getNarInfoText(cache.name, h) === undefined);
        return sendJson(reply, [...new Set(missing)]);
      });

      // --- multipart upload ---
      api.post("/cache/:name/multipart-nar", async (req: Req, reply) => {
        const cache = access(req, "write");
        const c = req.query.compression ?? (store.settings(cache.name).compression === "XZ" ? "xz" : "zst");
        if (c !== "zst" && c !== "xz") throw new ApiError(400, `Wrong compression method: ${c}`);
        await drain(req.raw);
        const up = store.createUpload(cache.name, c === "xz" ? "xz" : "zstd");
        return sendJson(reply, { narId: up.narId, uploadId: up.uploadId });
      });

      api.post("/cache/:name/multipart-nar/:narId", async (req: Req, reply) => {
        const cache = access(req, "write");
        const up = openUpload(req, cache);
        const part = Number(req.query.partNumber);
        if (!Number.isInteger(part) || part < 1 || part > 10000)
          throw new ApiError(
            400,
            `partNumber must be an integer from 1 to 10000, got ${JSON.stringify(req.query.partNumber ?? null)}`,
          );
        const body = await readJson(req.raw, SigningData);
        if (up.state !== "open") throw new ApiError(400, `upload ${up.narId} was already ${up.state}`);
        return sendJson(reply, { uploadUrl: uploads.partUrl(origin(req), up, part, body.contentMD5) });
      });

      api.post("/cache/:name/multipart-nar/:narId/complete", async (req: Req, reply) => {
        const cache = access(req, "write");
        const up = openUpload(req, cache);
        const body = await readJson(req.raw, CompletedMultipartUpload);
        await uploads.complete(up, body);
        return reply.code(200).send();
      });

      api.post("/cache/:name/multipart-nar/:narId/abort", async (req: Req, reply) => {
        const cache = access(req, "write");
        const up = openUpload(req, cache);
        await drain(req.raw);
        await uploads.abort(up);
        return reply.code(200).send();
      });

      // Presigned: the URL is the authority, no Authorization header is needed or looked at.
      api.put("/upload/:narId/:part", async (req: Req, reply) => {
        const narId = req.params.narId ?? "";
        const part = Number(req.params.part);
        if (!UUID.test(narId) || !Number.isInteger(part) || part < 1 || part > 10000)
          throw new ApiError(404, "no such part URL");
        const md5 = req.headers["content-md5"];
        const etag = await uploads.receivePart(
          narId,
          part,
          req.query,
          typeof md5 === "string" ? md5 : undefined,
          req.raw,
        );
        return reply.code(200).header("etag", etag).send();
      });

      // --- accounts and tokens ---
      api.get("/user", async (req: Req, reply) => {
        const { account } = personal(req, "GET /user");
        return sendJson(reply, {
          id: account.id,
          githubUsername: account.slug,
          email: account.email,
          fullname: account.fullname,
          slug: account.slug,
        });
      });

      api.post("/token", async (req: Req, reply) => {
        const { account } = personal(req, "creating tokens");
        const body = await readJson(req.raw, TokenCreate);
        const cache = findCache(body.cacheName);
        if (store.settings(cache.name).owner !== account.slug)
          throw new ApiError(401, `account ${account.slug} does not own cache ${cache.name}`);
        const expiresAt = body.expiresAt ? Date.parse(body.expiresAt) : null;
        if (expiresAt !== null && expiresAt <= Date.now())
          throw new ApiError(400, "expiresAt is in the past");
        const { token, row } = createToken(db, {
          cache: cache.name,
          perm: FROM_CACHIX[body.permission],
          expiresAt,
          description: body.description ?? undefined,
        });
        return sendJson(reply, { token, id: row.id });
      });

      api.get("/token", async (req: Req, reply) => {
        const { account } = personal(req, "listing tokens");
        const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
        return sendJson(
          reply,
          store.tokensOfAccount(account.slug).map((t) => ({
            id: t.id,
            kind: t.kind,
            cacheName: t.kind === "cache" ? t.cache : null,
            permission: t.kind === "cache" ? TO_CACHIX[t.perm] : null,
            description: t.description,
            createdAt: new Date(t.createdAt).toISOString(),
            expiresAt: iso(t.expiresAt),
            revokedAt: iso(t.revokedAt),
          })),
        );
      });
    },
    { prefix: "/api/v1" },
  );
}

const HashList = z
  .array(z.string().regex(HASH, "expected 32-character store path hashes"))
  .max(NARINFO_BULK_MAX, `at most ${NARINFO_BULK_MAX} hashes per call`);

function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type("application/json").send(JSON.stringify(value));
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .type("application/json")
    .send(JSON.stringify({ error: message }));
}

async function drain(raw: IncomingMessage): Promise<void> {
  let size = 0;
  for await (const c of raw as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > JSON_LIMIT) throw new ApiError(413, "request body too large");
  }
}

/** Reads a bounded JSON body and checks it against the schema; 400 names what was wrong. */
async function readJson<S extends z.ZodType>(raw: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of raw as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > JSON_LIMIT) throw new ApiError(413, `request body exceeds ${JSON_LIMIT} bytes`);
    chunks.push(c);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new ApiError(400, "request body is not valid JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new ApiError(
      400,
      `invalid request body: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}
