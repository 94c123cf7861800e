// A minimal Nix HTTP binary cache over a directory (GET/HEAD/PUT), with fault injection. Used by
// the push tests and by bench/push/run.sh as the one server both `nix copy` and `nixcache push`
// upload to. A PUT lands under a temporary name and is renamed into place only once its body is
// complete, like a well-behaved server: an aborted upload leaves nothing behind.
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, normalize } from "node:path";
import { pipeline } from "node:stream/promises";

export interface Faults {
  /** Answer every Nth request (counting all requests) with 500. */
  failEvery?: number;
  /** Every Nth NAR PUT: read part of the body, then drop the connection. */
  dropUploadEvery?: number;
  /** Always answer 500 to PUTs of these paths (relative to the cache root). */
  failPuts?: (rel: string) => boolean;
  /** Answer every Nth request with 429 and this Retry-After (seconds). */
  rateLimitEvery?: number;
  retryAfterSeconds?: number;
}

export interface CacheServerOptions {
  dir: string;
  port?: number;
  /** When set, every request needs `Bearer <token>` or Basic with it as the password. */
  token?: string;
  faults?: Faults;
}

export interface RunningCacheServer {
  url: string;
  port: number;
  /** Requests seen, by method, and the faults injected. */
  stats: { requests: number; puts: number; failed: number; dropped: number; rateLimited: number };
  /** Completed PUTs, in the order they were stored (paths relative to the cache root). */
  stored: string[];
  close(): Promise<void>;
}

export async function startCacheServer(opts: CacheServerOptions): Promise<RunningCacheServer> {
  const faults = opts.faults ?? {};
  const stats = { requests: 0, puts: 0, failed: 0, dropped: 0, rateLimited: 0 };
  const stored: string[] = [];
  let narPuts = 0;
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500).end(`server error: ${e.message}\n`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const n = ++stats.requests;
    const url = new URL(req.url ?? "/", "http://x");
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, "");
    if (rel.startsWith("..") || rel.includes("/../") || rel === "") {
      res.writeHead(400).end("bad path\n");
      return;
    }
    if (opts.token && !authorized(req.headers.authorization, opts.token)) {
      req.resume();
      res.writeHead(401, { "www-authenticate": 'Basic realm="cache"' }).end("unauthorized\n");
      return;
    }
    if (faults.failEvery && n % faults.failEvery === 0) {
      stats.failed++;
      req.resume();
      res.writeHead(500).end("injected failure\n");
      return;
    }
    if (faults.rateLimitEvery && n % faults.rateLimitEvery === 0) {
      stats.rateLimited++;
      req.resume();
      res.writeHead(429, { "retry-after": String(faults.retryAfterSeconds ?? 1) }).end("slow down\n");
      return;
    }
    const file = join(opts.dir, rel);
    if (req.method === "GET" || req.method === "HEAD") {
      let size: number;
      try {
        const st = await stat(file);
        if (!st.isFile()) throw new Error("not a file");
        size = st.size;
      } catch {
        res.writeHead(404).end(req.method === "HEAD" ? undefined : "not found\n");
        return;
      }
      res.writeHead(200, { "content-length": size, "content-type": contentType(rel) });
      if (req.method === "HEAD") res.end();
      else await pipeline(createReadStream(file), res);
      return;
    }
    if (req.method === "PUT") {
      stats.puts++;
      if (faults.failPuts?.(rel)) {
        stats.failed++;
        req.resume();
        res.writeHead(500).end("injected failure for this path\n");
        return;
      }
      const isNar = rel.startsWith("nar/");
      if (isNar) narPuts++;
      if (isNar && faults.dropUploadEvery && narPuts % faults.dropUploadEvery === 0) {
        stats.dropped++;
        // Take some of the body, then cut the connection as a crashing proxy would.
        await new Promise<void>((resolve) => {
          let got = 0;
          req.on("data", (c: Buffer) => {
            got += c.length;
            if (got > 0) {
              req.socket.destroy();
              resolve();
            }
          });
          req.on("end", () => {
            req.socket.destroy();
            resolve();
          });
          req.on("error", () => resolve());
        });
        return;
      }
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.upload-${randomBytes(6).toString("hex")}`;
      try {
        await pipeline(req, createWriteStream(tmp));
        await rename(tmp, file);
        stored.push(rel);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      res.writeHead(201).end();
      return;
    }
    req.resume();
    res.writeHead(405).end("method not allowed\n");
  }

  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    stored,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function authorized(header: string | undefined, token: string): boolean {
  if (!header) return false;
  if (header === `Bearer ${token}`) return true;
  if (header.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    return decoded.slice(decoded.indexOf(":") + 1) === token;
  }
  return false;
}

function contentType(rel: string): string {
  if (rel.endsWith(".narinfo")) return "text/x-nix-narinfo";
  if (rel === "nix-cache-info") return "text/x-nix-cache-info";
  return "application/x-nix-nar";
}

// `node --import tsx bench/push/http-cache-server.ts DIR [PORT]`: serve until killed.
if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write("usage: http-cache-server.ts DIR [PORT]\n");
    process.exit(2);
  }
  const s = await startCacheServer({ dir, port: Number(process.argv[3] ?? 0) });
  process.stdout.write(`${s.url}\n`);
}
