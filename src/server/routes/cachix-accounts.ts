// The Cachix API's account calls: the user of a personal token, and the tokens it mints and lists.
import type { FastifyInstance } from "fastify";
import { TokenCreate } from "../../cachix-api/schemas.js";
import { mintToken } from "../auth/tokens.js";
import type { ServerContext } from "../context.js";
import { ApiError } from "../errors.js";
import {
  type CachixRequests,
  FROM_CACHIX,
  type Req,
  readJson,
  sendJson,
  TO_CACHIX,
} from "./cachix-request.js";

export function registerCachixAccountRoutes(api: FastifyInstance, ctx: ServerContext, calls: CachixRequests) {
  const { meta } = ctx;

  api.get("/user", async (req: Req, reply) => {
    const { account } = await calls.personal(req, "GET /user");
    return sendJson(reply, {
      id: account.id,
      githubUsername: account.slug,
      email: account.email,
      fullname: account.fullname,
      slug: account.slug,
    });
  });

  api.post("/token", async (req: Req, reply) => {
    const { account } = await calls.personal(req, "creating tokens");
    const body = await readJson(req.raw, TokenCreate);
    const cache = await calls.findCache(body.cacheName);
    if (cache.owner !== account.slug)
      throw new ApiError("unauthorized", `account ${account.slug} does not own cache ${cache.name}`);
    const expiresAt = body.expiresAt ? Date.parse(body.expiresAt) : null;
    if (expiresAt !== null && expiresAt <= Date.now())
      throw new ApiError("invalid", "expiresAt is in the past");
    const { token, row } = await mintToken(meta, {
      kind: "cache",
      cache: cache.name,
      perm: FROM_CACHIX[body.permission],
      expiresAt,
      description: body.description ?? undefined,
    });
    return sendJson(reply, { token, id: row.id });
  });

  api.get("/token", async (req: Req, reply) => {
    const { account } = await calls.personal(req, "listing tokens");
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return sendJson(
      reply,
      (await meta.tokensOfAccount(account.slug)).map((t) => ({
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
}
