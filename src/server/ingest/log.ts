// Build logs (`PUT /<cache>/log/<drv>`) are stored as blobs, streamed in and out, never held in
// memory or in the metadata store, and bounded in size.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { IngestError } from "../errors.js";
import type { StorageBackend } from "../storage/backend.js";

/** Streams a log body into a blob; returns the blob's name. 413 past `maxBytes`, nothing kept. */
export async function receiveLog(
  t: { storage: StorageBackend },
  body: IncomingMessage,
  maxBytes: number,
): Promise<string> {
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
    return blob;
  } catch (e) {
    await staged.discard();
    if (e instanceof IngestError) throw e;
    throw new IngestError("invalid", `build log upload was interrupted after ${size} bytes`, { cause: e });
  }
}
