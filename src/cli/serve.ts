import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { defaultDataDir } from "../server/data-dir.js";
import { ClusterStartError } from "../server/errors.js";
import { DEFAULT_LISTEN, DEFAULT_MAX_UPLOAD_BYTES, parseListen, startServer } from "../server/server.js";
import { parseSize } from "../util/quantity.js";
import { UserError } from "./output.js";

/** Default of `--workers`; see bench/serve/RESULTS.md for the measurements behind it. */
const DEFAULT_WORKERS = "1";

/** `4` or `auto` (one per CPU) → a worker count. */
function parseWorkers(s: string): number {
  if (s === "auto") return availableParallelism();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 256)
    throw new UserError(`--workers ${JSON.stringify(s)} must be a number from 1 to 256, or auto`, 2);
  return n;
}

/** `--max-upload`: `512M`, `8G`, `1048576` → bytes. */
function maxUpload(s: string): number {
  try {
    return parseSize(s);
  } catch {
    throw new UserError(`--max-upload ${JSON.stringify(s)} is not a size like 512M or 8G`, 2);
  }
}

export function registerServeCommands(program: Command): void {
  program
    .command("serve")
    .description(
      "Run the embedded binary cache server. Each cache of the data directory is a Nix HTTP binary " +
        "cache at http://HOST:PORT/<cache>/ that `nix copy --to` writes to and Nix substitutes from. " +
        "Uploads are verified (NAR hash and size) before they are stored and signed with the cache's key. " +
        "Prints `listening on URL` on stdout, then one JSON line per request on stderr. SIGTERM/SIGINT " +
        "stop accepting, let in-flight uploads finish, and exit.",
    )
    .option("--data <dir>", "data directory (default: $NIXCACHE_DATA, else $XDG_DATA_HOME/nixcache)")
    .option("--listen <host:port>", "address to listen on", DEFAULT_LISTEN)
    .option(
      "--max-upload <size>",
      "largest NAR upload accepted, e.g. 512M, 8G",
      `${DEFAULT_MAX_UPLOAD_BYTES / 1024 ** 3}G`,
    )
    .option("--quiet", "no request logs")
    .option(
      "--workers <n>",
      "server processes sharing the port: a number, or `auto` for one per CPU (worth it when the " +
        "server has cores to itself; bench/serve/RESULTS.md)",
      DEFAULT_WORKERS,
    )
    .addHelpText(
      "after",
      "\nExample:\n  nixcache cache create main --data ./data\n" +
        "  nixcache token create --data ./data --cache main --perm write > token\n" +
        "  nixcache serve --data ./data --listen 127.0.0.1:7080\n" +
        "  nixcache serve --data ./data --listen :7080 --workers auto --quiet   # a dedicated machine\n" +
        "  nix copy --to 'http://127.0.0.1:7080/main?compression=zstd' --option netrc-file ./netrc ./result",
    )
    .action(
      async (o: { data?: string; listen: string; maxUpload: string; quiet?: boolean; workers: string }) => {
        let listen: { host: string; port: number };
        try {
          listen = parseListen(o.listen);
        } catch (e) {
          throw new UserError((e as Error).message, 2);
        }
        const workers = parseWorkers(o.workers);
        const dataDir = o.data ?? defaultDataDir();
        const maxUploadBytes = maxUpload(o.maxUpload);
        const stderrLine = (line: string) => process.stderr.write(`${line}\n`);
        // One worker is the plain in-process server; more are forked processes (loaded only then).
        const started: Promise<{ url: string; close(): Promise<void> }> =
          workers === 1
            ? startServer({ dataDir, ...listen, maxUploadBytes, log: o.quiet ? undefined : stderrLine })
            : import("../server/cluster.js").then((c) =>
                c.startCluster(
                  { dataDir, ...listen, maxUploadBytes, logRequests: !o.quiet },
                  workers,
                  stderrLine,
                ),
              );
        const server = await started.catch((e: NodeJS.ErrnoException) => {
          // A worker's start failure carries the system error's code on its own field.
          const code = e instanceof ClusterStartError ? e.systemCode : e.code;
          if (code === "EADDRINUSE") throw new UserError(`${o.listen} is already in use`);
          if (code === "EACCES")
            throw new UserError(`no permission to listen on ${o.listen} or to use ${dataDir}`);
          throw e;
        });
        process.stdout.write(`listening on ${server.url}\n`);
        await new Promise<void>((resolve) => {
          const stop = (sig: string) => {
            process.stderr.write(
              `${JSON.stringify({ time: new Date().toISOString(), event: "shutdown", signal: sig })}\n`,
            );
            server.close().then(resolve, (e) => {
              process.stderr.write(`nixcache: error during shutdown: ${(e as Error).message}\n`);
              process.exitCode = 1;
              resolve();
            });
          };
          process.once("SIGTERM", () => stop("SIGTERM"));
          process.once("SIGINT", () => stop("SIGINT"));
        });
      },
    );
}
