// Sends a byte range of a blob on an HTTP response at the speed of the socket. A piped
// fs.ReadStream alternates: read one chunk, wait until the socket drains it, read the next, so
// the socket sits idle during every read and each chunk is a fresh 1 MiB allocation for the GC.
// Here a few chunks are kept queued on the socket while the next one is read, and chunk buffers
// are reused once the socket has taken their bytes (measured: about twice the single-connection
// throughput of the piped stream; bench/serve/RESULTS.md).
import type { ServerResponse } from "node:http";
import type { BlobReader } from "../storage/backend.js";

const CHUNK = 1 << 20;
/** Chunks queued on one response: enough to cover a read's latency, bounded per connection. */
const QUEUED = 4;
/** Idle buffers kept for reuse across responses (at most POOL MiB). */
const POOL = 32;
const pool: Buffer[] = [];

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

function giveBuffer(b: Buffer): void {
  if (pool.length < POOL) pool.push(b);
}

/**
 * Writes bytes `start..end` (inclusive) of `blob` to `res`, then ends it; headers must be set.
 * Takes ownership of `blob` and closes it. A client that goes away stops the reads; a read error
 * (or a file shorter than promised) destroys the response, so the client sees a cut-off body
 * rather than a short one with a valid length.
 */
export async function sendBlobRange(res: ServerResponse, blob: BlobReader, start: number, end: number) {
  let pos = start;
  let queued = 0;
  let wake: (() => void) | undefined;
  let gone = false;
  const onClose = () => {
    gone = true;
    wake?.();
  };
  res.on("close", onClose);
  try {
    while (pos <= end && !gone) {
      if (queued >= QUEUED) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      const buf = takeBuffer();
      const want = Math.min(CHUNK, end - pos + 1);
      const { bytesRead } = await blob.read(buf, 0, want, pos);
      if (bytesRead === 0) throw new Error(`file ended ${end - pos + 1} bytes early`);
      if (gone) break;
      pos += bytesRead;
      queued++;
      res.write(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead), (err) => {
        queued--;
        // Only a buffer the socket has finished with may be read into again.
        if (!err) giveBuffer(buf);
        wake?.();
      });
    }
    if (!gone) res.end();
  } catch (err) {
    res.destroy(err as Error);
  } finally {
    res.off("close", onClose);
    await blob.close().catch(() => {});
  }
}
