// The objects of one S3 bucket, under the location's key prefix: each request nixcache makes
// (failures become NixcacheErrors naming the operation), server-side copies, and the blobs' keys.
// S3Storage (backend.ts) is built on it; staged writes, the ranged reader and direct uploads use it.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { NixcacheError } from "../../../util/errors.js";
import type { S3Location } from "../../locations.js";
import { redactUrl } from "../../locations.js";
import { checkBlobName, collectPages } from "../backend.js";
import { detail, errName, httpStatus, isMissing, isUnavailable } from "./errors.js";

export const MiB = 1024 * 1024;
/** S3's smallest part (all but the last), on AWS and Swift alike. */
export const MIN_PART_BYTES = 5 * MiB;
/** SigV4 presigned URLs live at most a week. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Marks a blob committed again (the object itself cannot be touched without copying it). */
export const RECOMMITTED = ".recommitted";

export type Range = { start: number; end: number };

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

function md5Base64(b: Buffer): string {
  return createHash("md5").update(b).digest("base64");
}

export function presignSeconds(ttlMs: number): number {
  return Math.min(MAX_PRESIGN_SECONDS, Math.max(1, Math.ceil(ttlMs / 1000)));
}

/** One bucket's objects; S3Storage adds the StorageBackend on top. */
export class S3Objects {
  /** `s3://bucket/prefix at endpoint`, for messages (never credentials). */
  readonly where: string;

  protected constructor(
    readonly client: S3Client,
    readonly loc: S3Location,
    private readonly copyPartBytes: number,
  ) {
    const at = loc.endpoint ? redactUrl(loc.endpoint) : `AWS region ${loc.region}`;
    this.where = `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ""} at ${at}`;
  }

  key(rel: string): string {
    return this.loc.prefix ? `${this.loc.prefix}/${rel}` : rel;
  }

  protected blobKey(hash: string): string {
    const name = checkBlobName(hash);
    return this.key(`blobs/${name.slice(0, 2)}/${name}`);
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
   * marked as committed again (so the orphan sweep sees it as fresh, as ../fs.ts's utimes does).
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
}
