// `nixcache serve --workers N`: N server processes behind one listening socket (node:cluster).
// One Node thread tops out below what the machine can serve (bench/serve/RESULTS.md); the
// workers share nothing but the data directory, which is built for that: SQLite in WAL mode with
// a busy timeout, short write transactions, and blobs that appear by atomic rename.
//
// The primary prepares the data directory once (schema, tmp/ cleared) before any worker starts,
// so no worker ever clears tmp/ under another's upload; it then only forks, relays shutdown and
// replaces workers that die. Workers exit as soon as the primary is gone (IPC disconnect): a
// SIGKILLed primary leaves no orphan serving on, and dying at any instant is what the data
// directory is designed to survive.
import cluster, { type Worker } from "node:cluster";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NixcacheError } from "../util/errors.js";
import { ClusterStartError } from "./errors.js";
import { DEFAULT_SWEEP_INTERVAL_MS, startSweeper, sweep } from "./ingest/sweep.js";
import { type ServerOptions, sweepOptionsOf } from "./server.js";
import { openMetadata, openStorage } from "./state-location.js";

/** What a worker is started with (JSON in its environment: functions cannot cross). */
export interface WorkerOptions extends Omit<ServerOptions, "log" | "clearTmp"> {
  /** Request logs on stderr, one JSON line per request. */
  logRequests: boolean;
}

export type WorkerMessage =
  | { type: "listening"; url: string }
  | { type: "failed"; message: string; systemCode?: string };

export const WORKER_ENV = "NIXCACHE_SERVE_WORKER";

export interface RunningCluster {
  url: string;
  workers: number;
  /** Asks every worker to stop accepting and finish its in-flight uploads; resolves when all exited. */
  close(): Promise<void>;
}

/** Starts `count` worker processes serving `opts`; resolves once all of them listen. */
export async function startCluster(
  opts: WorkerOptions,
  count: number,
  events: (line: string) => void = () => {},
): Promise<RunningCluster> {
  // Once, before any worker: migrations, staged writes, what clients left behind; then the sweep
  // runs here periodically, in this one process.
  const storage = await openStorage(opts);
  await storage.init({ clearStaging: true });
  const meta = await openMetadata(opts);
  const sweepOpts = sweepOptionsOf(opts);
  try {
    await sweep(meta, storage, sweepOpts);
  } catch (e) {
    await meta.close();
    throw e;
  }
  const sweeper = startSweeper(meta, storage, {
    ...sweepOpts,
    intervalMs: opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    onError: (e) =>
      events(JSON.stringify({ time: new Date().toISOString(), level: "error", error: String(e) })),
  });
  const stopSweeping = async () => {
    await sweeper.stop();
    await meta.close();
  };

  const self = fileURLToPath(import.meta.url);
  cluster.setupPrimary({ exec: join(dirname(self), `cluster-worker${extname(self)}`) });
  const env = { [WORKER_ENV]: JSON.stringify(opts) };
  const live = new Set<Worker>();
  /** Workers that listen, and so have their message handler: a message sent earlier is lost. */
  const ready = new WeakSet<Worker>();
  let closing = false;
  let url = "";

  const fork = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork(env);
      live.add(w);
      let started = false;
      w.on("message", (m: WorkerMessage) => {
        if (m.type === "listening") {
          started = true;
          ready.add(w);
          // Started while the cluster was being closed: it missed the request, so ask again.
          if (closing) w.send({ type: "shutdown" });
          resolve(m.url);
        } else if (m.type === "failed") reject(new ClusterStartError(m.message, m.systemCode));
      });
      w.on("exit", (code, signal) => {
        live.delete(w);
        if (!started)
          return reject(new ClusterStartError(`a server worker exited (${signal ?? code}) while starting`));
        if (closing) return;
        // A worker that died on its own is replaced (after a pause, so a worker that cannot run
        // does not become a fork loop); its uploads in flight are lost as in a crash.
        events(JSON.stringify({ time: new Date().toISOString(), event: "worker-exit", code, signal }));
        setTimeout(() => {
          if (closing) return;
          fork().catch((e) => {
            if (!closing)
              events(
                JSON.stringify({ time: new Date().toISOString(), event: "worker-failed", error: String(e) }),
              );
          });
        }, 1000);
      });
    });

  try {
    const urls = await Promise.all(Array.from({ length: count }, fork));
    url = urls[0] as string;
  } catch (e) {
    closing = true;
    for (const w of live) w.process.kill("SIGKILL");
    await Promise.all([...live].map((w) => new Promise((r) => w.once("exit", r))));
    await stopSweeping();
    throw e;
  }

  let closed: Promise<void> | undefined;
  return {
    url,
    workers: count,
    close() {
      closed ??= (async () => {
        closing = true;
        const exits = [...live].map(
          (w) =>
            new Promise<number | null>((resolve) => {
              if (w.isDead()) return resolve(w.process.exitCode);
              w.once("exit", (code) => resolve(code));
              if (ready.has(w)) w.send({ type: "shutdown" });
            }),
        );
        const codes = await Promise.all(exits);
        await stopSweeping();
        const failed = codes.filter((c) => c !== 0).length;
        if (failed)
          throw new NixcacheError(
            "internal",
            `${failed} of ${codes.length} server workers did not stop cleanly`,
          );
      })();
      return closed;
    },
  };
}
