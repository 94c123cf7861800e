// A staged write to S3 (a blob being uploaded, or a part of a multipart upload of the Cachix API),
// uploaded as it arrives and published only at commit.
import type { S3Objects } from "./objects.js";

/**
 * A staged write: bytes collect in a buffer (grown as needed, up to one part); once a part is full
 * it is uploaded while the next fills, so at most two part buffers exist. A write that never
 * fills a part is PUT whole at commit.
 */
export class S3Write {
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
    private readonly s3: S3Objects,
    private readonly key: string,
    private readonly partBytes: number,
    private readonly publish: (w: S3Write, name: string) => Promise<void>,
    /** The backend's staged writes in progress: this one leaves it once committed or discarded. */
    private readonly staging: Set<string>,
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
    this.staging.delete(this.key);
    this.buf = Buffer.alloc(0);
    this.spare = undefined;
    this.len = 0;
  }
}
