// The Nix HTTP binary cache protocol, one cache per first path segment: `/<cache>/nix-cache-info`,
// `/<cache>/<hash>.narinfo`, `/<cache>/<hash>.ls`, `/<cache>/nar/<file>`, `/<cache>/log/<drv>`.
import { open } from "node:fs/promises";
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { formatCacheInfo, parseCacheInfo } from "../../nix/cache-info.js";
import { DEFAULT_STORE_DIR } from "../../nix/store-path.js";
import { authorize } from "../auth.js";
import type { ServerContext } from "../context.js";
import type { CacheRow, Permission } from "../db.js";
import { IngestError, ingestNar, ingestNarInfo } from "../ingest.js";
import { sendFileRange } from "../send-file.js";

/** Cache names: lower-case, URL- and file-safe, and never one of the server's own top-level paths. */
export const CacheName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "cache names are 1-64 characters of a-z, 0-9, '.', '_', '-'")
  .refine((n) => !RESERVED.has(n), "this name is reserved by the server");
const RESERVED = new Set(["api", "healthz", "metrics", "static"]);

const HashPart = /^[0-9a-df-np-sv-z]{32}$/;
const NarFile = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z+_.=-]{0,200}$/, "invalid NAR file name");
const LogName = z
  .string()
  .regex(/^[0-9a-df-np-sv-z]{32}-[0-9A-Za-z+\-._?=]{1,211}$/, "expected a store path base name");

type Params = { cache: string; file?: string };
type Req = FastifyRequest<{ Params: Params }>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function fail(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type("text/plain; charset=utf-8").send(`${message}\n`);
}

export function registerNixRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db, blobs } = ctx;

  /** Resolves the cache and checks permission; replies and returns undefined when refused. */
  function access(req: Req, reply: FastifyReply, needed: Permission): CacheRow | undefined {
    const name = req.params.cache;
    const cache = CacheName.safeParse(name).success ? db.getCache(name) : undefined;
    if (!cache) {
      fail(reply, 404, `no cache named ${JSON.stringify(name)} on this server`);
      return undefined;
    }
    const auth = authorize(db, cache, req.headers.authorization, needed);
    if (!auth.ok) {
      reply.header("www-authenticate", 'Basic realm="nixcache"');
      fail(reply, auth.status, auth.message);
      return undefined;
    }
    (req as { cacheName?: string }).cacheName = cache.name;
    return cache;
  }

  app.get("/healthz", async (_req, reply) => reply.send({ ok: true }));

  // --- nix-cache-info ---
  const cacheInfo = (req: Req, reply: FastifyReply) => {
    const cache = access(req, reply, "read");
    if (!cache) return reply;
    const body = formatCacheInfo({
      storeDir: DEFAULT_STORE_DIR,
      wantMassQuery: true,
      priority: cache.priority,
    });
    return reply.type("text/x-nix-cache-info").send(body);
  };
  app.get("/:cache/nix-cache-info", cacheInfo);
  app.head("/:cache/nix-cache-info", cacheInfo);
  // `nix copy --to` PUTs nix-cache-info when it finds none; ours is generated, so only check it agrees.
  app.put("/:cache/nix-cache-info", async (req: Req, reply) => {
    const cache = access(req, reply, "write");
    if (!cache) return reply;
    const text = (await readSmallBody(req.raw, ctx.maxNarInfoBytes)).toString("utf8");
    let storeDir: string;
    try {
      storeDir = parseCacheInfo(text).storeDir;
    } catch (e) {
      return fail(reply, 400, `invalid nix-cache-info: ${(e as Error).message}`);
    }
    if (storeDir !== DEFAULT_STORE_DIR)
      return fail(reply, 400, `this server serves store ${DEFAULT_STORE_DIR}, not ${storeDir}`);
    return reply.code(204).send();
  });

  // --- <hash>.narinfo and <hash>.ls ---
  const getTopFile = (req: Req, reply: FastifyReply) => {
    const file = req.params.file ?? "";
    const { hash, ext } = splitTopFile(file);
    if (!hash) return fail(reply, 404, `not found: ${file}`);
    if (!access(req, reply, "read")) return reply;
    if (ext === "narinfo") {
      const cache = req.params.cache;
      const body = ctx.narinfos.get(cache, hash, () => db.getNarInfoText(cache, hash));
      if (body === undefined) return fail(reply, 404, `no narinfo for ${hash} in this cache`);
      return reply.type("text/x-nix-narinfo").send(body);
    }
    const f = db.getFile(req.params.cache, "ls", hash);
    if (!f) return fail(reply, 404, `no listing for ${hash} in this cache`);
    if (f.contentEncoding) reply.header("content-encoding", f.contentEncoding);
    return reply.type(f.contentType).send(f.body);
  };
  app.get("/:cache/:file", getTopFile);
  app.head("/:cache/:file", getTopFile);
  app.put("/:cache/:file", async (req: Req, reply) => {
    const file = req.params.file ?? "";
    const { hash, ext } = splitTopFile(file);
    if (!hash)
      return fail(reply, 400, `cannot PUT ${JSON.stringify(file)}: expected <hash>.narinfo or <hash>.ls`);
    if (!access(req, reply, "write")) return reply;
    const body = await readSmallBody(req.raw, ctx.maxNarInfoBytes);
    if (ext === "narinfo") {
      ingestNarInfo({ db, cache: req.params.cache, hash, text: body.toString("utf8") });
      return reply.code(204).send();
    }
    db.putFile(req.params.cache, "ls", hash, {
      body,
      contentType: req.headers["content-type"] ?? "application/json",
      contentEncoding: req.headers["content-encoding"] ?? null,
    });
    return reply.code(204).send();
  });

  // --- NARs ---
  const getNar = async (req: Req, reply: FastifyReply) => {
    const file = req.params.file ?? "";
    if (!NarFile.safeParse(file).success)
      return fail(reply, 400, `invalid NAR file name ${JSON.stringify(file)}`);
    if (!access(req, reply, "read")) return reply;
    const nar = db.visibleNar(req.params.cache, `nar/${file}`);
    if (!nar) return fail(reply, 404, `no NAR nar/${file} in this cache`);
    reply.header("accept-ranges", "bytes").type("application/x-nix-nar");
    const range = parseRange(req.headers.range, nar.fileSize);
    if (range === "unsatisfiable") {
      reply.header("content-range", `bytes */${nar.fileSize}`);
      return fail(reply, 416, `range ${req.headers.range} is outside the ${nar.fileSize}-byte NAR`);
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? nar.fileSize - 1;
    if (range) reply.code(206).header("content-range", `bytes ${start}-${end}/${nar.fileSize}`);
    reply.header("content-length", String(end - start + 1));
    if (req.method === "HEAD" || end < start) return reply.send();
    // Opened before the reply is taken over, so a missing blob is still an ordinary 500.
    const fh = await open(blobs.path(nar.blob), "r");
    reply.hijack();
    reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    void sendFileRange(reply.raw, fh, start, end);
    return reply;
  };
  app.get("/:cache/nar/:file", getNar);
  app.head("/:cache/nar/:file", getNar);
  app.put("/:cache/nar/:file", async (req: Req, reply) => {
    const file = req.params.file ?? "";
    if (!NarFile.safeParse(file).success)
      return fail(reply, 400, `invalid NAR file name ${JSON.stringify(file)}`);
    if (!access(req, reply, "write")) return reply;
    await ctx.track(
      ingestNar({
        db,
        blobs,
        cache: req.params.cache,
        url: `nar/${file}`,
        body: req.raw,
        maxBytes: ctx.maxUploadBytes,
      }),
    );
    return reply.code(204).send();
  });

  // --- build logs ---
  const getLog = (req: Req, reply: FastifyReply) => {
    const file = req.params.file ?? "";
    if (!LogName.safeParse(file).success) return fail(reply, 400, `invalid log name ${JSON.stringify(file)}`);
    if (!access(req, reply, "read")) return reply;
    const f = db.getFile(req.params.cache, "log", file);
    if (!f) return fail(reply, 404, `no build log for ${file} in this cache`);
    if (f.contentEncoding) reply.header("content-encoding", f.contentEncoding);
    return reply.type(f.contentType).send(f.body);
  };
  app.get("/:cache/log/:file", getLog);
  app.head("/:cache/log/:file", getLog);
  app.put("/:cache/log/:file", async (req: Req, reply) => {
    const file = req.params.file ?? "";
    if (!LogName.safeParse(file).success) return fail(reply, 400, `invalid log name ${JSON.stringify(file)}`);
    if (!access(req, reply, "write")) return reply;
    const body = await readSmallBody(req.raw, ctx.maxUploadBytes);
    db.putFile(req.params.cache, "log", file, {
      body,
      contentType: req.headers["content-type"] ?? "text/plain; charset=utf-8",
      contentEncoding: req.headers["content-encoding"] ?? null,
    });
    return reply.code(204).send();
  });

  app.setNotFoundHandler((req, reply) => fail(reply, 404, `not found: ${req.method} ${pathOnly(req.url)}`));
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof IngestError || err instanceof HttpError) {
      if (err.status === 413) reply.header("connection", "close");
      return fail(reply, err.status, err.message);
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return fail(reply, status, (err as Error).message);
    ctx.logError(err);
    return fail(reply, 500, "internal server error");
  });
}

function splitTopFile(file: string): { hash?: string; ext?: "narinfo" | "ls" } {
  const dot = file.indexOf(".");
  const hash = file.slice(0, dot);
  const ext = file.slice(dot + 1);
  if (dot !== 32 || !HashPart.test(hash) || (ext !== "narinfo" && ext !== "ls")) return {};
  return { hash, ext };
}

export function pathOnly(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** One `bytes=` range (multi-range requests get the whole file, which RFC 9110 allows). */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === "" && b === "") return undefined;
  let start: number;
  let end: number;
  if (a === "") {
    const n = Number(b);
    if (n === 0) return "unsatisfiable";
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}

/** Reads a small request body, refusing (413) anything over `limit` bytes. */
async function readSmallBody(raw: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(raw.headers["content-length"] ?? 0);
  if (declared > limit)
    throw new HttpError(413, `body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
