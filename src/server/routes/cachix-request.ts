// What every Cachix-API handler needs: who is calling, the cache and the permission on it, and
// bounded JSON in and out. Like Cachix, a Bearer with an empty token is anonymous and every
// refusal is 401 (404 only for a cache that does not exist).
import type { IncomingMessage } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import type { Permission as CachixPermission } from "../../cachix-api/schemas.js";
import { NixcacheError } from "../../util/errors.js";
import { decodeUtf8 } from "../../util/utf8.js";
import { type Identity, identify, permissionOn, resolveCache } from "../auth/authorize.js";
import { describeGrant } from "../auth/tokens.js";
import { ApiError } from "../errors.js";
import { CacheName } from "../metadata/names.js";
import type { MetadataStore } from "../metadata/store.js";
import type { AccountRow, CacheRow, Permission, TokenRow } from "../metadata/types.js";
import { allowBody } from "./continue.js";

export const JSON_LIMIT = 4 * 1024 * 1024;
export const TO_CACHIX: Record<Permission, CachixPermission> = {
  read: "Read",
  write: "Write",
  admin: "Admin",
};
export const FROM_CACHIX: Record<CachixPermission, Permission> = {
  Read: "read",
  Write: "write",
  Admin: "admin",
};

export type Req = FastifyRequest<{
  Params: { name?: string; file?: string; narId?: string; part?: string };
  Querystring: Record<string, string | undefined>;
}>;

/** Who is calling: nobody, a cache token (an oidc token's too), or a personal token with its account. */
export type Caller =
  | { kind: "anonymous"; identity: Identity }
  | { kind: "cache"; identity: Identity; token: TokenRow }
  | { kind: "personal"; identity: Identity; token: TokenRow; account: AccountRow };

export class CachixRequests {
  constructor(private readonly meta: MetadataStore) {}

  /** The caller; an invalid token is refused even where none is needed. */
  async caller(req: Req): Promise<Caller> {
    const identity = await identify(this.meta, req.headers.authorization);
    if (identity.kind === "anonymous") return { kind: "anonymous", identity };
    if (identity.kind === "invalid") throw new ApiError("unauthorized", identity.message);
    const token = identity.token;
    if (token.kind === "personal") {
      const account = token.account === null ? undefined : await this.meta.account(token.account);
      if (!account) throw new ApiError("unauthorized", "this personal token belongs to no account");
      return { kind: "personal", identity, token, account };
    }
    return { kind: "cache", identity, token };
  }

  async personal(req: Req, what: string): Promise<{ token: TokenRow; account: AccountRow }> {
    const c = await this.caller(req);
    if (c.kind !== "personal")
      throw new ApiError(
        "unauthorized",
        c.kind === "anonymous"
          ? `${what} needs a personal token`
          : `${what} needs a personal token; this is a cache token (${describeGrant(c.token)})`,
      );
    return c;
  }

  async findCache(name: string | undefined): Promise<CacheRow> {
    const cache = name && CacheName.safeParse(name).success ? await this.meta.getCache(name) : undefined;
    if (!cache) throw new ApiError("notFound", `Binary cache ${name} does not exist.`);
    return cache;
  }

  /**
   * The cache, when the caller may do `needed` on it; 401 otherwise, and alike whether the cache
   * is private or does not exist (404 for that only to personal tokens: resolveCache).
   */
  async access(req: Req, needed: Permission): Promise<CacheRow> {
    const name = req.params.name ?? "";
    const found = CacheName.safeParse(name).success ? await this.meta.getCache(name) : undefined;
    const r = resolveCache(name, found, (await this.caller(req)).identity, needed);
    if (!r.ok) throw new ApiError(r.status === 404 ? "notFound" : "unauthorized", r.message);
    (req as { cacheName?: string }).cacheName = r.cache.name;
    return r.cache;
  }

  /** The highest permission the caller has on the cache, or undefined. */
  async permissionOn(req: Req, cache: CacheRow): Promise<Permission | undefined> {
    return permissionOn(cache, (await this.caller(req)).identity);
  }
}

export function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type("application/json").send(JSON.stringify(value));
}

/** Reads and ignores a body (calls that take none), still bounded. */
export async function drain(raw: IncomingMessage): Promise<void> {
  allowBody(raw);
  let size = 0;
  for await (const c of raw as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > JSON_LIMIT) throw new ApiError("tooLarge", "request body too large");
  }
}

/** Reads a bounded JSON body and checks it against the schema; 400 names what was wrong. */
export async function readJson<S extends z.ZodType>(raw: IncomingMessage, schema: S): Promise<z.infer<S>> {
  allowBody(raw);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of raw as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > JSON_LIMIT) throw new ApiError("tooLarge", `request body exceeds ${JSON_LIMIT} bytes`);
    chunks.push(c);
  }
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8(Buffer.concat(chunks), "request body"));
  } catch (e) {
    if (e instanceof NixcacheError) throw new ApiError("invalid", e.message);
    throw new ApiError("invalid", "request body is not valid JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new ApiError(
      "invalid",
      `invalid request body: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}
