// The Cachix API's multipart NAR upload: create, presigned part URLs, complete, abort, and the
// part PUTs themselves (ingest/multipart.ts does the work). With direct storage (S3) the part
// URLs are the object store's, and the PUT route here is never handed out.
import type { FastifyInstance } from "fastify";
import { CompletedMultipartUpload, SigningData } from "../../cachix-api/schemas.js";
import { runOf } from "../activity.js";
import type { ServerContext } from "../context.js";
import { ApiError, DbError } from "../errors.js";
import { MultipartUploads } from "../ingest/multipart.js";
import { refuseOverQuota } from "../ingest/quota.js";
import type { CacheRow, MultipartUpload } from "../metadata/types.js";
import { type CachixRequests, drain, type Req, readJson, sendJson } from "./cachix-request.js";
import { bodyAfterContinue } from "./continue.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function partNumber(s: string | undefined): number | undefined {
  const n = Number(s);
  return Number.isInteger(n) && n >= 1 && n <= 10000 ? n : undefined;
}

export function registerCachixMultipartRoutes(
  api: FastifyInstance,
  ctx: ServerContext,
  calls: CachixRequests,
  opts: { partUrlTtlMs?: number },
): void {
  const { meta } = ctx;
  const uploads = new MultipartUploads({
    meta,
    storage: ctx.storage,
    maxBytes: ctx.maxUploadBytes,
    maxNarBytes: ctx.maxNarBytes,
    shutdownWaitsFor: (w) => ctx.shutdownWaitsFor(w),
    partUrlTtlMs: opts.partUrlTtlMs,
    onMissing: ctx.onMissingReferences,
    log: (e) => ctx.logEvent(e),
  });

  async function openUpload(req: Req, cache: CacheRow): Promise<MultipartUpload> {
    const narId = req.params.narId ?? "";
    const up = UUID.test(narId) ? await meta.getMultipart(narId) : undefined;
    if (!up || up.cache !== cache.name || up.uploadId !== req.query.uploadId)
      throw new ApiError(
        "notFound",
        `no multipart upload ${narId} with that uploadId in cache ${cache.name}`,
      );
    return up;
  }

  api.post("/cache/:name/multipart-nar", async (req: Req, reply) => {
    const cache = await calls.access(req, "write");
    const c = req.query.compression ?? (cache.compression === "XZ" ? "xz" : "zst");
    if (c !== "zst" && c !== "xz") throw new ApiError("invalid", `Wrong compression method: ${c}`);
    await drain(req.raw);
    // A full cache is refused before any part is sent; `complete` checks the NAR's own size.
    await refuseOverQuota(meta, cache, undefined);
    const caller = await calls.caller(req);
    const tokenId = caller.kind === "anonymous" ? null : caller.token.id;
    const refusal = (message: string) => new ApiError("tooLarge", message, { status: 429 });
    // A quick refusal before storage opens an upload of its own (S3); the store's insert is what
    // holds the limit, counting and inserting at once across processes and replicas.
    if (tokenId !== null && (await meta.openMultipartsOf(tokenId)) >= ctx.maxOpenUploads)
      throw refusal(
        `this token has ${ctx.maxOpenUploads} multipart uploads open, the server's limit: complete or abort some first`,
      );
    const up = await uploads
      .create({
        cache: cache.name,
        compression: c === "xz" ? "xz" : "zstd",
        tokenId,
        maxOpen: ctx.maxOpenUploads,
      })
      .catch((e: unknown) => {
        if (e instanceof DbError && e.code === "tooLarge") throw refusal(e.message);
        throw e;
      });
    return sendJson(reply, { narId: up.narId, uploadId: up.uploadId });
  });

  api.post("/cache/:name/multipart-nar/:narId", async (req: Req, reply) => {
    const cache = await calls.access(req, "write");
    const up = await openUpload(req, cache);
    const part = partNumber(req.query.partNumber);
    if (part === undefined)
      throw new ApiError(
        "invalid",
        `partNumber must be an integer from 1 to 10000, got ${JSON.stringify(req.query.partNumber ?? null)}`,
      );
    const body = await readJson(req.raw, SigningData);
    if (up.state !== "open") throw new ApiError("invalid", `upload ${up.narId} was already ${up.state}`);
    return sendJson(reply, {
      uploadUrl: await uploads.partUrl(ctx.publicUrl(), up, part, body.contentMD5),
    });
  });

  api.post("/cache/:name/multipart-nar/:narId/complete", async (req: Req, reply) => {
    const cache = await calls.access(req, "write");
    const up = await openUpload(req, cache);
    const body = await readJson(req.raw, CompletedMultipartUpload);
    await uploads.complete(up, body);
    const caller = await calls.caller(req);
    // complete checked cFileSize against the assembled NAR: it is the size stored.
    ctx.activity.pushed(
      cache.name,
      caller.kind === "anonymous" ? null : caller.token.id,
      runOf(req.headers),
      body.narInfoCreate.cFileSize,
    );
    return reply.code(200).send();
  });

  api.post("/cache/:name/multipart-nar/:narId/abort", async (req: Req, reply) => {
    const cache = await calls.access(req, "write");
    const up = await openUpload(req, cache);
    await drain(req.raw);
    await uploads.abort(up);
    return reply.code(200).send();
  });

  // Presigned: the URL is the authority, no Authorization header is needed or looked at.
  api.put("/upload/:narId/:part", async (req: Req, reply) => {
    const narId = req.params.narId ?? "";
    const part = partNumber(req.params.part);
    if (!UUID.test(narId) || part === undefined) throw new ApiError("notFound", "no such part URL");
    const md5 = req.headers["content-md5"];
    const etag = await uploads.receivePart(
      narId,
      part,
      req.query,
      typeof md5 === "string" ? md5 : undefined,
      bodyAfterContinue(req.raw),
    );
    return reply.code(200).header("etag", etag).send();
  });
}
