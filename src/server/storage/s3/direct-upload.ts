// Direct uploads of the Cachix API: the NAR's parts go from the client straight to the bucket, by
// URLs presigned for each part, and never through the server.
import { createHash } from "node:crypto";
import { ListPartsCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { NixcacheError } from "../../../util/errors.js";
import {
  type AssembledUpload,
  checkUploadName,
  type DirectPart,
  type DirectUploads,
  UPLOAD_NAME,
} from "../backend.js";
import { errName, isMissing } from "./errors.js";
import { MIN_PART_BYTES, presignSeconds, type S3Objects } from "./objects.js";
import { readObjects } from "./ranged-reader.js";

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

/** Direct uploads: S3's own multipart upload at PREFIX/uploads/<narId>, parts PUT by clients. */
export class S3DirectUploads implements DirectUploads {
  readonly minPartBytes = MIN_PART_BYTES;

  constructor(private readonly s3: S3Objects) {}

  private key(narId: string): string {
    return this.s3.key(`uploads/${checkUploadName(narId)}`);
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
      read: () => readObjects(s3, [{ key }], `upload ${narId}`),
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
