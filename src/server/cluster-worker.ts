// Entry point of one `nixcache serve --workers N` worker process (forked by cluster.ts).

import { NixcacheError } from "../util/errors.js";
import { WORKER_ENV, type WorkerMessage, type WorkerOptions } from "./cluster.js";
import { startServer } from "./server.js";

const opts = JSON.parse(process.env[WORKER_ENV] ?? "{}") as WorkerOptions;
const stderrLine = (line: string) => process.stderr.write(`${line}\n`);
const send = (m: WorkerMessage, then?: () => void) => process.send?.(m, undefined, {}, then);
let stopping = false;
let stop: (() => void) | undefined;

// The primary is gone (killed, crashed): stop now rather than serve on as an orphan that a new
// server on the same data directory knows nothing of.
process.on("disconnect", () => {
  if (!stopping) process.exit(1);
});
const shutdown = () => {
  stopping = true;
  stop?.();
};
process.on("message", (m: { type?: string }) => {
  if (m?.type === "shutdown") shutdown();
});
// Ctrl-C reaches the whole process group; the primary asks for the same thing anyway.
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

try {
  const server = await startServer({
    ...opts,
    clearTmp: false,
    log: opts.logRequests ? stderrLine : undefined,
    eventLog: stderrLine,
  });
  stop = () => {
    server.close().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`nixcache: error during shutdown: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  send({ type: "listening", url: server.url });
  if (stopping) stop();
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  stopping = true;
  // Only a system error's code (EADDRINUSE, EACCES) means something to the primary.
  const systemCode = e instanceof NixcacheError ? undefined : err.code;
  send({ type: "failed", message: err.message, systemCode }, () => process.exit(1));
}
