// GET /api/cache-config: the caches a caller may read, each with its substituter URL and public
// keys, and the OIDC audience to ask identity tokens for (ui-api/cache-config.ts has the shape).
// Anonymous callers see the public caches; a token sees the private caches it may read too. An
// invalid token is refused (401) rather than treated as anonymous, as everywhere else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CACHE_CONFIG_PATH, type CacheConfig, type CacheConfigEntry } from "../../ui-api/cache-config.js";
import { authorize, identify, resolveCache } from "../auth/authorize.js";
import type { ServerContext } from "../context.js";
import { CacheName } from "../metadata/names.js";
import type { MetadataStore } from "../metadata/store.js";
import type { CacheRow } from "../metadata/types.js";
import { errorReply } from "./errors.js";

/** Keys Nix should trust for the cache: the managed key (when it signs) and the clients' keys. */
export async function publishedKeys(meta: MetadataStore, cache: CacheRow): Promise<string[]> {
  return [...(cache.managed ? [cache.publicKey] : []), ...(await meta.clientKeys(cache.name))];
}

function send(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return reply
    .code(status)
    .type("application/json")
    .header("cache-control", "no-store")
    .send(JSON.stringify(value));
}

export function registerCacheConfigRoute(app: FastifyInstance, ctx: ServerContext): void {
  const entry = async (cache: CacheRow): Promise<CacheConfigEntry> => ({
    name: cache.name,
    substituter: `${ctx.publicUrl()}/${cache.name}`,
    publicKeys: await publishedKeys(ctx.meta, cache),
    private: !cache.isPublic,
  });

  app.get(
    CACHE_CONFIG_PATH,
    async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
      try {
        const who = await identify(ctx.meta, req.headers.authorization);
        if (who.kind === "invalid") return send(reply, 401, { error: who.message });
        let rows: CacheRow[];
        const name = req.query.cache;
        if (name !== undefined) {
          const found = CacheName.safeParse(name).success ? await ctx.meta.getCache(name) : undefined;
          const r = resolveCache(name, found, who, "read");
          // A private cache the caller may not read is as absent as one that does not exist.
          if (!r.ok) return send(reply, r.status === 401 ? 404 : r.status, { error: r.message });
          rows = [r.cache];
        } else {
          rows = (await ctx.meta.listCaches()).filter((c) => authorize(c, who, "read").ok);
        }
        const body: CacheConfig = {
          caches: await Promise.all(rows.map(entry)),
          oidcAudience: ctx.oidcAudience ?? null,
        };
        return send(reply, 200, body);
      } catch (e) {
        const { status, message, headers } = errorReply(e, ctx.logError);
        return send(reply.headers(headers), status, { error: message });
      }
    },
  );
}
