// Presigned part URLs of the Cachix API's multipart upload, on this server: an HMAC with a server
// secret binds cache, NAR id, upload id, part number, Content-MD5 and expiry, so the URL alone is
// the authority to PUT that one part (as an S3 presigned URL is).
import { createHmac, timingSafeEqual } from "node:crypto";
import { IngestError } from "../errors.js";
import type { MetadataStore } from "../metadata/store.js";
import type { MultipartUpload } from "../metadata/types.js";

/** How long a part URL works after it is handed out. */
export const PART_URL_TTL_MS = 60 * 60 * 1000;

interface PartUrlFields {
  cache: string;
  narId: string;
  uploadId: string;
  part: number;
  contentMD5: string;
  expires: number;
}

/** What a part URL carries in its query. */
export interface PartUrlQuery {
  uploadId?: string;
  expires?: string;
  sig?: string;
}

export class PartUrls {
  constructor(
    private readonly meta: Pick<MetadataStore, "secret">,
    private readonly ttlMs = PART_URL_TTL_MS,
  ) {}

  private async sign(f: PartUrlFields): Promise<Buffer> {
    const msg = [f.cache, f.narId, f.uploadId, f.part, f.contentMD5, f.expires].join("\n");
    return createHmac("sha256", await this.meta.secret("part-url"))
      .update(msg)
      .digest();
  }

  /** The presigned URL for one part (`base` is this server's origin as the client reached it). */
  async url(base: string, up: MultipartUpload, part: number, contentMD5: string): Promise<string> {
    const expires = Date.now() + this.ttlMs;
    const sig = await this.sign({ ...up, part, contentMD5, expires });
    const q = new URLSearchParams({
      uploadId: up.uploadId,
      expires: String(expires),
      sig: sig.toString("hex"),
    });
    return `${base}/api/v1/upload/${up.narId}/${part}?${q}`;
  }

  /** Refuses (403) a part URL that was altered, issued for another Content-MD5, or has expired. */
  async check(up: MultipartUpload, part: number, q: PartUrlQuery, contentMD5: string): Promise<void> {
    const expires = Number(q.expires);
    const expected = await this.sign({ ...up, part, contentMD5, expires });
    const given = Buffer.from(q.sig ?? "", "hex");
    if (given.length !== 32 || !timingSafeEqual(given, expected))
      throw new IngestError(
        "forbidden",
        "signature does not match: the URL was altered, or Content-MD5 differs from the one it was issued for",
      );
    if (!(expires > Date.now()))
      throw new IngestError("forbidden", "this part URL has expired: ask for a new one");
  }
}
