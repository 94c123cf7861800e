// Blob storage on the local filesystem, under the data directory: blobs/<2 hex>/<hash>, staged
// writes in tmp/, multipart parts in multipart/<upload>/<part>. A blob is written to tmp/, synced
// and renamed into place, so a blob path either holds the complete file or does not exist,
// whatever moment the process dies at.
import { randomBytes } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  BLOB_NAME,
  type BlobReader,
  checkBlobName,
  checkUploadName,
  collectPages,
  type StagedBlob,
  type StagedPart,
  type StorageBackend,
  UPLOAD_NAME,
} from "./backend.js";

const READ_CHUNK = 1 << 20;

export class FsStorage implements StorageBackend {
  readonly blobDir: string;
  readonly tmpDir: string;
  readonly partsDir: string;

  constructor(dataDir: string) {
    this.blobDir = join(dataDir, "blobs");
    this.tmpDir = join(dataDir, "tmp");
    this.partsDir = join(dataDir, "multipart");
  }

  /** tmp/ is cleared only by one process: a worker of a cluster may have uploads in it. */
  async init(opts: { clearStaging?: boolean } = {}): Promise<void> {
    await mkdir(this.blobDir, { recursive: true, mode: 0o700 });
    if (opts.clearStaging ?? true) await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  /** The path of a blob; the name is checked so no caller can point outside the blob directory. */
  private blobPath(hash: string): string {
    const name = checkBlobName(hash);
    return join(this.blobDir, name.slice(0, 2), name);
  }

  private uploadDir(upload: string): string {
    return join(this.partsDir, checkUploadName(upload));
  }

  async listStaged(): Promise<string[]> {
    return (await readdir(this.tmpDir).catch(() => [] as string[])).sort();
  }

  async stageBlob(): Promise<StagedBlob> {
    const path = join(this.tmpDir, `upload-${process.pid}-${randomBytes(8).toString("hex")}`);
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    return new StagedFile(path, fh, (hash) => this.commitBlob(hash, path));
  }

  private async commitBlob(hash: string, tempPath: string): Promise<void> {
    const dest = this.blobPath(hash);
    if ((await this.blobSize(hash)) !== undefined) {
      await unlink(tempPath);
      // Committed again: fresh for the orphan sweep, which drops only blobs unnamed for a while.
      const now = new Date();
      await utimes(dest, now, now).catch(() => {});
      return;
    }
    const dir = join(this.blobDir, hash.slice(0, 2));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // rename is atomic: concurrent uploads of the same content both succeed with one file in place.
    await rename(tempPath, dest);
    const dh = await open(dir, constants.O_RDONLY);
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  async blobSize(hash: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(hash))).size;
    } catch {
      return undefined;
    }
  }

  async openBlob(hash: string): Promise<BlobReader> {
    return open(this.blobPath(hash), "r");
  }

  readBlob(hash: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.blobPath(hash), { ...range, highWaterMark: READ_CHUNK });
  }

  async blobModified(hash: string): Promise<number | undefined> {
    return (await stat(this.blobPath(hash)).catch(() => undefined))?.mtimeMs;
  }

  async deleteBlob(hash: string): Promise<void> {
    // unlink, not rm: rm stats the path first (twice), and a GC deletes blobs by the hundred thousand.
    await unlink(this.blobPath(hash)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }

  listBlobs(): Promise<string[]> {
    return collectPages(this.blobPages());
  }

  async *blobPages(): AsyncIterable<string[]> {
    for (const s of await readdir(this.blobDir).catch(() => [] as string[])) {
      const page = (await readdir(join(this.blobDir, s)).catch(() => [] as string[])).filter((f) =>
        BLOB_NAME.test(f),
      );
      if (page.length > 0) yield page;
    }
  }

  async stagePart(upload: string, part: number): Promise<StagedPart> {
    const dir = this.uploadDir(upload);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `${part}.${randomBytes(6).toString("hex")}.tmp`);
    const fh = await open(tmp, "wx", 0o600);
    // Parts are not synced: `complete` verifies the assembled NAR before anything is published.
    return new StagedFile(tmp, fh, () => rename(tmp, join(dir, String(part))), { sync: false });
  }

  readParts(upload: string, parts: readonly number[]): Readable {
    const dir = this.uploadDir(upload);
    async function* concatenated(): AsyncGenerator<Buffer> {
      for (const p of parts) yield* createReadStream(join(dir, String(p)), { highWaterMark: READ_CHUNK });
    }
    return Readable.from(concatenated(), { objectMode: false });
  }

  async partsLastWritten(upload: string): Promise<number | undefined> {
    const dir = this.uploadDir(upload);
    let last: number | undefined;
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      const st = await stat(join(dir, f)).catch(() => undefined);
      if (st) last = Math.max(last ?? 0, st.mtimeMs);
    }
    return last;
  }

  async listPartUploads(): Promise<string[]> {
    return (await readdir(this.partsDir).catch(() => [] as string[])).filter((n) => UPLOAD_NAME.test(n));
  }

  async deleteParts(upload: string): Promise<void> {
    await rm(this.uploadDir(upload), { recursive: true, force: true });
  }
}

/** A file being written; `commit` closes it (after fsync, unless told not to) and publishes it. */
class StagedFile {
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    private readonly publish: (name: string) => Promise<void>,
    private readonly opts: { sync: boolean } = { sync: true },
  ) {}

  async write(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
  }

  async commit(name = ""): Promise<void> {
    if (!this.closed) {
      if (this.opts.sync) await this.fh.sync();
      this.closed = true;
      await this.fh.close();
    }
    await this.publish(name);
  }

  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
    await unlink(this.path).catch(() => {});
  }
}
