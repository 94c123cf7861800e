// Writing large streams (NARs, file contents) to stdout at the speed of the pipe. stdout is a
// non-blocking pipe once Node has opened it, so a synchronous write fills the pipe and then fails
// with EAGAIN; polling that with timers loses hundreds of milliseconds per GiB on a busy machine.
// Instead each chunk goes through the stream's own write, which libuv finishes when the pipe is
// writable again; waiting for its callback is the backpressure, and lets the producer reuse the
// chunk's memory afterwards (encodeNarBorrowed does).
import type { Writable } from "node:stream";

/** Thrown through `writeChunks` when the reader went away (EPIPE); callers stop quietly. */
export class OutputClosed extends Error {
  override name = "OutputClosed";
}

function writeOne(out: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(chunk, (err) => {
      if (!err) resolve();
      else if ((err as NodeJS.ErrnoException).code === "EPIPE") reject(new OutputClosed("output closed"));
      else reject(err);
    });
  });
}

/**
 * Writes every chunk of `chunks` to `out` (default stdout), one at a time, each done with before the
 * next is asked for. A closed reader (`… | head`) ends the copy quietly, like `nix-store --dump`.
 */
export async function writeChunks(
  chunks: AsyncIterable<Buffer>,
  out: Writable = process.stdout,
): Promise<void> {
  try {
    for await (const chunk of chunks) await writeOne(out, chunk);
  } catch (err) {
    if (!(err instanceof OutputClosed)) throw err;
  }
}
