// The Nix HTTP binary cache protocol, one cache per first path segment: `/<cache>/nix-cache-info`,
// `/<cache>/<hash>.narinfo`, `/<cache>/<hash>.ls`, `/<cache>/nar/<file>`, `/<cache>/log/<drv>`,
// and content-addressed derivations' realisations: `/<cache>/realisations/<id>.doi` (Nix 2.4-2.34)
// and `/<cache>/build-trace-v2/<drv>/<output>.doi` (2.35).
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { formatCacheInfo, parseCacheInfo } from "../../nix/cache-info.js";
import { DEFAULT_STORE_DIR, isStoreHash } from "../../nix/store-path.js";
import { LOG_PAGE_HEADER, NIXCACHE_SERVER_HEADER } from "../../ui-api/headers.js";
import { decodeUtf8 } from "../../util/utf8.js";
import { runOf } from "../activity.js";
import { identify, resolveCache } from "../auth/authorize.js";
import type { ServerContext } from "../context.js";
import { HttpError } from "../errors.js";
import { receiveLog, recordLog } from "../ingest/log.js";
import { ingestNar } from "../ingest/nar.js";
import { ingestNarInfo } from "../ingest/narinfo.js";
import { refuseOverQuota } from "../ingest/quota.js";
import { ingestRealisation, realisationName } from "../ingest/realisation.js";
import { CacheName } from "../metadata/names.js";
import type { CacheRow, Permission, RealisationKind, SideFileKind } from "../metadata/types.js";
import type { BlobReader } from "../storage/backend.js";
import { allowBody } from "./continue.js";
import { errorReply } from "./errors.js";
import { parseRange } from "./range.js";
import { sendBlobRange } from "./send-blob.js";

const NarFile = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z+_.=-]{0,200}$/, "invalid NAR file name");
export const LogName = z
  .string()
  .regex(/^[0-9a-df-np-sv-z]{32}-[0-9A-Za-z+\-._?=]{1,211}$/, "expected a store path base name");

type Params = { cache: string; file?: string; drv?: string };
type Req = FastifyRequest<{ Params: Params }>;

function fail(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type("text/plain; charset=utf-8").send(`${message}\n`);
}

export function registerNixRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { meta, storage } = ctx;

  /** Resolves the cache and checks permission; replies and returns undefined when refused. */
  async function access(req: Req, reply: FastifyReply, needed: Permission): Promise<CacheRow | undefined> {
    const name = req.params.cache;
    const found = CacheName.safeParse(name).success ? await meta.getCache(name) : undefined;
    const who = await identify(meta, req.headers.authorization);
    const r = resolveCache(name, found, who, needed);
    if (!r.ok) {
      if (r.status === 401) reply.header("www-authenticate", 'Basic realm="nixcache"');
      fail(reply, r.status, r.message);
      return undefined;
    }
    (req as { cacheName?: string }).cacheName = r.cache.name;
    (req as { tokenId?: string }).tokenId = who.kind === "token" ? who.token.id : undefined;
    return r.cache;
  }

  app.get("/healthz", async (_req, reply) => reply.send({ ok: true }));

  // --- nix-cache-info ---
  const cacheInfo = async (req: Req, reply: FastifyReply) => {
    const cache = await access(req, reply, "read");
    if (!cache) return reply;
    const body = formatCacheInfo({
      storeDir: DEFAULT_STORE_DIR,
      wantMassQuery: true,
      priority: cache.priority,
    });
    // Tells nixcache's clients they may name their CI run and upload reports (src/caches/http-cache.ts).
    return reply.type("text/x-nix-cache-info").header(NIXCACHE_SERVER_HEADER, "1").send(body);
  };
  app.get("/:cache/nix-cache-info", cacheInfo);
  app.head("/:cache/nix-cache-info", cacheInfo);
  // `nix copy --to` PUTs nix-cache-info when it finds none; ours is generated, so only check it agrees.
  app.put("/:cache/nix-cache-info", async (req: Req, reply) => {
    const cache = await access(req, reply, "write");
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
  const getTopFile = async (req: Req, reply: FastifyReply) => {
    const file = req.params.file ?? "";
    const { hash, ext } = splitTopFile(file);
    if (!hash) return fail(reply, 404, `not found: ${file}`);
    if (!(await access(req, reply, "read"))) return reply;
    if (ext === "narinfo") {
      const started = ctx.fetchGuard.lookupStarted();
      const body = await ctx.metrics.narinfoLookup(ctx.narinfos.get(req.params.cache, hash));
      const found = body !== undefined && ctx.fetchGuard.hit(req.params.cache, hash, started);
      // GETs are what substituters send; HEADs come from pushers asking what is missing.
      if (req.method === "GET") ctx.activity.lookedUp(req.params.cache, found);
      if (body === undefined || !found) return fail(reply, 404, `no narinfo for ${hash} in this cache`);
      return reply.type("text/x-nix-narinfo").send(body);
    }
    return sendSideFile(req, reply, "ls", hash, `no listing for ${hash} in this cache`);
  };

  /**
   * Listings and logs are served with their own fixed type, whatever the writer sent, and with
   * `nosniff`: a writer must not be able to make a browser render a log as HTML.
   */
  async function sendSideFile(
    req: Req,
    reply: FastifyReply,
    kind: SideFileKind,
    name: string,
    missing: string,
  ) {
    const f = await meta.getSideFile(req.params.cache, kind, name);
    if (!f) return fail(reply, 404, missing);
    reply.header("x-content-type-options", "nosniff").type(SIDE_FILE_TYPES[kind]);
    if (f.contentEncoding) reply.header("content-encoding", f.contentEncoding);
    if (f.blob === null) return reply.send(f.body);
    const size = await storage.blobSize(f.blob);
    if (size === undefined) throw new Error(`blob ${f.blob} of ${kind} ${name} is missing`);
    reply.header("content-length", String(size));
    if (req.method === "HEAD" || size === 0) return reply.send();
    return sendBlob(reply, await storage.openBlob(f.blob), 0, size - 1);
  }

  /** What a side file is served with: our own type, the writer's encoding. */
  const sideFileType = (req: Req, kind: SideFileKind) => ({
    contentType: SIDE_FILE_TYPES[kind],
    contentEncoding: contentEncoding(req.headers["content-encoding"]),
  });
  app.get("/:cache/:file", getTopFile);
  app.head("/:cache/:file", getTopFile);
  app.put("/:cache/:file", async (req: Req, reply) => {
    const file = req.params.file ?? "";
    const { hash, ext } = splitTopFile(file);
    if (!hash)
      return fail(reply, 400, `cannot PUT ${JSON.stringify(file)}: expected <hash>.narinfo or <hash>.ls`);
    const cache = await access(req, reply, "write");
    if (!cache) return reply;
    // A listing counts in the quota: a full cache refuses it before its body is read.
    const declared = req.headers["content-length"];
    if (ext === "ls")
      await refuseOverQuota(meta, cache, declared === undefined ? undefined : Number(declared));
    const body = await readSmallBody(req.raw, ctx.maxNarInfoBytes);
    if (ext === "narinfo") {
      const { fileSize } = await ingestNarInfo(meta, {
        cache: req.params.cache,
        hash,
        text: decodeUtf8(body, "narinfo"),
        onMissing: ctx.onMissingReferences,
        log: (e) => ctx.logEvent(e),
      });
      ctx.activity.pushed(
        req.params.cache,
        (req as { tokenId?: string }).tokenId ?? null,
        runOf(req.headers),
        fileSize,
      );
    } else
      await meta.putSideFile(req.params.cache, "ls", hash, { ...sideFileType(req, "ls"), body, blob: null });
    return reply.code(204).send();
  });

  // --- NARs ---
  const getNar = async (req: Req, reply: FastifyReply) => {
    const file = req.params.file ?? "";
    if (!NarFile.safeParse(file).success)
      return fail(reply, 400, `invalid NAR file name ${JSON.stringify(file)}`);
    const cache = await access(req, reply, "read");
    if (!cache) return reply;
    const nar = await meta.visibleNar(req.params.cache, `nar/${file}`);
    if (!nar) return fail(reply, 404, `no NAR nar/${file} in this cache`);
    // Anyone may read a public cache, so a URL that lets anyone read the NAR gives nothing away;
    // a private cache's NARs are only ever sent after the token was checked.
    if (req.method === "GET" && ctx.narRedirect && cache.isPublic && storage.presignGet) {
      const url = await storage.presignGet(nar.blob, NAR_REDIRECT_TTL_MS, {
        contentType: "application/x-nix-nar",
      });
      return reply.code(302).header("location", url).header("cache-control", "no-store").send();
    }
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
    return sendBlob(reply, await storage.openBlob(nar.blob, start), start, end);
  };
  app.get("/:cache/nar/:file", getNar);
  app.head("/:cache/nar/:file", getNar);
  app.put("/:cache/nar/:file", async (req: Req, reply) => {
    const file = req.params.file ?? "";
    if (!NarFile.safeParse(file).success)
      return fail(reply, 400, `invalid NAR file name ${JSON.stringify(file)}`);
    const cache = await access(req, reply, "write");
    if (!cache) return reply;
    // Before the body is asked for (100-continue): a full cache is refused without reading it.
    const declared = req.headers["content-length"];
    await refuseOverQuota(meta, cache, declared === undefined ? undefined : Number(declared));
    allowBody(req.raw);
    await ctx.shutdownWaitsFor(
      ingestNar(ctx, {
        cache: req.params.cache,
        url: `nar/${file}`,
        body: req.raw,
        limits: { maxBytes: ctx.maxUploadBytes, maxNarBytes: ctx.maxNarBytes },
      }),
    );
    return reply.code(204).send();
  });

  // --- build logs ---
  const getLog = async (req: Req, reply: FastifyReply) => {
    const file = req.params.file ?? "";
    if (!LogName.safeParse(file).success) return fail(reply, 400, `invalid log name ${JSON.stringify(file)}`);
    if (!(await access(req, reply, "read"))) return reply;
    return sendSideFile(req, reply, "log", file, `no build log for ${file} in this cache`);
  };
  app.get("/:cache/log/:file", getLog);
  app.head("/:cache/log/:file", getLog);
  app.put("/:cache/log/:file", async (req: Req, reply) => {
    const file = req.params.file ?? "";
    if (!LogName.safeParse(file).success) return fail(reply, 400, `invalid log name ${JSON.stringify(file)}`);
    const cache = await access(req, reply, "write");
    if (!cache) return reply;
    // A log counts in the quota: a full cache refuses it before its body is read.
    const declared = req.headers["content-length"];
    await refuseOverQuota(meta, cache, declared === undefined ? undefined : Number(declared));
    allowBody(req.raw);
    const log = await ctx.shutdownWaitsFor(receiveLog(ctx, req.raw, ctx.maxLogBytes));
    await recordLog(ctx, req.params.cache, file, log, sideFileType(req, "log"));
    // Where the dashboard shows it, for nixcache's clients (a commit status links there).
    const page = `${ctx.publicUrl()}/ui/#/cache/${encodeURIComponent(req.params.cache)}/log/${encodeURIComponent(file)}`;
    return reply.code(204).header(LOG_PAGE_HEADER, page).send();
  });

  // --- realisations of content-addressed derivations' outputs (ingest/realisation.ts) ---
  // Authorised like narinfos; served (as JSON, byte for byte as uploaded) only once the output
  // path they name is; their bytes count in the cache's quota.
  const realisationRoutes = (kind: RealisationKind) => {
    const nameOf = (req: Req) => realisationName(kind, { file: req.params.file ?? "", drv: req.params.drv });
    const badName = (req: Req, reply: FastifyReply) =>
      fail(
        reply,
        400,
        kind === "realisations"
          ? `invalid realisation name ${JSON.stringify(req.params.file ?? "")}: expected realisations/sha256:<hex>!<output>.doi`
          : `invalid build trace name ${JSON.stringify(`${req.params.drv ?? ""}/${req.params.file ?? ""}`)}: expected build-trace-v2/<hash>-<name>.drv/<output>.doi`,
      );
    const get = async (req: Req, reply: FastifyReply) => {
      const name = nameOf(req);
      if (!name) return badName(req, reply);
      if (!(await access(req, reply, "read"))) return reply;
      const text = await meta.getRealisation(req.params.cache, kind, name.key);
      if (text === undefined) return fail(reply, 404, `no ${kind} entry ${name.key} in this cache`);
      return reply.header("x-content-type-options", "nosniff").type("application/json").send(text);
    };
    const put = async (req: Req, reply: FastifyReply) => {
      const name = nameOf(req);
      if (!name) return badName(req, reply);
      const cache = await access(req, reply, "write");
      if (!cache) return reply;
      const declared = req.headers["content-length"];
      await refuseOverQuota(meta, cache, declared === undefined ? undefined : Number(declared));
      const body = await readSmallBody(req.raw, MAX_REALISATION_BYTES);
      await ingestRealisation(meta, { cache: req.params.cache, kind, key: name.key, body });
      return reply.code(204).send();
    };
    return { get, put };
  };
  for (const [kind, route] of [
    ["realisations", "/:cache/realisations/:file"],
    ["build-trace-v2", "/:cache/build-trace-v2/:drv/:file"],
  ] as const) {
    const r = realisationRoutes(kind);
    app.get(route, r.get);
    app.head(route, r.get);
    app.put(route, r.put);
  }

  app.setNotFoundHandler((req, reply) => fail(reply, 404, `not found: ${req.method} ${pathOnly(req.url)}`));
  // The Nix protocol's errors are plain text; a refused oversized body also ends the connection,
  // since the rest of it is never read.
  app.setErrorHandler((err, _req, reply) => {
    const { status, message, headers } = errorReply(err, ctx.logError);
    reply.headers(headers);
    if (status === 413) reply.header("connection", "close");
    return fail(reply, status, message);
  });
}

/**
 * The largest realisation accepted: Nix 2.8's list every CA input's realisation (about 140 bytes
 * each), so a derivation with thousands of inputs still fits; 2.35's are a few hundred bytes.
 */
const MAX_REALISATION_BYTES = 1024 * 1024;

/** How long a NAR redirect's URL works: enough to start the download, no longer. */
const NAR_REDIRECT_TTL_MS = 5 * 60 * 1000;

const SIDE_FILE_TYPES: Record<SideFileKind, string> = {
  ls: "application/json",
  log: "text/plain; charset=utf-8",
};

/** A writer's Content-Encoding (Nix's `log-compression`, `ls-compression`), if it is a plain token. */
function contentEncoding(h: string | undefined): string | null {
  if (h === undefined || h === "" || h === "identity") return null;
  if (!/^[a-z0-9-]{1,32}$/i.test(h))
    throw new HttpError("invalid", `unsupported Content-Encoding ${JSON.stringify(h.slice(0, 40))}`);
  return h.toLowerCase();
}

/** Takes the reply over and streams bytes `start..end` of the blob on it (headers already set). */
function sendBlob(reply: FastifyReply, blob: BlobReader, start: number, end: number): FastifyReply {
  reply.hijack();
  reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  void sendBlobRange(reply.raw, blob, start, end);
  return reply;
}

function splitTopFile(file: string): { hash?: string; ext?: "narinfo" | "ls" } {
  const dot = file.indexOf(".");
  const hash = file.slice(0, dot);
  const ext = file.slice(dot + 1);
  if (dot !== 32 || !isStoreHash(hash) || (ext !== "narinfo" && ext !== "ls")) return {};
  return { hash, ext };
}

export function pathOnly(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

/** Reads a small request body, refusing (413) anything over `limit` bytes. */
async function readSmallBody(raw: IncomingMessage, limit: number): Promise<Buffer> {
  allowBody(raw);
  const declared = Number(raw.headers["content-length"] ?? 0);
  if (declared > limit)
    throw new HttpError("tooLarge", `body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError("tooLarge", `body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
