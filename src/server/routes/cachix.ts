// The Cachix-compatible API under /api/v1 (what cachix client 1.11 calls, PROTOCOLS.md §3), over
// the same caches, tokens and verified ingest as the Nix side. Replies are application/json with
// optional fields null, and errors are `{"error": "..."}`. This file holds the cache calls; the
// multipart upload and the account calls are beside it.
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import {
  CacheCreate,
  CacheSettingsUpdate,
  NARINFO_BULK_MAX,
  SigningKeyCreate,
} from "../../cachix-api/schemas.js";
import { formatCacheInfo } from "../../nix/cache-info.js";
import { parsePublicKey } from "../../nix/signing.js";
import { DEFAULT_STORE_DIR, isStoreHash } from "../../nix/store-path.js";
import { NewCacheName } from "../cache-names.js";
import type { ServerContext } from "../context.js";
import { ApiError, DbError } from "../errors.js";
import { publishedKeys } from "./cache-config.js";
import { registerCachixAccountRoutes } from "./cachix-accounts.js";
import { registerCachixMultipartRoutes } from "./cachix-multipart.js";
import { registerCachixPinRoutes } from "./cachix-pins.js";
import { CachixRequests, type Req, readJson, sendJson, TO_CACHIX } from "./cachix-request.js";
import { errorReply } from "./errors.js";
import { registerOidcRoutes } from "./oidc.js";
import { registerReportRoutes } from "./reports.js";

const HashList = z
  .array(z.string().refine(isStoreHash, "expected 32-character store path hashes"))
  .max(NARINFO_BULK_MAX, `at most ${NARINFO_BULK_MAX} hashes per call`);

export interface CachixRouteOptions {
  /** Lifetime of presigned part URLs (default one hour). */
  partUrlTtlMs?: number;
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .type("application/json")
    .send(JSON.stringify({ error: message }));
}

export function registerCachixRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  opts: CachixRouteOptions,
): void {
  const { meta } = ctx;
  const calls = new CachixRequests(meta);

  app.register(
    async (api) => {
      api.setErrorHandler((err, _req, reply) => {
        const { status, message, headers } = errorReply(err, ctx.logError);
        return sendError(reply.headers(headers), status, message);
      });
      api.setNotFoundHandler((req, reply) =>
        sendError(reply, 404, `no such API call: ${req.method} ${req.url.replace(/\?.*$/, "")}`),
      );

      // --- caches ---
      api.get("/cache/:name", async (req: Req, reply) => {
        const cache = await calls.access(req, "read");
        const perm = (await calls.permissionOn(req, cache)) ?? "read";
        return sendJson(reply, {
          name: cache.name,
          uri: `${ctx.publicUrl()}/${cache.name}`,
          isPublic: cache.isPublic,
          publicSigningKeys: await publishedKeys(meta, cache),
          githubUsername: cache.owner,
          permission: TO_CACHIX[perm],
          preferredCompressionMethod: cache.compression,
        });
      });

      api.post("/cache/:name", async (req: Req, reply) => {
        const { account } = await calls.personal(req, "creating a cache");
        const name = req.params.name ?? "";
        const valid = NewCacheName.safeParse(name);
        if (!valid.success)
          throw new ApiError(
            "invalid",
            `invalid cache name ${JSON.stringify(name)}: ${valid.error.issues[0]?.message}`,
          );
        const body = await readJson(req.raw, CacheCreate);
        if (body.accountID != null && body.accountID !== account.id)
          throw new ApiError(
            "unauthorized",
            `accountID ${body.accountID} is not the account of this token (${account.id})`,
          );
        const exists = () => new ApiError("conflict", `Binary cache ${name} already exists.`);
        if (await meta.getCache(name)) throw exists();
        try {
          await meta.createCache({
            name,
            isPublic: body.isPublic,
            priority: 41,
            owner: account.slug,
            managed: body.generateSigningKey,
          });
        } catch (e) {
          if (e instanceof DbError && e.code === "conflict") throw exists();
          throw e;
        }
        return reply.code(200).send();
      });

      api.get("/cache/:name/settings", async (req: Req, reply) => {
        const cache = await calls.access(req, "read");
        return sendJson(reply, { isPublic: cache.isPublic, preferredCompressionMethod: cache.compression });
      });

      api.put("/cache/:name/settings", async (req: Req, reply) => {
        const cache = await calls.access(req, "admin");
        const body = await readJson(req.raw, CacheSettingsUpdate);
        await meta.updateCache(cache.name, {
          isPublic: body.isPublic,
          compression: body.preferredCompressionMethod,
        });
        return reply.code(200).send();
      });

      api.post("/cache/:name/key", async (req: Req, reply) => {
        const cache = await calls.access(req, "admin");
        const body = await readJson(req.raw, SigningKeyCreate);
        const raw = Buffer.from(body.publicKey, "base64");
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body.publicKey) || raw.length !== 32)
          throw new ApiError("invalid", "publicKey must be the base64 of a 32-byte ed25519 public key");
        const existing = (await meta.clientKeys(cache.name)).length;
        const name = body.keyName ?? `${cache.name}-user-${existing + 1}`;
        try {
          parsePublicKey(`${name}:${raw.toString("base64")}`);
        } catch (e) {
          throw new ApiError("invalid", `keyName: ${(e as Error).message}`);
        }
        if (!/^[^:\s]+$/.test(name)) throw new ApiError("invalid", "keyName must have no ':' or whitespace");
        // The managed key is published only for managed caches; then names must not collide.
        if (cache.managed && name === cache.publicKey.slice(0, cache.publicKey.indexOf(":")))
          throw new ApiError("invalid", `keyName ${name} is the name of the cache's managed key`);
        await meta.addClientKey(cache.name, name, raw.toString("base64"));
        return reply.code(200).send();
      });

      // --- reading ---
      api.get("/cache/:name/nix-cache-info", async (req: Req, reply) => {
        const cache = await calls.access(req, "read");
        return reply
          .type("text/x-nix-cache-info")
          .send(
            formatCacheInfo({ storeDir: DEFAULT_STORE_DIR, wantMassQuery: true, priority: cache.priority }),
          );
      });

      const narinfo = async (req: Req, reply: FastifyReply) => {
        const file = req.params.file ?? "";
        const hash = file.endsWith(".narinfo") ? file.slice(0, -8) : "";
        if (!isStoreHash(hash)) throw new ApiError("notFound", `not found: ${file}`);
        const cache = await calls.access(req, "read");
        const started = ctx.fetchGuard.lookupStarted();
        const body = await ctx.metrics.narinfoLookup(ctx.narinfos.get(cache.name, hash));
        if (body === undefined || !ctx.fetchGuard.hit(cache.name, hash, started))
          throw new ApiError("notFound", `no narinfo for ${hash} in cache ${cache.name}`);
        reply.type("text/x-nix-narinfo");
        return req.method === "HEAD" ? reply.send() : reply.send(body);
      };
      api.get("/cache/:name/:file", narinfo);
      api.head("/cache/:name/:file", narinfo);

      api.post("/cache/:name/narinfo", async (req: Req, reply) => {
        const cache = await calls.access(req, "read");
        const hashes = await readJson(req.raw, HashList);
        const started = ctx.fetchGuard.lookupStarted();
        const missing = new Set(await meta.missingNarInfos(cache.name, hashes));
        // A client that learns a path is here (a push about to reference it) counts as a fetch.
        for (const h of hashes)
          if (!missing.has(h) && !ctx.fetchGuard.hit(cache.name, h, started)) missing.add(h);
        return sendJson(reply, [...missing]);
      });

      registerCachixMultipartRoutes(api, ctx, calls, opts);
      registerReportRoutes(api, ctx, calls);
      registerCachixPinRoutes(api, ctx, calls);
      registerCachixAccountRoutes(api, ctx, calls);
      registerOidcRoutes(api, ctx);
    },
    { prefix: "/api/v1" },
  );
}
