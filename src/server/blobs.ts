// Content-addressed blob storage on the local filesystem. A blob is named by the SHA-256 of its
// bytes (the stored, compressed NAR), so identical NARs pushed to several caches are stored once.
// Writes go to tmp/ and are renamed into place after fsync: a blob path either holds the complete
// file or does not exist, whatever moment the process dies at.
import { randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";

const BLOB_NAME = /^[0-9a-f]{64}$/;

export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  constructor(dataDir: string) {
    this.blobDir = join(dataDir, "blobs");
    this.tmpDir = join(dataDir, "tmp");
  }

  /**
   * Creates the directories and clears tmp/: anything left there is an upload that never committed.
   * With `clearTmp: false` (the workers of `serve --workers`, whose primary cleared it before they
   * started) tmp/ is left alone, since another process's uploads may be in it.
   */
  async init(opts: { clearTmp?: boolean } = {}): Promise<void> {
    await mkdir(this.blobDir, { recursive: true, mode: 0o700 });
    if (opts.clearTmp ?? true) await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  /** The path of a blob; the name is checked so no caller can point outside the blob directory. */
  path(hash: string): string {
    if (!BLOB_NAME.test(hash)) throw new Error(`invalid blob name ${JSON.stringify(hash)}`);
    return join(this.blobDir, hash.slice(0, 2), hash);
  }

  async stat(hash: string): Promise<Stats | undefined> {
    try {
      return await stat(this.path(hash));
    } catch {
      return undefined;
    }
  }

  /** A fresh temporary file for an incoming upload. */
  async createTemp(): Promise<TempBlob> {
    const path = join(this.tmpDir, `upload-${process.pid}-${randomBytes(8).toString("hex")}`);
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    return new TempBlob(this, path, fh);
  }

  /** Moves a complete, synced temporary file into place under its hash (or drops it if already stored). */
  async commit(tempPath: string, hash: string): Promise<void> {
    const dest = this.path(hash);
    if (await this.stat(hash)) {
      await unlink(tempPath);
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

  /** Names of all blobs on disk (for consistency checks). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    let shards: string[];
    try {
      shards = await readdir(this.blobDir);
    } catch {
      return out;
    }
    for (const s of shards) {
      for (const f of await readdir(join(this.blobDir, s))) if (BLOB_NAME.test(f)) out.push(f);
    }
    return out;
  }
}

/** An upload being written; `finish` syncs and closes, `discard` removes it. */
export class TempBlob {
  private closed = false;
  constructor(
    readonly store: BlobStore,
    readonly path: string,
    private readonly fh: Awaited<ReturnType<typeof open>>,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
  }

  async finish(): Promise<void> {
    await this.fh.sync();
    this.closed = true;
    await this.fh.close();
  }

  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
    await unlink(this.path).catch(() => {});
  }
}
