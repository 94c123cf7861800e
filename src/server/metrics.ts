// Prometheus metrics at GET /metrics, one prom-client Registry per server (tests run several
// servers in one process; the global registry would mix them). Labels are bounded: `route` is the
// route's pattern (`/:cache/:file`, never the URL), `reason` an error code, `cache` a cache name.
//
// Open metrics (no metrics token) name public caches only: a private cache's name is as secret as
// its contents (its own routes answer as if it did not exist). Behind the token, the operator's
// scraper sees every cache.
//
// Requests to /metrics itself are not counted: a scrape would otherwise change what the next
// scrape reports, and dominate the request counts of a quiet server.
//
// Byte counters are what crossed the connection, headers included: a request's bytes in are
// those read from its socket since the previous request on it ended (what a refused upload's
// client managed to send included), its bytes out those written while it was served.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { IngestError } from "./errors.js";

/** Label of requests that matched no route (404s of the not-found handler). */
export const UNMATCHED_ROUTE = "unmatched";
export const METRICS_PATH = "/metrics";

/** One run of the garbage collector, as it reports itself. */
export interface GcRun {
  durationSeconds: number;
  pathsDeleted: number;
  bytesDeleted: number;
  /** False when the run failed part-way (what it deleted until then still counts). */
  ok?: boolean;
  /** When it ended (ms since the epoch; default now). */
  endedAt?: number;
}

/** What the GC calls after each run. */
export interface GcMetrics {
  recordRun(run: GcRun): void;
}

/** A connection pool's state (pg's Pool: totalCount, idleCount, waitingCount). */
export interface DbPoolStats {
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

export interface ServerMetricsOptions {
  /** The caches with their narinfo counts and bytes used, read at each scrape (MetadataStore.listCaches). */
  caches?: () => Promise<
    ReadonlyArray<{ name: string; isPublic: boolean; narinfos: number; bytes?: number }>
  >;
  /** Whether private caches have gauges too (default false: only when /metrics needs a token). */
  privateCaches?: boolean;
  /** Where a failure to read them is reported (the scrape goes on without those gauges). */
  onError?: (err: unknown) => void;
  /** prom-client's process and Node.js metrics (default true). */
  processMetrics?: boolean;
}

/** Seconds: from a cached narinfo (well under a millisecond) to a multi-GiB NAR upload. */
const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];
const GC_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly gc: GcMetrics;
  private readonly requests: Counter<"route" | "method" | "status">;
  private readonly duration: Histogram<"route" | "method">;
  private readonly bytesIn: Counter<"route">;
  private readonly bytesOut: Counter<"route">;
  private readonly refusals: Counter<"reason">;
  private readonly narinfoHits: Counter;
  private readonly narinfoMisses: Counter;
  private poolRegistered = false;
  /** Forgets what the last scrape read (the cache listing). */
  private newScrape = () => {};

  constructor(opts: ServerMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "nixcache_http_requests_total",
      help: "HTTP requests answered, by route pattern, method and status.",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.duration = new Histogram({
      name: "nixcache_http_request_duration_seconds",
      help: "Time from a request's arrival until its response ended or its connection closed.",
      labelNames: ["route", "method"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.bytesIn = new Counter({
      name: "nixcache_http_bytes_in_total",
      help: "Bytes received (request line, headers and body), by route pattern.",
      labelNames: ["route"],
      registers,
    });
    this.bytesOut = new Counter({
      name: "nixcache_http_bytes_out_total",
      help: "Bytes sent (status line, headers and body), by route pattern.",
      labelNames: ["route"],
      registers,
    });
    this.refusals = new Counter({
      name: "nixcache_ingest_refusals_total",
      help: "Uploads refused by ingest (NARs, narinfos, parts, logs), by error code.",
      labelNames: ["reason"],
      registers,
    });
    this.narinfoHits = new Counter({
      name: "nixcache_narinfo_cache_hits_total",
      help: "Narinfo lookups answered from the in-memory narinfo cache.",
      registers,
    });
    this.narinfoMisses = new Counter({
      name: "nixcache_narinfo_cache_misses_total",
      help: "Narinfo lookups that went to the metadata store (whether or not it had the narinfo).",
      registers,
    });

    const listCaches = opts.caches;
    if (listCaches) {
      // One listing per scrape (render) for both per-cache gauges.
      let listing: ReturnType<typeof listCaches> | undefined;
      this.newScrape = () => {
        listing = undefined;
      };
      const shown =
        opts.privateCaches === true ? listCaches : async () => (await listCaches()).filter((c) => c.isPublic);
      const caches = () => {
        listing ??= shown();
        return listing;
      };
      // Read at scrape time; a cache gone since the last scrape disappears with the reset.
      new Gauge({
        name: "nixcache_cache_paths",
        help: "Narinfos (store paths) in each cache.",
        labelNames: ["cache"],
        registers,
        async collect() {
          this.reset();
          try {
            for (const c of await caches()) this.set({ cache: c.name }, c.narinfos);
          } catch (e) {
            opts.onError?.(e);
          }
        },
      });
      new Gauge({
        name: "nixcache_cache_bytes",
        help: "Bytes the NARs of each cache take in storage (what its quota counts).",
        labelNames: ["cache"],
        registers,
        async collect() {
          this.reset();
          try {
            for (const c of await caches()) if (c.bytes !== undefined) this.set({ cache: c.name }, c.bytes);
          } catch {
            // Reported once, by the paths gauge.
          }
        },
      });
    }

    const runs = new Counter({
      name: "nixcache_gc_runs_total",
      help: "Garbage collector runs, by result (ok, failed).",
      labelNames: ["result"],
      registers,
    });
    const gcDuration = new Histogram({
      name: "nixcache_gc_duration_seconds",
      help: "Duration of garbage collector runs.",
      buckets: GC_BUCKETS,
      registers,
    });
    const pathsDeleted = new Counter({
      name: "nixcache_gc_paths_deleted_total",
      help: "Store paths (narinfos) the garbage collector deleted.",
      registers,
    });
    const bytesDeleted = new Counter({
      name: "nixcache_gc_bytes_deleted_total",
      help: "Bytes of blobs the garbage collector deleted.",
      registers,
    });
    const lastRun = new Gauge({
      name: "nixcache_gc_last_run_timestamp_seconds",
      help: "When the last garbage collector run ended (seconds since the epoch).",
      registers,
    });
    this.gc = {
      recordRun(r) {
        runs.inc({ result: r.ok === false ? "failed" : "ok" });
        gcDuration.observe(r.durationSeconds);
        pathsDeleted.inc(r.pathsDeleted);
        bytesDeleted.inc(r.bytesDeleted);
        lastRun.set((r.endedAt ?? Date.now()) / 1000);
      },
    };

    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one answered request. */
  observeRequest(r: {
    route: string;
    method: string;
    status: number;
    seconds: number;
    bytesIn: number;
    bytesOut: number;
  }): void {
    this.requests.inc({ route: r.route, method: r.method, status: String(r.status) });
    this.duration.observe({ route: r.route, method: r.method }, r.seconds);
    if (r.bytesIn > 0) this.bytesIn.inc({ route: r.route }, r.bytesIn);
    if (r.bytesOut > 0) this.bytesOut.inc({ route: r.route }, r.bytesOut);
  }

  /**
   * Counts a NarInfoCache.get result as a hit (answered at once) or a miss (a promise: it asked
   * the store), and hands it back unchanged: `ctx.metrics.narinfoLookup(ctx.narinfos.get(c, h))`.
   */
  narinfoLookup<T>(result: T | Promise<T>): T | Promise<T> {
    if (result instanceof Promise) this.narinfoMisses.inc();
    else this.narinfoHits.inc();
    return result;
  }

  /** Counts an error if it is an ingest refusal. */
  countRefusal(err: unknown): void {
    if (err instanceof IngestError) this.refusals.inc({ reason: err.code });
  }

  /**
   * Registers the `nixcache_db_pool_*` gauges over a pool's state, read at scrape time (a
   * networked metadata store calls this once; the embedded SQLite store has no pool).
   */
  registerDbPool(stats: () => DbPoolStats): void {
    if (this.poolRegistered) throw new Error("a database pool is registered already");
    this.poolRegistered = true;
    const registers = [this.registry];
    const gauge = (name: string, help: string, pick: (s: DbPoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(stats()));
        },
      });
    gauge("nixcache_db_pool_connections", "Connections the metadata database pool holds.", (s) => s.total);
    gauge("nixcache_db_pool_idle_connections", "Connections of the pool not in use.", (s) => s.idle);
    gauge(
      "nixcache_db_pool_waiting_requests",
      "Queries waiting for a connection of the pool.",
      (s) => s.waiting,
    );
  }

  /** The text exposition (Prometheus format 0.0.4). */
  render(): Promise<string> {
    this.newScrape();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** A metadata store that can report its pool (optional: only networked ones have one). */
export interface ReportsDbPool {
  poolStats(): DbPoolStats;
}

export function reportsDbPool(x: unknown): x is ReportsDbPool {
  return typeof (x as Partial<ReportsDbPool>)?.poolStats === "function";
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Whether `header` is `Bearer <token>`, compared in constant time (over hashes: length too). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? "");
  return timingSafeEqual(digest(m?.[1] ?? ""), digest(token)) && m !== null;
}

/**
 * Instruments every request of `app` (call before any route is registered, so that the hooks
 * reach every route) and serves GET /metrics, behind `token` when one is given.
 */
export function registerMetrics(
  app: FastifyInstance,
  metrics: ServerMetrics,
  opts: { token?: string } = {},
): void {
  // Per socket: its bytesRead when its previous request ended.
  const readAtLastEnd = new WeakMap<Socket, number>();
  app.addHook("onRequest", (req, reply, done) => {
    if (routeOf(req) === METRICS_PATH) return done();
    const start = process.hrtime.bigint();
    const socket = req.raw.socket;
    const writtenAtStart = socket.bytesWritten;
    reply.raw.once("close", () => {
      const readNow = socket.bytesRead;
      const bytesIn = readNow - (readAtLastEnd.get(socket) ?? 0);
      readAtLastEnd.set(socket, readNow);
      metrics.observeRequest({
        route: routeOf(req),
        method: req.method,
        status: reply.raw.statusCode,
        seconds: Number(process.hrtime.bigint() - start) / 1e9,
        bytesIn,
        bytesOut: socket.bytesWritten - writtenAtStart,
      });
    });
    done();
  });
  // Runs before the error handler of whichever API the route belongs to.
  app.addHook("onError", (_req, _reply, err, done) => {
    metrics.countRefusal(err);
    done();
  });

  const token = opts.token;
  app.get(METRICS_PATH, async (req, reply) => {
    if (token !== undefined && !bearerMatches(req.headers.authorization, token))
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="nixcache metrics"')
        .type("text/plain; charset=utf-8")
        .send("metrics need Authorization: Bearer <metrics token>\n");
    const body = await metrics.render();
    return reply.type(metrics.contentType).header("cache-control", "no-store").send(body);
  });
}

function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? UNMATCHED_ROUTE;
}
