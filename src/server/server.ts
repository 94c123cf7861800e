// The embedded binary cache server: wiring of storage, metadata, routes, request logs and shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import { NixcacheError } from "../util/errors.js";
import type { ServerContext } from "./context.js";
import { sweepStaleUploads } from "./ingest/stale-uploads.js";
import { NarInfoCache } from "./metadata/narinfo-cache.js";
import type { MetadataStore } from "./metadata/store.js";
import { registerCachixRoutes } from "./routes/cachix.js";
import { pathOnly, registerNixRoutes } from "./routes/nix.js";
import { openMetadata, openStorage } from "./stores.js";

export const DEFAULT_LISTEN = "127.0.0.1:7080";
export const DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 ** 3;
/** narinfos, nix-cache-info and listings are small; this bounds what is read into memory. */
export const MAX_NARINFO_BYTES = 64 * 1024;
/** Request line plus headers; Nix's are a few hundred bytes. */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface ServerOptions {
  dataDir: string;
  host?: string;
  port?: number;
  maxUploadBytes?: number;
  /** Lifetime of the Cachix API's presigned part URLs (default one hour). */
  cachixPartUrlTtlMs?: number;
  /** Receives one JSON line per request (default: none). */
  log?: (line: string) => void;
  /** Whether to clear tmp/ at start (default true; false in the workers of a cluster). */
  clearTmp?: boolean;
}

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:7080`; a cache is at `${url}/<name>`. */
  url: string;
  port: number;
  app: FastifyInstance;
  meta: MetadataStore;
  /** Stops accepting, lets in-flight uploads commit, then closes the metadata store. */
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const meta = await openMetadata(opts);
  const storage = openStorage(opts);
  const clearStaging = opts.clearTmp ?? true;
  await storage.init({ clearStaging });
  // Like staged writes, what dead multipart uploads left is cleared by one process only (not a worker).
  if (clearStaging) await sweepStaleUploads(meta, storage, opts.cachixPartUrlTtlMs);
  const inflight = new Set<Promise<unknown>>();
  const log = opts.log;
  const ctx: ServerContext = {
    meta,
    storage,
    narinfos: new NarInfoCache(meta),
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    maxNarInfoBytes: MAX_NARINFO_BYTES,
    track(work) {
      inflight.add(work);
      const done = () => inflight.delete(work);
      work.then(done, done);
      return work;
    },
    logError(err) {
      log?.(JSON.stringify({ time: new Date().toISOString(), level: "error", error: String(err) }));
    },
  };

  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    routerOptions: { maxParamLength: 300 },
    // Node's own server, so the header limit is explicit; it answers `Expect: 100-continue` itself.
    serverFactory: (handler) =>
      createServer(
        { maxHeaderSize: MAX_HEADER_BYTES },
        handler as (req: IncomingMessage, res: ServerResponse) => void,
      ),
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

  registerNixRoutes(app, ctx);
  registerCachixRoutes(app, ctx, { partUrlTtlMs: opts.cachixPartUrlTtlMs });
  await app.listen({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 7080 });
  const port = (app.server as Server).address() as { port: number };
  const url = formatBase(opts.host ?? "127.0.0.1", port.port);

  let closing: Promise<void> | undefined;
  return {
    url,
    port: port.port,
    app,
    meta,
    close() {
      closing ??= (async () => {
        // Keep-alive connections still busy when we stop are closed as soon as they go idle.
        (app.server as Server).keepAliveTimeout = 1;
        await app.close();
        await Promise.allSettled([...inflight]);
        await meta.close();
      })();
      return closing;
    },
  };
}

function formatBase(host: string, port: number): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** Parses `HOST:PORT` (or `[v6]:PORT`, or `:PORT` for all interfaces). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new NixcacheError("usage", `--listen ${JSON.stringify(s)} is not HOST:PORT (e.g. 127.0.0.1:7080)`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}
