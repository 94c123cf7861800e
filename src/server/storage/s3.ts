// Blob storage in an S3 bucket (AWS, or any S3-compatible store: Swift's s3api, MinIO, Ceph):
// blobs at PREFIX/blobs/<2 hex>/<hash>, staged writes at PREFIX/staging/<random>, the filesystem-
// like multipart parts at PREFIX/parts/<upload>/<n>, direct Cachix uploads at PREFIX/uploads/<narId>.
// An S3 object appears only complete (a PUT, or a multipart upload's completion, is atomic), so a
// blob key never holds bytes that failed to arrive: a write is staged, and committed by a
// server-side copy under its hash once the caller has verified it. Memory stays at most two part
// buffers per write. Unreachable storage is NixcacheError "unavailable" (HTTP 503), and every
// request stands alone, so the server carries on by itself once storage is back.
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { NixcacheError } from "../../util/errors.js";
import type { S3Location } from "../locations.js";
import { redactUrl } from "../locations.js";
import {
  type AssembledUpload,
  type BlobReader,
  collectPages,
  type DirectPart,
  type DirectUploads,
  type StagedBlob,
  type StagedPart,
  type StorageBackend,
} from "./backend.js";

const BLOB_NAME = /^[0-9a-f]{64}$/;
const UPLOAD_NAME = /^[0-9A-Za-z-]{1,64}$/;
const MiB = 1024 * 1024;
/** S3's smallest part (all but the last), on AWS and Swift alike. */
const MIN_PART_BYTES = 5 * MiB;
/** SigV4 presigned URLs live at most a week. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Marks a blob committed again (the object itself cannot be touched without copying it). */
const RECOMMITTED = ".recommitted";

export interface S3StorageOptions {
  /** Size of the parts a staged write is uploaded in (default 8 MiB; at least 5 MiB). */
  partBytes?: number;
  /** Objects larger than this are copied in ranges of this size (UploadPartCopy; default 256 MiB). */
  copyPartBytes?: number;
  /** Attempts per request, with the SDK's standard backoff (default 4). */
  maxAttempts?: number;
  /** A connection not made within this is an error (default 5 s). */
  connectTimeoutMs?: number;
  /** A request whose socket is idle this long is an error (default 30 s). */
  idleTimeoutMs?: number;
  /** Staged writes older than this are dropped at `init({ clearStaging })` (default 6 h). */
  stagingGraceMs?: number;
  /** Keys to sign with (default: the SDK's chain: environment, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

type Range = { start: number; end: number };

function errName(e: unknown): string {
  return (e as { name?: string })?.name ?? "";
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** A key, an upload, or (for HEAD) an object that is not there; a missing bucket is not this. */
function isMissing(e: unknown): boolean {
  const n = errName(e);
  return n === "NoSuchKey" || n === "NoSuchUpload" || (httpStatus(e) === 404 && n !== "NoSuchBucket");
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
]);

/** Storage down, overloaded or unreachable: worth a retry later, not the client's fault. */
function isUnavailable(e: unknown): boolean {
  const status = httpStatus(e);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const n = errName(e);
  if (["TimeoutError", "RequestTimeout", "RequestTimeoutException", "SlowDown", "AbortError"].includes(n))
    return true;
  const err = e as { code?: string; cause?: { code?: string }; message?: string };
  if (NETWORK_CODES.has(err?.code ?? "") || NETWORK_CODES.has(err?.cause?.code ?? "")) return true;
  return /socket hang up|ECONNREFUSED|ECONNRESET|other side closed|premature close/i.test(err?.message ?? "");
}

function detail(e: unknown): string {
  const n = errName(e);
  const status = httpStatus(e);
  const msg = e instanceof Error ? e.message : String(e);
  const head = [n && n !== "Error" ? n : "", status ? `HTTP ${status}` : ""].filter(Boolean).join(", ");
  if (!head) return msg;
  return msg && msg !== n && msg !== "UnknownError" ? `${head}: ${msg}` : head;
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

function md5Base64(b: Buffer): string {
  return createHash("md5").update(b).digest("base64");
}

function unquote(etag: string): string {
  return etag
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
}

/** The ETag S3 gives an object assembled from parts: the MD5 of the parts' MD5s, and their count. */
function multipartEtag(etags: readonly string[]): string | undefined {
  const raw = etags.map(unquote);
  if (raw.some((t) => !/^[0-9a-f]{32}$/.test(t))) return undefined;
  const h = createHash("md5");
  for (const t of raw) h.update(Buffer.from(t, "hex"));
  return `${h.digest("hex")}-${raw.length}`;
}

export class S3Storage implements StorageBackend {
  readonly direct: DirectUploads;
  private readonly partBytes: number;
  private readonly copyPartBytes: number;
  private readonly stagingGraceMs: number;
  /** `s3://bucket/prefix at endpoint`, for messages (never credentials). */
  readonly where: string;

  private constructor(
    readonly client: S3Client,
    readonly loc: S3Location,
    opts: S3StorageOptions,
  ) {
    this.partBytes = Math.max(MIN_PART_BYTES, opts.partBytes ?? 8 * MiB);
    this.copyPartBytes = Math.max(MIN_PART_BYTES, opts.copyPartBytes ?? 256 * MiB);
    this.stagingGraceMs = opts.stagingGraceMs ?? 6 * 3600 * 1000;
    const at = loc.endpoint ? redactUrl(loc.endpoint) : `AWS region ${loc.region}`;
    this.where = `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ""} at ${at}`;
    this.direct = new S3DirectUploads(this);
  }

  /** A client of the bucket; credentials are given, or come from the SDK's default chain (env, profiles, roles). */
  static open(loc: S3Location, opts: S3StorageOptions = {}): S3Storage {
    // The SDK warns once that its releases after January 2027 need Node 22; the lockfile pins one.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const client = new S3Client({
      region: loc.region,
      endpoint: loc.endpoint,
      forcePathStyle: loc.pathStyle,
      maxAttempts: opts.maxAttempts ?? 4,
      retryMode: "standard",
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 5000,
        socketTimeout: opts.idleTimeoutMs ?? 30_000,
      },
      // Content-MD5 is sent where it matters; the SDK's newer default checksums (CRC32 in trailers,
      // aws-chunked bodies) are not understood by every S3-compatible store.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    return new S3Storage(client, loc, opts);
  }

  key(rel: string): string {
    return this.loc.prefix ? `${this.loc.prefix}/${rel}` : rel;
  }

  private blobKey(hash: string): string {
    if (!BLOB_NAME.test(hash)) throw new Error(`invalid blob name ${JSON.stringify(hash)}`);
    return this.key(`blobs/${hash.slice(0, 2)}/${hash}`);
  }

  private partsPrefix(upload: string): string {
    if (!UPLOAD_NAME.test(upload)) throw new Error(`invalid upload name ${JSON.stringify(upload)}`);
    return this.key(`parts/${upload}/`);
  }

  /** The error for a failed request: "unavailable" (503) when storage is down or unreachable. */
  fail(what: string, e: unknown): NixcacheError {
    if (e instanceof NixcacheError) return e;
    const [code, text] = isUnavailable(e)
      ? (["unavailable", `object storage unreachable (${this.where}): ${what}`] as const)
      : (["internal", `object storage (${this.where}) refused ${what}`] as const);
    return new NixcacheError(code, `${text}: ${detail(e)}`, { cause: e });
  }

  /** Sends one command; failures become NixcacheErrors naming the operation. */
  async send<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw this.fail(what, e);
    }
  }

  /** Like `send`, but a missing key or upload is undefined. */
  async sendOrMissing<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.fail(what, e);
    }
  }

  async init(opts: { clearStaging?: boolean } = {}): Promise<void> {
    const Bucket = this.loc.bucket;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket }));
    } catch (e) {
      if (httpStatus(e) === 403 || errName(e) === "Forbidden")
        throw new NixcacheError(
          "forbidden",
          `object storage refused access to bucket ${Bucket} (${this.where}): ${detail(e)}; these credentials may not use it (nor create it, if it does not exist): check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the AWS profile) and the bucket's policy`,
          { cause: e },
        );
      if (!isMissing(e) && errName(e) !== "NoSuchBucket") throw this.fail(`HeadBucket ${Bucket}`, e);
      await this.createBucket();
    }
    if (opts.clearStaging ?? true) await this.clearStaging();
  }

  private async createBucket(): Promise<void> {
    const Bucket = this.loc.bucket;
    try {
      await this.client.send(new CreateBucketCommand({ Bucket }));
    } catch (e) {
      // Created meanwhile by another process of ours: what we wanted.
      if (errName(e) === "BucketAlreadyOwnedByYou") return;
      if (errName(e) === "BucketAlreadyExists")
        throw new NixcacheError(
          "forbidden",
          `bucket ${Bucket} (${this.where}) belongs to someone else: choose another name`,
          { cause: e },
        );
      if (isUnavailable(e)) throw this.fail(`CreateBucket ${Bucket}`, e);
      const refused = httpStatus(e) === 403;
      throw new NixcacheError(
        refused ? "forbidden" : "usage",
        refused
          ? `bucket ${Bucket} does not exist (${this.where}) and these credentials may not create it (${detail(e)}): create it, or use credentials that may`
          : `bucket ${Bucket} does not exist (${this.where}) and could not be created: ${detail(e)}`,
        { cause: e },
      );
    }
  }

  /**
   * Drops staged writes a dead process left. Other servers may share the bucket (replicas), so
   * only writes older than `stagingGraceMs` go, never one still in progress elsewhere.
   */
  private async clearStaging(): Promise<void> {
    const before = Date.now() - this.stagingGraceMs;
    const prefix = this.key("staging/");
    for (const o of await this.listObjects(prefix)) if (o.modified < before) await this.deleteObject(o.key);
    for (const u of await this.listMultipart(prefix))
      if (u.since < before) await this.abortMultipart(u.key, u.uploadId);
  }

  // --- primitive operations (each a NixcacheError on failure) ---

  async head(key: string): Promise<{ size: number; modified: number; etag: string } | undefined> {
    const r = await this.sendOrMissing(`HeadObject ${key}`, () =>
      this.client.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key: key })),
    );
    if (!r) return undefined;
    return { size: r.ContentLength ?? 0, modified: r.LastModified?.getTime() ?? 0, etag: r.ETag ?? "" };
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.send(`PutObject ${key}`, () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.loc.bucket, Key: key, Body: body, ContentMD5: md5Base64(body) }),
      ),
    );
  }

  async deleteObject(key: string): Promise<void> {
    await this.sendOrMissing(`DeleteObject ${key}`, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key: key })),
    );
  }

  async createMultipart(key: string): Promise<string> {
    const r = await this.send(`CreateMultipartUpload ${key}`, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.loc.bucket, Key: key })),
    );
    if (!r.UploadId) throw this.fail(`CreateMultipartUpload ${key}`, new Error("no UploadId in the answer"));
    return r.UploadId;
  }

  async uploadPart(key: string, uploadId: string, part: number, body: Buffer): Promise<string> {
    const r = await this.send(`UploadPart ${key} part ${part}`, () =>
      this.client.send(
        new UploadPartCommand({
          Bucket: this.loc.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: part,
          Body: body,
          ContentMD5: md5Base64(body),
        }),
      ),
    );
    return r.ETag ?? "";
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: ReadonlyArray<{ part: number; etag: string }>,
  ): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.loc.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.part, ETag: p.etag })) },
      }),
    );
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.sendOrMissing(`AbortMultipartUpload ${key}`, () =>
      this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.loc.bucket, Key: key, UploadId: uploadId }),
      ),
    );
  }

  listObjects(prefix: string): Promise<Array<{ key: string; modified: number; size: number }>> {
    return collectPages(this.objectPages(prefix));
  }

  /** The objects under `prefix`, a listing page (up to 1000) at a time. */
  async *objectPages(prefix: string): AsyncIterable<Array<{ key: string; modified: number; size: number }>> {
    let token: string | undefined;
    do {
      const r = await this.send(`ListObjectsV2 ${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: prefix, ContinuationToken: token }),
        ),
      );
      const page: Array<{ key: string; modified: number; size: number }> = [];
      for (const o of r.Contents ?? [])
        if (o.Key) page.push({ key: o.Key, modified: o.LastModified?.getTime() ?? 0, size: o.Size ?? 0 });
      yield page;
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async listMultipart(prefix: string): Promise<Array<{ key: string; uploadId: string; since: number }>> {
    const out: Array<{ key: string; uploadId: string; since: number }> = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const r = await this.send(`ListMultipartUploads ${prefix}`, () =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.loc.bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: idMarker,
          }),
        ),
      );
      for (const u of r.Uploads ?? [])
        if (u.Key && u.UploadId)
          out.push({ key: u.Key, uploadId: u.UploadId, since: u.Initiated?.getTime() ?? 0 });
      if (!r.IsTruncated) return out;
      keyMarker = r.NextKeyMarker;
      idMarker = r.NextUploadIdMarker;
    }
  }

  /** A ranged GET's body, the object's size and ETag; undefined when there is no such object. */
  async get(
    key: string,
    range?: Range,
    ifMatch?: string,
  ): Promise<{ body: Readable; size: number; etag: string } | undefined> {
    let r: GetObjectCommandOutput;
    try {
      r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.loc.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
          IfMatch: ifMatch,
        }),
      );
    } catch (e) {
      // A range from 0 of an empty object is unsatisfiable, but the object is there.
      if (errName(e) === "InvalidRange" || httpStatus(e) === 416) {
        const h = await this.head(key);
        return h && { body: Readable.from([]), size: h.size, etag: h.etag };
      }
      if (isMissing(e)) return undefined;
      if (httpStatus(e) === 412)
        throw new NixcacheError("internal", `object ${key} changed while it was being read (${this.where})`);
      throw this.fail(`GetObject ${key}`, e);
    }
    const total = /\/(\d+)$/.exec(r.ContentRange ?? "")?.[1];
    return {
      body: r.Body as Readable,
      size: total !== undefined ? Number(total) : (r.ContentLength ?? 0),
      etag: r.ETag ?? "",
    };
  }

  /**
   * Copies object `from` (of `size` bytes) to `to` on the server: in one request when small, else
   * as a multipart upload of ranges, each request short enough for the timeouts (and within
   * Swift's 5 GiB limit for one object). `to` appears only once the whole copy is done. Sources
   * are objects only this server writes (a staged write, an assembled upload), so no
   * precondition pins them (Swift's copy would compare its own ETag of a multipart object).
   */
  async copy(from: string, to: string, size: number): Promise<void> {
    const Bucket = this.loc.bucket;
    const CopySource = `${encodeURIComponent(Bucket)}/${encodeKey(from)}`;
    if (size <= this.copyPartBytes) {
      await this.send(`CopyObject ${from} to ${to}`, () =>
        this.client.send(new CopyObjectCommand({ Bucket, Key: to, CopySource })),
      );
      return;
    }
    const uploadId = await this.createMultipart(to);
    try {
      const ranges: Range[] = [];
      for (let start = 0; start < size; start += this.copyPartBytes)
        ranges.push({ start, end: Math.min(size, start + this.copyPartBytes) - 1 });
      const parts: Array<{ part: number; etag: string }> = [];
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (next < ranges.length && !failed) {
          const i = next++;
          const r = ranges[i] as Range;
          const out = await this.send(`UploadPartCopy ${from} to ${to} part ${i + 1}`, () =>
            this.client.send(
              new UploadPartCopyCommand({
                Bucket,
                Key: to,
                UploadId: uploadId,
                PartNumber: i + 1,
                CopySource,
                CopySourceRange: `bytes=${r.start}-${r.end}`,
              }),
            ),
          );
          parts.push({ part: i + 1, etag: out.CopyPartResult?.ETag ?? "" });
        }
      };
      // Four ranges at a time; the first failure stops the others taking more.
      const stopOnFailure = (p: Promise<void>) =>
        p.catch((e: unknown) => {
          failed = true;
          throw e;
        });
      await Promise.all([1, 2, 3, 4].map(() => stopOnFailure(worker())));
      parts.sort((a, b) => a.part - b.part);
      await this.send(`CompleteMultipartUpload ${to}`, () => this.completeMultipart(to, uploadId, parts));
    } catch (e) {
      await this.abortMultipart(to, uploadId).catch(() => {});
      throw e;
    }
  }

  /**
   * Makes object `from` blob `hash`: copied to the blob key, or when the blob exists already,
   * marked as committed again (so the orphan sweep sees it as fresh, as fs.ts's utimes does).
   */
  async publishBlob(hash: string, from: string, size: number): Promise<void> {
    const dest = this.blobKey(hash);
    if (await this.head(dest)) await this.put(dest + RECOMMITTED, Buffer.alloc(0));
    else await this.copy(from, dest, size);
  }

  /** Writes a small blob in one PUT (it is in memory, and verified: no copy needed). */
  async putBlob(hash: string, body: Buffer): Promise<void> {
    const dest = this.blobKey(hash);
    if (await this.head(dest)) await this.put(dest + RECOMMITTED, Buffer.alloc(0));
    else await this.put(dest, body);
  }

  // --- StorageBackend ---

  /** Staged writes of this process not yet committed or discarded (small ones are only in memory). */
  readonly staging = new Set<string>();

  async stageBlob(): Promise<StagedBlob> {
    const staging = this.key(`staging/${Date.now()}-${randomBytes(12).toString("hex")}`);
    this.staging.add(staging);
    return new S3Write(this, staging, this.partBytes, (w, hash) => w.finish({ blob: hash }));
  }

  async listStaged(): Promise<string[]> {
    const prefix = this.key("staging/");
    const stored = [
      ...(await this.listObjects(prefix)).map((o) => o.key),
      ...(await this.listMultipart(prefix)).map((u) => u.key),
    ];
    return [...new Set([...this.staging, ...stored])].sort();
  }

  async blobSize(hash: string): Promise<number | undefined> {
    return (await this.head(this.blobKey(hash)))?.size;
  }

  async openBlob(hash: string, from = 0): Promise<BlobReader> {
    const key = this.blobKey(hash);
    // The first window is asked for at once: one round trip says whether the blob exists and
    // brings the first bytes to be read.
    const first = await this.get(key, { start: from, end: from + READ_WINDOW_MIN - 1 });
    // Internal, as a missing file is on disk: only a recorded blob is ever opened.
    if (!first)
      throw new NixcacheError("internal", `blob ${hash} is missing from object storage (${this.where})`);
    return new S3ObjectReader(this, key, first, from);
  }

  readBlob(hash: string, range?: Range): Readable {
    return this.readObjects([{ key: this.blobKey(hash), range }], `blob ${hash}`);
  }

  /** The objects' bytes (each whole, or its range) one after the other, as one stream. */
  readObjects(objects: ReadonlyArray<{ key: string; range?: Range }>, what: string): Readable {
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (const o of objects) {
        const start = o.range?.start ?? 0;
        const first = await self.get(o.key, { start, end: start + READ_WINDOW_MIN - 1 });
        if (!first)
          throw new NixcacheError("internal", `${what} is missing from object storage (${self.where})`);
        const reader = new S3ObjectReader(self, o.key, first, start);
        try {
          const end = Math.min(o.range?.end ?? Number.POSITIVE_INFINITY, reader.size - 1);
          for (let pos = start; pos <= end; ) {
            const c = await reader.next(pos, end - pos + 1);
            pos += c.length;
            yield c;
          }
        } finally {
          await reader.close();
        }
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async blobModified(hash: string): Promise<number | undefined> {
    const blob = await this.head(this.blobKey(hash));
    if (!blob) return undefined;
    const again = await this.head(this.blobKey(hash) + RECOMMITTED);
    return Math.max(blob.modified, again?.modified ?? 0);
  }

  async deleteBlob(hash: string): Promise<void> {
    await this.deleteObject(this.blobKey(hash));
    await this.deleteObject(this.blobKey(hash) + RECOMMITTED);
  }

  listBlobs(): Promise<string[]> {
    return collectPages(this.blobPages());
  }

  async *blobPages(): AsyncIterable<string[]> {
    const prefix = this.key("blobs/");
    for await (const objects of this.objectPages(prefix)) {
      const page: string[] = [];
      for (const o of objects) {
        const [dir, name] = o.key.slice(prefix.length).split("/");
        if (name && BLOB_NAME.test(name) && dir === name.slice(0, 2) && !o.key.endsWith(RECOMMITTED))
          page.push(name);
      }
      if (page.length > 0) yield page;
    }
  }

  async stagePart(upload: string, part: number): Promise<StagedPart> {
    // A part's key is known from the start and an object appears only complete: the write goes
    // straight there, and replaces an earlier part of that number only when committed.
    const key = `${this.partsPrefix(upload)}${part}`;
    return new S3Write(this, key, this.partBytes, (w) => w.finish({}));
  }

  readParts(upload: string, parts: readonly number[]): Readable {
    const prefix = this.partsPrefix(upload);
    return this.readObjects(
      parts.map((p) => ({ key: `${prefix}${p}` })),
      `a part of upload ${upload}`,
    );
  }

  async partsLastWritten(upload: string): Promise<number | undefined> {
    const prefix = this.partsPrefix(upload);
    let last: number | undefined;
    for (const o of await this.listObjects(prefix)) last = Math.max(last ?? 0, o.modified);
    for (const u of await this.listMultipart(prefix)) last = Math.max(last ?? 0, u.since);
    return last;
  }

  async listPartUploads(): Promise<string[]> {
    const prefix = this.key("parts/");
    const names = new Set<string>();
    const add = (key: string) => {
      const name = key.slice(prefix.length).split("/")[0] ?? "";
      if (UPLOAD_NAME.test(name)) names.add(name);
    };
    for (const o of await this.listObjects(prefix)) add(o.key);
    for (const u of await this.listMultipart(prefix)) add(u.key);
    return [...names];
  }

  async deleteParts(upload: string): Promise<void> {
    const prefix = this.partsPrefix(upload);
    for (const u of await this.listMultipart(prefix)) await this.abortMultipart(u.key, u.uploadId);
    for (const o of await this.listObjects(prefix)) await this.deleteObject(o.key);
  }

  async presignGet(hash: string, ttlMs: number, opts: { contentType?: string } = {}): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.loc.bucket,
        Key: this.blobKey(hash),
        ResponseContentType: opts.contentType,
      }),
      { expiresIn: presignSeconds(ttlMs) },
    );
  }
}

function presignSeconds(ttlMs: number): number {
  return Math.min(MAX_PRESIGN_SECONDS, Math.max(1, Math.ceil(ttlMs / 1000)));
}

/**
 * A staged write: bytes collect in a buffer (grown as needed, up to one part); once a part is full
 * it is uploaded while the next fills, so at most two part buffers exist. A write that never
 * fills a part is PUT whole at commit.
 */
class S3Write {
  private buf: Buffer = Buffer.alloc(0);
  private len = 0;
  /** The buffer of the part last sent, free again once that part is uploaded. */
  private spare: Buffer | undefined;
  private uploadId: string | undefined;
  private partCount = 0;
  private readonly parts: Array<{ part: number; etag: string }> = [];
  private inflight: Promise<void> | undefined;
  private size = 0;
  /** The multipart upload is complete: the object at `key` exists. */
  private assembled = false;
  private state: "open" | "committed" | "discarded" = "open";
  private failure: unknown;

  constructor(
    private readonly s3: S3Storage,
    private readonly key: string,
    private readonly partBytes: number,
    private readonly publish: (w: S3Write, name: string) => Promise<void>,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.state !== "open") throw new Error(`write to a staged object after it was ${this.state}`);
    if (this.failure !== undefined) throw this.failure;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.partBytes - this.len, chunk.length - off);
      this.reserve(this.len + n);
      chunk.copy(this.buf, this.len, off, off + n);
      this.len += n;
      this.size += n;
      off += n;
      if (this.len === this.partBytes) await this.sendPart();
    }
  }

  /** Grows the buffer to hold `need` bytes: small writes (logs, small NARs) stay small. */
  private reserve(need: number): void {
    if (need <= this.buf.length) return;
    let cap = Math.max(64 * 1024, this.buf.length);
    while (cap < need) cap *= 2;
    const grown = Buffer.allocUnsafe(Math.min(cap, this.partBytes));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  /** Waits for the part in flight; rethrows its failure (and every later call does too). */
  private async settle(): Promise<void> {
    const p = this.inflight;
    this.inflight = undefined;
    try {
      await p;
    } catch (e) {
      // A part is missing: nothing more may be written or committed, only discarded.
      this.failure ??= e;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private async sendPart(): Promise<void> {
    await this.settle();
    this.uploadId ??= await this.s3.createMultipart(this.key);
    const uploadId = this.uploadId;
    const sent = this.buf;
    const body = sent.subarray(0, this.len);
    this.buf = this.spare ?? Buffer.alloc(0);
    this.spare = undefined;
    this.len = 0;
    const part = ++this.partCount;
    const p = this.s3.uploadPart(this.key, uploadId, part, body).then((etag) => {
      this.parts.push({ part, etag });
      this.spare = sent;
    });
    // Awaited by the next sendPart or by finish; until then a failure must not go unhandled.
    p.catch(() => {});
    this.inflight = p;
  }

  /** Uploads what is left, then makes it blob `blob` (staged blobs) or the object at `key` (parts). */
  async finish(to: { blob?: string }): Promise<void> {
    if (this.uploadId === undefined) {
      const body = this.buf.subarray(0, this.len);
      if (to.blob !== undefined) await this.s3.putBlob(to.blob, body);
      else await this.s3.put(this.key, body);
      return;
    }
    if (this.len > 0) await this.sendPart();
    await this.settle();
    const uploadId = this.uploadId;
    const parts = [...this.parts].sort((a, b) => a.part - b.part);
    await this.s3.send(`CompleteMultipartUpload ${this.key}`, () =>
      this.s3.completeMultipart(this.key, uploadId, parts),
    );
    this.assembled = true;
    if (to.blob === undefined) return;
    await this.s3.publishBlob(to.blob, this.key, this.size);
    await this.s3.deleteObject(this.key);
    this.assembled = false;
  }

  async commit(name = ""): Promise<void> {
    if (this.state !== "open") throw new Error(`commit of a staged object after it was ${this.state}`);
    await this.publish(this, name);
    this.state = "committed";
    this.release();
  }

  async discard(): Promise<void> {
    if (this.state === "committed") return;
    this.state = "discarded";
    this.release();
    await this.inflight?.catch(() => {});
    this.inflight = undefined;
    const uploadId = this.uploadId;
    if (uploadId !== undefined && !this.assembled)
      await this.s3.abortMultipart(this.key, uploadId).catch(() => {});
    if (this.assembled) await this.s3.deleteObject(this.key).catch(() => {});
    this.uploadId = undefined;
    this.assembled = false;
  }

  private release(): void {
    this.s3.staging.delete(this.key);
    this.buf = Buffer.alloc(0);
    this.spare = undefined;
    this.len = 0;
  }
}

/** The first ranged GET of a reader; later ones double, up to the largest. */
const READ_WINDOW_MIN = 4 * MiB;
const READ_WINDOW_MAX = 64 * MiB;

type Window = { body: Readable; it: AsyncIterator<Buffer>; pos: number; end: number; left?: Buffer };

/**
 * Random access to one object by ranged GETs. Reads that follow on from the last are served from
 * the GET in progress (a read-ahead window, doubling up to 64 MiB), so a sequential reader makes
 * one request per window, not per read. A window that broke (the socket sat idle past the
 * timeout while our reader was slow) is reopened where it stopped; the ETag of the first answer
 * pins the object, so a reopened window can never mix in other bytes.
 */
class S3ObjectReader implements BlobReader {
  readonly size: number;
  private readonly etag: string;
  private win: Window | undefined;
  private windowBytes = READ_WINDOW_MIN;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly s3: S3Storage,
    private readonly key: string,
    first: { body: Readable; size: number; etag: string },
    start = 0,
  ) {
    this.size = first.size;
    this.etag = first.etag;
    this.win = this.window(first.body, start, Math.min(first.size, start + READ_WINDOW_MIN) - 1);
  }

  private window(body: Readable, pos: number, end: number): Window {
    return { body, it: body[Symbol.asyncIterator]() as AsyncIterator<Buffer>, pos, end };
  }

  private drop(): void {
    this.win?.body.destroy();
    this.win = undefined;
  }

  private async open(pos: number): Promise<Window> {
    this.drop();
    const end = Math.min(this.size, pos + this.windowBytes) - 1;
    this.windowBytes = Math.min(READ_WINDOW_MAX, this.windowBytes * 2);
    const r = await this.s3.get(this.key, { start: pos, end }, this.etag || undefined);
    if (!r)
      throw new NixcacheError(
        "internal",
        `object ${this.key} disappeared while being read (${this.s3.where})`,
      );
    this.win = this.window(r.body, pos, end);
    return this.win;
  }

  /** The next bytes at `pos` (at most `max`, at least one); `pos` must be within the object. */
  async next(pos: number, max: number): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      let w = this.win;
      if (!w || w.pos !== pos || w.pos > w.end) w = await this.open(pos);
      try {
        let chunk = w.left;
        w.left = undefined;
        if (!chunk) {
          const r = await w.it.next();
          if (r.done) throw new Error(`ranged GET ended at ${w.pos}, before ${w.end + 1}`);
          chunk = r.value;
        }
        if (chunk.length > max) {
          w.left = chunk.subarray(max);
          chunk = chunk.subarray(0, max);
        }
        w.pos += chunk.length;
        return chunk;
      } catch (e) {
        this.drop();
        // Once reopened and failed again, it is storage that fails, not an idle socket.
        if (attempt >= 1) throw this.s3.fail(`GetObject ${this.key} at ${pos}`, e);
      }
    }
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    // One read at a time, as a file's position would be.
    const r = this.queue.then(async () => {
      let n = 0;
      while (n < length && position + n < this.size) {
        const c = await this.next(position + n, length - n);
        c.copy(buffer, offset + n);
        n += c.length;
      }
      return { bytesRead: n };
    });
    this.queue = r.catch(() => {});
    return r;
  }

  async close(): Promise<void> {
    this.drop();
  }
}

/** Direct uploads: S3's own multipart upload at PREFIX/uploads/<narId>, parts PUT by clients. */
class S3DirectUploads implements DirectUploads {
  readonly minPartBytes = MIN_PART_BYTES;

  constructor(private readonly s3: S3Storage) {}

  private key(narId: string): string {
    if (!UPLOAD_NAME.test(narId)) throw new Error(`invalid upload name ${JSON.stringify(narId)}`);
    return this.s3.key(`uploads/${narId}`);
  }

  createUpload(narId: string): Promise<string> {
    return this.s3.createMultipart(this.key(narId));
  }

  partUrl(narId: string, uploadId: string, part: number, contentMD5: string, ttlMs: number): Promise<string> {
    // Content-MD5 is a signed header: S3 refuses (400 BadDigest) a PUT of any other bytes.
    return getSignedUrl(
      this.s3.client,
      new UploadPartCommand({
        Bucket: this.s3.loc.bucket,
        Key: this.key(narId),
        UploadId: uploadId,
        PartNumber: part,
        ContentMD5: contentMD5,
      }),
      { expiresIn: presignSeconds(ttlMs), signableHeaders: new Set(["content-md5"]) },
    );
  }

  async listParts(narId: string, uploadId: string): Promise<DirectPart[] | undefined> {
    const Key = this.key(narId);
    const out: DirectPart[] = [];
    let marker: string | undefined;
    for (;;) {
      const r = await this.s3.sendOrMissing(`ListParts ${Key}`, () =>
        this.s3.client.send(
          new ListPartsCommand({
            Bucket: this.s3.loc.bucket,
            Key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        ),
      );
      if (!r) return undefined;
      for (const p of r.Parts ?? [])
        out.push({
          part: p.PartNumber ?? 0,
          etag: p.ETag ?? "",
          size: p.Size ?? 0,
          modified: p.LastModified?.getTime() ?? 0,
        });
      if (!r.IsTruncated) return out;
      marker = r.NextPartNumberMarker;
    }
  }

  async complete(
    narId: string,
    uploadId: string,
    parts: ReadonlyArray<{ part: number; etag: string }>,
  ): Promise<AssembledUpload> {
    const key = this.key(narId);
    const expected = multipartEtag(parts.map((p) => p.etag));
    try {
      await this.s3.completeMultipart(key, uploadId, parts);
    } catch (e) {
      const n = errName(e);
      if (n === "InvalidPart" || n === "InvalidPartOrder")
        throw new NixcacheError(
          "invalid",
          `object storage refused the parts of upload ${narId} (${n}): a part is missing, or its ETag is not that of the bytes uploaded`,
        );
      if (n === "EntityTooSmall")
        throw new NixcacheError(
          "invalid",
          `object storage refused the parts of upload ${narId}: every part but the last must be at least ${MIN_PART_BYTES} bytes`,
        );
      // Assembled by an earlier complete whose answer was lost, or that failed after: the object
      // counts if it is made of these very parts (its ETag says so).
      if (!isMissing(e)) throw this.s3.fail(`CompleteMultipartUpload ${key}`, e);
      const h = await this.s3.head(key);
      if (!h || expected === undefined || unquote(h.etag) !== expected)
        throw new NixcacheError(
          "conflict",
          `upload ${narId} is no longer open in object storage (aborted, or assembled from other parts)`,
        );
    }
    const h = await this.s3.head(key);
    if (!h) throw new NixcacheError("conflict", `upload ${narId} was assembled but its object is gone`);
    const s3 = this.s3;
    return {
      size: h.size,
      read: () => s3.readObjects([{ key }], `upload ${narId}`),
      async commit(hash) {
        await s3.publishBlob(hash, key, h.size);
        await s3.deleteObject(key);
      },
      discard: () => s3.deleteObject(key),
    };
  }

  async abort(narId: string, uploadId?: string): Promise<void> {
    const key = this.key(narId);
    if (uploadId !== undefined) await this.s3.abortMultipart(key, uploadId);
    await this.s3.deleteObject(key);
  }

  async listUploads(): Promise<Array<{ narId: string; uploadId: string | null; since: number }>> {
    const prefix = this.s3.key("uploads/");
    const out: Array<{ narId: string; uploadId: string | null; since: number }> = [];
    for (const u of await this.s3.listMultipart(prefix)) {
      const narId = u.key.slice(prefix.length);
      if (UPLOAD_NAME.test(narId)) out.push({ narId, uploadId: u.uploadId, since: u.since });
    }
    for (const o of await this.s3.listObjects(prefix)) {
      const narId = o.key.slice(prefix.length);
      if (UPLOAD_NAME.test(narId)) out.push({ narId, uploadId: null, since: o.modified });
    }
    return out;
  }
}
