// The embedded binary cache server: wiring of storage, metadata, routes, request logs and shutdown.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import Fastify, { type FastifyInstance, type FastifyListenOptions } from "fastify";
import { NixcacheError } from "../util/errors.js";
import { every, type Periodic } from "../util/periodic.js";
import { AccessTimes } from "./access-times.js";
import { ActivityRecorder } from "./activity.js";
import { formatBase, listenedHost } from "./addresses.js";
import { type OidcIssuerConfig, OidcVerifier, type OidcVerifierOptions } from "./auth/oidc.js";
import { DEFAULT_OIDC_EXCHANGES_PER_MINUTE, DEFAULT_OIDC_TOKEN_TTL_MS } from "./auth/oidc-exchange.js";
import { createHttpServer, type HttpLimits } from "./connections.js";
import type { ServerContext } from "./context.js";
import { FetchGuard } from "./fetch-guard.js";
import { DEFAULT_GC_INTERVAL_MS, type GcReport, gcTotals, startGc } from "./gc.js";
import { DEFAULT_SWEEP_INTERVAL_MS, type SweepOptions, startSweeper, sweep } from "./ingest/sweep.js";
import { NarInfoCache } from "./metadata/narinfo-cache.js";
import type { CacheMemoOptions } from "./metadata/queries/caches.js";
import type { MetadataStore } from "./metadata/store.js";
import { registerMetrics, reportsDbPool, ServerMetrics } from "./metrics.js";
import { registerCacheConfigRoute } from "./routes/cache-config.js";
import { registerCachixRoutes } from "./routes/cachix.js";
import { stillWaiting } from "./routes/continue.js";
import { pathOnly, registerNixRoutes } from "./routes/nix.js";
import { registerUiRoutes } from "./routes/ui.js";
import { registerUiAssets } from "./routes/ui-assets.js";
import { openMetadata, openStorage, type StateLocation } from "./state-location.js";
import type { StorageBackend } from "./storage/backend.js";
import { defaultUpstreams, type Upstream, UpstreamResolver } from "./upstreams.js";

export const DEFAULT_LISTEN = "127.0.0.1:7080";
export const DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 ** 3;
/** Largest NAR after decompression: far above real store paths, far below what a bomb reaches. */
export const DEFAULT_MAX_NAR_BYTES = 64 * 1024 ** 3;
export const DEFAULT_MAX_LOG_BYTES = 64 * 1024 ** 2;
export const DEFAULT_MAX_OPEN_UPLOADS = 100;
/** How long in-flight requests get to finish at shutdown before their connections are cut. */
export const SHUTDOWN_GRACE_MS = 30_000;
/** narinfos, nix-cache-info and listings are small; this bounds what is read into memory. */
export const MAX_NARINFO_BYTES = 64 * 1024;
/** Request line plus headers; Nix's are a few hundred bytes. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** Where the state is (StateLocation: `--data`, or `--db` and `--storage`), how to listen, limits. */
export interface ServerOptions extends HttpLimits, SweepOptions, StateLocation {
  /** How long cache rows are remembered, and by which clock (tests pass their own). */
  cacheRows?: CacheMemoOptions;
  host?: string;
  port?: number;
  /**
   * Serve on this already listening socket instead of `host`/`port` (systemd's socket activation
   * passes it as fd 3). In a worker of `serve --workers` the primary owns it and hands out its
   * connections.
   */
  listenFd?: number;
  /** Base URL of the server as clients reach it (default: the listen address). */
  publicUrl?: string;
  maxUploadBytes?: number;
  maxNarBytes?: number;
  maxLogBytes?: number;
  maxOpenUploads?: number;
  /** How often the sweep of abandoned uploads and orphans runs (default 10 minutes). */
  sweepIntervalMs?: number;
  shutdownGraceMs?: number;
  /** Lifetime of the Cachix API's presigned part URLs (default one hour). */
  cachixPartUrlTtlMs?: number;
  /** Receives one JSON line per request (default: none). */
  log?: (line: string) => void;
  /**
   * Receives errors and events (GC runs, the connection cap reached) as JSON lines (default: `log`).
   * `serve --quiet` drops request lines only: an operator must still hear that the disk is full.
   */
  eventLog?: (line: string) => void;
  /**
   * Answer GETs of a public cache's NARs with a redirect to a short-lived URL of the object
   * store, when storage can make one (S3); private caches always stream.
   */
  narRedirect?: boolean;
  /** Whether to clear tmp/ at start (default true; false in the workers of a cluster). */
  clearTmp?: boolean;
  /** When set, GET /metrics needs `Authorization: Bearer <metricsToken>` (and names private caches too). */
  metricsToken?: string;
  /**
   * Caches whose signed paths count as present for the closure rule (default: cache.nixos.org
   * with its key, what `nixcache build` leaves out by default; [] for none).
   */
  upstreams?: Upstream[];
  /** How often references that pending narinfos wait for are looked up again (default 5 minutes). */
  upstreamRecheckMs?: number;
  /** How often narinfo access times kept in memory are written (default 30 s; also at shutdown). */
  accessFlushMs?: number;
  /** How often the garbage collector runs (default one hour; 0: never). One replica at a time runs it. */
  gcIntervalMs?: number;
  /** How long the GC leaves a narinfo marked before it deletes it (default one hour). */
  gcGraceMs?: number;
  /** How often the dashboard's counts (pushes, narinfo lookups) are written (default 10 s). */
  activityFlushMs?: number;
  /**
   * Issuers whose OIDC identity tokens `POST /api/v1/oidc/token` exchanges for cache tokens, each
   * with the audiences its tokens may name (`serve --oidc-issuer`, `--oidc-audience`). None: the
   * exchange answers 404.
   */
  oidcIssuers?: OidcIssuerConfig[];
  /** Lifetime of the tokens the exchange mints (default 6 h: DEFAULT_OIDC_TOKEN_TTL_MS). */
  oidcTokenTtlMs?: number;
  /**
   * Identity tokens issued longer ago than this are refused, whatever their `exp` (default 1 h:
   * DEFAULT_OIDC_MAX_TOKEN_AGE_SECONDS); over `oidcVerifier.maxTokenAgeSeconds`.
   */
  oidcMaxTokenAgeMs?: number;
  /**
   * Identity tokens one subject (an issuer's `sub`) may exchange per minute, across replicas
   * (default DEFAULT_OIDC_EXCHANGES_PER_MINUTE); more are answered 429.
   */
  oidcExchangesPerMinute?: number;
  /** Tuning of the identity token checks: clock tolerance, key refresh cooldown, timeouts. */
  oidcVerifier?: OidcVerifierOptions;
}

/** The exchange's verifier and token lifetime, or undefined without issuers; bad config is a usage error. */
function oidcExchange(opts: ServerOptions): ServerContext["oidc"] {
  if (!opts.oidcIssuers?.length) return undefined;
  const tokenTtlMs = opts.oidcTokenTtlMs ?? DEFAULT_OIDC_TOKEN_TTL_MS;
  if (!(tokenTtlMs > 0)) throw new NixcacheError("usage", "the OIDC token lifetime must be positive");
  try {
    const maxAge = opts.oidcMaxTokenAgeMs;
    const verifierOpts =
      maxAge === undefined ? opts.oidcVerifier : { ...opts.oidcVerifier, maxTokenAgeSeconds: maxAge / 1000 };
    const exchangesPerMinute = opts.oidcExchangesPerMinute ?? DEFAULT_OIDC_EXCHANGES_PER_MINUTE;
    if (!(Number.isInteger(exchangesPerMinute) && exchangesPerMinute >= 1))
      throw new NixcacheError("usage", "the OIDC exchanges per minute must be a whole number, at least 1");
    return { verifier: new OidcVerifier(opts.oidcIssuers, verifierOpts), tokenTtlMs, exchangesPerMinute };
  } catch (e) {
    if (e instanceof TypeError) throw new NixcacheError("usage", `--oidc-issuer: ${e.message}`);
    throw e;
  }
}

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:7080`; a cache is at `${url}/<name>`. */
  url: string;
  /** The unix socket it serves on, when systemd handed it one (`url` is then the public URL). */
  socketPath?: string;
  port: number;
  app: FastifyInstance;
  meta: MetadataStore;
  /** The blob storage it serves from. */
  storage: StorageBackend;
  /** The server's Prometheus metrics (the GC reports its runs to `metrics.gc`). */
  metrics: ServerMetrics;
  /** The periodic garbage collector (undefined when `gcIntervalMs` is 0); `runNow` runs it at once. */
  gc?: Periodic;
  /** Narinfo access times not yet written. */
  accessTimes: AccessTimes;
  /** What a GC in this process must not delete (fetched here, access not yet written). */
  fetchGuard: FetchGuard;
  /** Stops accepting, lets in-flight uploads commit, then closes the metadata store. */
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const oidc = oidcExchange(opts);
  const meta = await openMetadata(opts, opts.cacheRows);
  const clearStaging = opts.clearTmp ?? true;
  const sweepOpts = sweepOptionsOf(opts);
  let storage: StorageBackend;
  try {
    storage = await openStorage(opts);
    await storage.init({ clearStaging });
    // Like staged writes, what clients left behind is cleared by one process only (not a worker).
    if (clearStaging) await sweep(meta, storage, sweepOpts);
  } catch (e) {
    await meta.close();
    throw e;
  }
  const inflight = new Set<Promise<unknown>>();
  const log = opts.log;
  const eventLog = opts.eventLog ?? log;
  const event = (fields: Record<string, unknown>) =>
    eventLog?.(JSON.stringify({ time: new Date().toISOString(), ...fields }));
  let publicUrl = opts.publicUrl;
  const metrics = new ServerMetrics({
    caches: () => meta.listCaches(),
    privateCaches: opts.metricsToken !== undefined,
    onError: (e) => ctx.logError(e),
  });
  if (reportsDbPool(meta)) metrics.registerDbPool(() => meta.poolStats());
  const accessTimes = new AccessTimes(meta, { flushMs: opts.accessFlushMs, onError: (e) => ctx.logError(e) });
  const ctx: ServerContext = {
    meta,
    storage,
    metrics,
    narinfos: new NarInfoCache(meta),
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    maxNarBytes: opts.maxNarBytes ?? DEFAULT_MAX_NAR_BYTES,
    maxNarInfoBytes: MAX_NARINFO_BYTES,
    maxLogBytes: opts.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
    maxOpenUploads: opts.maxOpenUploads ?? DEFAULT_MAX_OPEN_UPLOADS,
    narRedirect: opts.narRedirect ?? false,
    publicUrl: () => publicUrl ?? "",
    shutdownWaitsFor(work) {
      inflight.add(work);
      const done = () => inflight.delete(work);
      work.then(done, done);
      return work;
    },
    logError(err) {
      event({ level: "error", error: String(err) });
    },
    logEvent(event) {
      log?.(JSON.stringify({ time: new Date().toISOString(), ...event }));
    },
    activity: new ActivityRecorder(meta, { flushMs: opts.activityFlushMs, onError: (e) => ctx.logError(e) }),
    onMissingReferences: (cache, hashes) => resolver.enqueue(cache, hashes),
    accessTimes,
    fetchGuard: new FetchGuard(accessTimes),
    oidc,
    oidcAudience: opts.oidcIssuers?.[0]?.audiences[0],
  };
  const resolver = new UpstreamResolver(meta, opts.upstreams ?? defaultUpstreams(), {
    onError: (e) => ctx.logError(e),
  });

  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    routerOptions: { maxParamLength: 300 },
    // Node's own server: explicit header limit, no whole-request deadline, a no-progress timeout,
    // caps on connections per client and in all, and `Expect: 100-continue` left to the handlers.
    serverFactory: (handler) =>
      createHttpServer(handler as (req: IncomingMessage, res: ServerResponse) => void, {
        ...opts,
        maxHeaderBytes: MAX_HEADER_BYTES,
        onCap: (message) => event({ level: "warn", event: "connection-cap", message }),
      }),
  });
  // An answer sent before the body was asked for (the client never sends it) or read to its end
  // (a refusal mid-way): the connection cannot carry another request.
  app.addHook("onSend", (req, reply, payload, done) => {
    if (stillWaiting(req.raw) || !req.raw.complete) reply.header("connection", "close");
    done(null, payload);
  });
  // Bodies are streamed by the routes themselves (NARs are never buffered), whatever their type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));

  if (log) {
    app.addHook("onResponse", (req, reply, done) => {
      const len = reply.getHeader("content-length");
      log(
        JSON.stringify({
          time: new Date().toISOString(),
          method: req.method,
          url: pathOnly(req.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          bytes: len === undefined ? 0 : Number(len),
          cache: (req as { cacheName?: string }).cacheName ?? null,
        }),
      );
      done();
    });
  }

  registerMetrics(app, metrics, { token: opts.metricsToken });
  registerNixRoutes(app, ctx);
  registerCachixRoutes(app, ctx, { partUrlTtlMs: opts.cachixPartUrlTtlMs });
  registerUiRoutes(app, ctx);
  registerUiAssets(app);
  registerCacheConfigRoute(app, ctx);
  // With a socket handed over, the host given only keeps fastify from binding more addresses.
  await app.listen(
    opts.listenFd === undefined
      ? { host: opts.host ?? "127.0.0.1", port: opts.port ?? 7080 }
      : // Node's server.listen takes `fd`; fastify passes its options through.
        ({ fd: opts.listenFd, host: "0.0.0.0" } as FastifyListenOptions),
  );
  const address = (app.server as Server).address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url =
    typeof address === "string"
      ? (publicUrl ?? "http://localhost")
      : opts.listenFd === undefined
        ? formatBase(opts.host ?? "127.0.0.1", port)
        : formatBase(listenedHost(address), port);
  publicUrl ??= url;
  const sweeper = clearStaging
    ? startSweeper(meta, storage, {
        ...sweepOpts,
        intervalMs: opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
        onError: (e) => ctx.logError(e),
      })
    : undefined;
  // Every replica rechecks: lookups are idempotent, and a lone replica must not depend on another.
  const rechecker =
    resolver.upstreams.length > 0
      ? every(
          opts.upstreamRecheckMs ?? 5 * 60_000,
          () => resolver.recheck(),
          (e) => ctx.logError(e),
        )
      : undefined;

  const gcInterval = opts.gcIntervalMs ?? DEFAULT_GC_INTERVAL_MS;
  const gc =
    gcInterval > 0
      ? startGc(meta, storage, {
          intervalMs: gcInterval,
          graceMs: opts.gcGraceMs,
          accessTimes: ctx.accessTimes,
          fetchGuard: ctx.fetchGuard,
          sweep: sweepOpts,
          metrics: metrics.gc,
          onRun: (r) => event({ event: "gc", ...gcLogLine(r) }),
          onError: (e) => ctx.logError(e),
        })
      : undefined;

  let closing: Promise<void> | undefined;
  return {
    url,
    ...(typeof address === "string" ? { socketPath: address } : {}),
    port,
    app,
    meta,
    storage,
    metrics,
    gc,
    accessTimes: ctx.accessTimes,
    fetchGuard: ctx.fetchGuard,
    close() {
      closing ??= (async () => {
        // Keep-alive connections still busy when we stop are closed as soon as they go idle; any
        // still open after the grace (a client that stalls) are cut, so shutdown always ends.
        const server = app.server as Server;
        server.keepAliveTimeout = 1;
        const cut = setTimeout(() => server.closeAllConnections(), opts.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
        try {
          await app.close();
          await Promise.allSettled([...inflight]);
        } finally {
          clearTimeout(cut);
        }
        // Upstream lookups are aborted, not waited for: a slow upstream with a backlog of them
        // would hold shutdown for hours. What they were for stays pending, rechecked after start.
        await resolver.close();
        await gc?.stop();
        await sweeper?.stop();
        await rechecker?.stop();
        await ctx.accessTimes.close().catch((e) => ctx.logError(e));
        await ctx.activity.close().catch((e: unknown) => ctx.logError(e));
        await meta.close();
      })();
      return closing;
    },
  };
}

export function sweepOptionsOf(o: SweepOptions & { cachixPartUrlTtlMs?: number }): SweepOptions {
  return {
    staleUploadMs: o.staleUploadMs ?? o.cachixPartUrlTtlMs,
    orphanGraceMs: o.orphanGraceMs,
    pendingExpiryMs: o.pendingExpiryMs,
  };
}

/** A GC run in one log line: totals and the caches that lost something. */
function gcLogLine(r: GcReport) {
  const { paths, bytes } = gcTotals(r);
  const caches = Object.fromEntries(
    Object.entries(r.caches).filter(([, c]) => c.deletedPaths > 0 || c.markedPaths > 0),
  );
  return { seconds: r.durationSeconds, deletedPaths: paths, deletedBytes: bytes, caches };
}
