// Multipart NAR uploads of the Cachix API. Parts go to presigned URLs on this server (an HMAC
// binds cache, NAR id, upload id, part number, Content-MD5 and expiry), are stored as files under
// <data>/multipart/<narId>/, and `complete` streams them in order through the same verified ingest
// as the Nix side: the NAR's file hash and size, NAR hash and size must match `narInfoCreate`
// before anything is stored, and the narinfo is signed by the cache's key when it is managed.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { CompletedMultipartUpload, NarInfoCreate } from "../cachix-api/schemas.js";
import { narExtension } from "../codec/compression.js";
import { formatHashNix32, parseHash } from "../nix/hash.js";
import { formatNarInfo, type NarInfo, narInfoFingerprint } from "../nix/narinfo.js";
import { nix32Encode } from "../nix/nix32.js";
import { parsePublicKey, verifyRaw } from "../nix/signing.js";
import { type CachixDb, cachixDb, type MultipartRow } from "./cachix-db.js";
import type { ServerContext } from "./context.js";
import type { ServerDb } from "./db.js";
import { IngestError, ingestNarInfo, receiveNarBlob } from "./ingest.js";

/** How long a part URL works after it is handed out. */
export const PART_URL_TTL_MS = 60 * 60 * 1000;

export interface PartUrlFields {
  cache: string;
  narId: string;
  uploadId: string;
  part: number;
  contentMD5: string;
  expires: number;
}

export class CachixUploads {
  private readonly store: CachixDb;
  private readonly dir: string;
  /** Uploads whose `complete` is running: their parts must not change under it. */
  private readonly completing = new Set<string>();

  constructor(
    private readonly ctx: ServerContext,
    dataDir: string,
    private readonly ttlMs = PART_URL_TTL_MS,
  ) {
    this.store = cachixDb(ctx.db);
    this.dir = join(dataDir, "multipart");
  }

  private sign(f: PartUrlFields): string {
    const msg = [f.cache, f.narId, f.uploadId, f.part, f.contentMD5, f.expires].join("\n");
    return createHmac("sha256", this.store.secret("part-url")).update(msg).digest("hex");
  }

  /** The presigned URL for one part (`base` is this server's origin as the client reached it). */
  partUrl(base: string, up: MultipartRow, part: number, contentMD5: string): string {
    const expires = Date.now() + this.ttlMs;
    const sig = this.sign({
      cache: up.cache,
      narId: up.narId,
      uploadId: up.uploadId,
      part,
      contentMD5,
      expires,
    });
    const q = new URLSearchParams({ uploadId: up.uploadId, expires: String(expires), sig });
    return `${base}/api/v1/upload/${up.narId}/${part}?${q}`;
  }

  /** Receives one part sent to a presigned URL; returns its quoted ETag (the MD5 in hex, as S3 does). */
  async receivePart(
    narId: string,
    part: number,
    q: { uploadId?: string; expires?: string; sig?: string },
    contentMD5: string | undefined,
    body: IncomingMessage,
  ): Promise<string> {
    const up = this.store.upload(narId);
    if (!up || up.uploadId !== q.uploadId)
      throw new IngestError(404, `no upload ${narId} with that uploadId`);
    const expires = Number(q.expires);
    if (!contentMD5) throw new IngestError(400, "the Content-MD5 header is required");
    const expected = this.sign({ cache: up.cache, narId, uploadId: up.uploadId, part, contentMD5, expires });
    const given = Buffer.from(q.sig ?? "", "hex");
    if (given.length !== 32 || !timingSafeEqual(given, Buffer.from(expected, "hex")))
      throw new IngestError(
        403,
        "signature does not match: the URL was altered, or Content-MD5 differs from the one it was issued for",
      );
    if (!(expires > Date.now())) throw new IngestError(403, "this part URL has expired: ask for a new one");
    if (up.state !== "open" || this.completing.has(narId))
      throw new IngestError(
        404,
        `upload ${narId} is ${up.state === "open" ? "being completed" : up.state}: its part URLs no longer work`,
      );

    const dir = join(this.dir, narId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `${part}.${randomBytes(6).toString("hex")}.tmp`);
    const fh = await open(tmp, "wx", 0o600);
    const md5 = createHash("md5");
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.ctx.maxUploadBytes)
          throw new IngestError(413, `part exceeds the limit of ${this.ctx.maxUploadBytes} bytes`);
        md5.update(chunk);
        await fh.write(chunk);
      }
      await fh.close();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      if (e instanceof IngestError) throw e;
      throw new IngestError(400, `part upload was interrupted after ${size} bytes`);
    }
    const digest = md5.digest();
    if (digest.toString("base64") !== contentMD5) {
      await unlink(tmp).catch(() => {});
      throw new IngestError(400, `part ${part} does not match its Content-MD5 (corrupted in transit?)`);
    }
    // complete/abort may have won while the body streamed: then this part is dropped.
    const now = this.store.upload(narId);
    if (now?.state !== "open" || this.completing.has(narId)) {
      await unlink(tmp).catch(() => {});
      throw new IngestError(404, `upload ${narId} ended while part ${part} was being sent`);
    }
    await rename(tmp, join(dir, String(part)));
    const etag = `"${digest.toString("hex")}"`;
    this.store.putPart(narId, part, etag, size);
    return etag;
  }

  /** Drops an open upload and its parts. */
  async abort(up: MultipartRow): Promise<void> {
    if (this.completing.has(up.narId)) throw new IngestError(409, `upload ${up.narId} is being completed`);
    if (up.state === "completed") throw new IngestError(400, `upload ${up.narId} was already completed`);
    this.store.finishUpload(up.narId, "aborted");
    await this.dropParts(up.narId);
  }

  private async dropParts(narId: string): Promise<void> {
    this.store.deleteParts(narId);
    await rm(join(this.dir, narId), { recursive: true, force: true });
  }

  /** Verifies the parts and the NAR against what the client claims, then publishes the narinfo. */
  async complete(up: MultipartRow, body: CompletedMultipartUpload): Promise<void> {
    if (up.state !== "open") throw new IngestError(400, `upload ${up.narId} was already ${up.state}`);
    if (this.completing.has(up.narId))
      throw new IngestError(409, `upload ${up.narId} is already being completed`);
    this.completing.add(up.narId);
    try {
      await this.ctx.track(this.verifyAndCommit(up, body));
    } finally {
      this.completing.delete(up.narId);
    }
  }

  private async verifyAndCommit(up: MultipartRow, body: CompletedMultipartUpload): Promise<void> {
    const nic = body.narInfoCreate;
    const settings = this.store.settings(up.cache);
    // Everything that can be checked without reading the NAR is checked first.
    if (!body.parts) throw new IngestError(400, "parts is null: every uploaded part's ETag must be listed");
    const listed = [...body.parts].sort((a, b) => a.partNumber - b.partNumber);
    const stored = new Map(this.store.parts(up.narId).map((p) => [p.part, p]));
    listed.forEach((p, i) => {
      if (p.partNumber !== i + 1)
        throw new IngestError(400, `parts must be numbered 1..${listed.length} without gaps or repeats`);
      const s = stored.get(p.partNumber);
      if (!s) throw new IngestError(400, `part ${p.partNumber} was never uploaded`);
      if (unquote(s.etag) !== unquote(p.eTag))
        throw new IngestError(
          400,
          `part ${p.partNumber}: ETag ${p.eTag} does not match the uploaded part (${s.etag})`,
        );
    });
    const storePath = `/nix/store/${nic.cStoreHash}-${nic.cStoreSuffix}`;
    const references = [...nic.cReferences].sort();
    const narHash = parseHash(nic.cNarHash);
    const sigs: string[] = [];
    if (nic.cSig !== null) sigs.push(this.clientSignature(up.cache, nic, storePath, references));
    else if (!settings.managed)
      throw new IngestError(
        400,
        `cache ${up.cache} is self-signed (no managed key): cSig is required (set CACHIX_SIGNING_KEY)`,
      );

    const dir = join(this.dir, up.narId);
    async function* concatenated(): AsyncGenerator<Buffer> {
      for (const p of listed)
        yield* createReadStream(join(dir, String(p.partNumber)), { highWaterMark: 1 << 20 });
    }
    const blob = await receiveNarBlob({
      blobs: this.ctx.blobs,
      body: Readable.from(concatenated(), { objectMode: false }),
      compression: up.compression,
      maxBytes: this.ctx.maxUploadBytes,
    });
    const r = blob.received;
    const mismatch = (what: string, claimed: string | number, actual: string | number) =>
      new IngestError(
        400,
        `narInfoCreate for ${storePath} claims ${what} ${claimed}, but the uploaded NAR has ${actual}`,
      );
    const err =
      r.fileHash.digest.toString("hex") !== nic.cFileHash
        ? mismatch("cFileHash", nic.cFileHash, r.fileHash.digest.toString("hex"))
        : r.fileSize !== nic.cFileSize
          ? mismatch("cFileSize", nic.cFileSize, r.fileSize)
          : formatHashNix32(r.narHash) !== formatHashNix32(narHash)
            ? mismatch("cNarHash", nic.cNarHash, formatHashNix32(r.narHash))
            : r.narSize !== nic.cNarSize
              ? mismatch("cNarSize", nic.cNarSize, r.narSize)
              : undefined;
    if (err) {
      await blob.discard();
      throw err;
    }
    const url = `nar/${nix32Encode(r.fileHash.digest)}${narExtension(up.compression)}`;
    await blob.commit(this.ctx.db, up.cache, url);
    const ni: NarInfo = {
      storePath,
      url,
      compression: up.compression,
      fileHash: r.fileHash,
      fileSize: r.fileSize,
      narHash: r.narHash,
      narSize: r.narSize,
      references,
      deriver: nic.cDeriver === "unknown-deriver" ? undefined : nic.cDeriver,
      sigs,
      extra: [],
    };
    ingestNarInfo({
      db: this.ctx.db,
      cache: up.cache,
      hash: nic.cStoreHash,
      text: formatNarInfo(ni),
      sign: settings.managed,
    });
    this.store.finishUpload(up.narId, "completed");
    await this.dropParts(up.narId);
  }

  /** `<keyname>:<cSig>` for the registered client key that verifies cSig; refuses otherwise. */
  private clientSignature(
    cache: string,
    nic: NarInfoCreate,
    storePath: string,
    references: string[],
  ): string {
    const sig = Buffer.from(nic.cSig ?? "", "base64");
    const keys = this.store.userKeys(cache).map((k) => parsePublicKey(k));
    if (keys.length === 0)
      throw new IngestError(
        400,
        `cSig is set but cache ${cache} has no signing key registered: POST /cache/${cache}/key with its public key first`,
      );
    const fp = narInfoFingerprint({
      storePath,
      narHash: parseHash(nic.cNarHash),
      narSize: nic.cNarSize,
      references,
    });
    const key = keys.find((k) => verifyRaw(k, fp, sig));
    if (!key)
      throw new IngestError(400, `cSig does not verify with any signing key registered for cache ${cache}`);
    return `${key.name}:${sig.toString("base64")}`;
  }
}

/**
 * Drops multipart uploads that were left open and idle for longer than a part URL lives (clients
 * that died or gave up): each is marked aborted and its part files removed, as an abort would. An
 * upload counts as idle from its creation or its last part received, whichever is later, so a
 * long upload still receiving parts is kept. Also removes part directories of uploads that are
 * not open (left by a crash between the state change and the removal). Runs at server start,
 * in one process only (the primary of a cluster), before any request is served.
 */
export async function sweepStaleUploads(
  db: ServerDb,
  dataDir: string,
  ttlMs = PART_URL_TTL_MS,
  now = Date.now(),
): Promise<{ aborted: string[] }> {
  const store = cachixDb(db);
  const root = join(dataDir, "multipart");
  const aborted: string[] = [];
  for (const narId of store.openUploadsBefore(now - ttlMs)) {
    const dir = join(root, narId);
    let last = 0;
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      const st = await stat(join(dir, f)).catch(() => undefined);
      if (st) last = Math.max(last, st.mtimeMs);
    }
    if (last >= now - ttlMs) continue;
    if (!store.finishUpload(narId, "aborted")) continue;
    store.deleteParts(narId);
    await rm(dir, { recursive: true, force: true });
    aborted.push(narId);
  }
  for (const narId of await readdir(root).catch(() => [] as string[])) {
    if (store.upload(narId)?.state === "open") continue;
    store.deleteParts(narId);
    await rm(join(root, narId), { recursive: true, force: true });
  }
  return { aborted };
}

function unquote(etag: string): string {
  return etag
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
}
