// Blob storage in an S3 bucket (AWS, or any S3-compatible store: Swift's s3api, MinIO, Ceph):
// blobs at PREFIX/blobs/<2 hex>/<hash>, staged writes at PREFIX/staging/<random>, the filesystem-
// like multipart parts at PREFIX/parts/<upload>/<n>, direct Cachix uploads at PREFIX/uploads/<narId>.
// An S3 object appears only complete (a PUT, or a multipart upload's completion, is atomic), so a
// blob key never holds bytes that failed to arrive: a write is staged, and committed by a
// server-side copy under its hash once the caller has verified it. Memory stays at most two part
// buffers per write. Unreachable storage is NixcacheError "unavailable" (HTTP 503), and every
// request stands alone, so the server carries on by itself once storage is back.
// S3Storage, the StorageBackend, is here; the pieces it is made of are beside it in s3/.
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { NixcacheError } from "../../../util/errors.js";
import type { S3Location } from "../../locations.js";
import {
  BLOB_NAME,
  type BlobReader,
  checkUploadName,
  collectPages,
  type DirectUploads,
  type StagedBlob,
  type StagedPart,
  type StorageBackend,
  UPLOAD_NAME,
} from "../backend.js";
import { S3DirectUploads } from "./direct-upload.js";
import { detail, errName, httpStatus, isMissing, isUnavailable } from "./errors.js";
import { MIN_PART_BYTES, MiB, presignSeconds, type Range, RECOMMITTED, S3Objects } from "./objects.js";
import { openReader, readObjects } from "./ranged-reader.js";
import { S3Write } from "./staged-write.js";

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

export class S3Storage extends S3Objects implements StorageBackend {
  readonly direct: DirectUploads;
  private readonly partBytes: number;
  private readonly stagingGraceMs: number;

  private constructor(client: S3Client, loc: S3Location, opts: S3StorageOptions) {
    super(client, loc, Math.max(MIN_PART_BYTES, opts.copyPartBytes ?? 256 * MiB));
    this.partBytes = Math.max(MIN_PART_BYTES, opts.partBytes ?? 8 * MiB);
    this.stagingGraceMs = opts.stagingGraceMs ?? 6 * 3600 * 1000;
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

  private partsPrefix(upload: string): string {
    return this.key(`parts/${checkUploadName(upload)}/`);
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

  // --- StorageBackend ---

  /** Staged writes of this process not yet committed or discarded (small ones are only in memory). */
  readonly staging = new Set<string>();

  async stageBlob(): Promise<StagedBlob> {
    const staging = this.key(`staging/${Date.now()}-${randomBytes(12).toString("hex")}`);
    this.staging.add(staging);
    return new S3Write(this, staging, this.partBytes, (w, hash) => w.finish({ blob: hash }), this.staging);
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
    return openReader(this, this.blobKey(hash), from, `blob ${hash}`);
  }

  readBlob(hash: string, range?: Range): Readable {
    return readObjects(this, [{ key: this.blobKey(hash), range }], `blob ${hash}`);
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
    return new S3Write(this, key, this.partBytes, (w) => w.finish({}), this.staging);
  }

  readParts(upload: string, parts: readonly number[]): Readable {
    const prefix = this.partsPrefix(upload);
    return readObjects(
      this,
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
