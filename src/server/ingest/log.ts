// Build logs (`PUT /<cache>/log/<drv>`) are stored as blobs, streamed in and out, never held in
// memory or in the metadata store, bounded in size, and counted in the cache's quota.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { errorCode } from "../../util/errors.js";
import { IngestError } from "../errors.js";
import type { MetadataStore } from "../metadata/store.js";
import type { SideFile } from "../metadata/types.js";
import type { StorageBackend } from "../storage/backend.js";
import { deleteUnnamedBlobs } from "./sweep.js";

/** Streams a log body into a blob; returns the blob's name and size. 413 past `maxBytes`, nothing kept. */
export async function receiveLog(
  t: { storage: StorageBackend },
  body: IncomingMessage,
  maxBytes: number,
): Promise<{ blob: string; size: number }> {
  const declared = Number(body.headers["content-length"] ?? 0);
  const tooLarge = () =>
    new IngestError("tooLarge", `build log exceeds the limit of ${maxBytes} bytes (--max-log-size)`);
  if (declared > maxBytes) throw tooLarge();
  const staged = await t.storage.stageBlob();
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge();
      hash.update(chunk);
      await staged.write(chunk);
    }
    const blob = hash.digest("hex");
    await staged.commit(blob);
    return { blob, size };
  } catch (e) {
    await staged.discard();
    if (e instanceof IngestError) throw e;
    throw new IngestError("invalid", `build log upload was interrupted after ${size} bytes`, { cause: e });
  }
}

/**
 * Records a received log (its blob in storage already); one the store refuses (the quota filled
 * meanwhile, a GC deleting the blob) has its blob deleted again, unless something names it.
 */
export async function recordLog(
  t: { meta: MetadataStore; storage: StorageBackend },
  cache: string,
  name: string,
  log: { blob: string; size: number },
  file: Pick<SideFile, "contentType" | "contentEncoding">,
): Promise<void> {
  try {
    await t.meta.putSideFile(cache, "log", name, {
      ...file,
      body: Buffer.alloc(0),
      blob: log.blob,
      blobSize: log.size,
    });
  } catch (e) {
    if (errorCode(e) === "tooLarge")
      await deleteUnnamedBlobs(t.meta, t.storage, new Map([[log.blob, log.size]])).catch(() => {});
    throw e;
  }
}
