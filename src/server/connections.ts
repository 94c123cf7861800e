// The HTTP server under Fastify, and what it does about slow, stalled and greedy clients:
// - no whole-request deadline (Node's default `requestTimeout` of 5 minutes would cut every long
//   upload); instead a no-progress timeout: a connection on which the server waits for the client
//   (to send the rest of a body, or to read what was sent) and nothing moves for that long is cut.
//   While the server itself is working (verifying a NAR, reading a blob) it is never cut. It is
//   the server's own watch, not Node's socket idle timer: that one takes a write the kernel
//   accepted part of as activity at its first expiry, so a client that stopped reading was cut
//   only after twice the timeout or more;
// - a cap on concurrent connections per client address: the ones beyond it are answered 429;
// - a cap on connections of all clients together, under the process's file descriptor limit:
//   at the cap the connection idle longest is closed to make room; when none is idle, the new one
//   is answered 503;
// - `Expect: 100-continue` is left to the handlers (routes/continue.ts), so that authorization
//   comes before the body.
import { readFileSync } from "node:fs";
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import { expectsContinue } from "./routes/continue.js";

export const DEFAULT_NO_PROGRESS_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 64;
/** File descriptors the connection cap leaves alone: database, WAL, logs, listening sockets, GC. */
export const FD_RESERVE = 128;
/** How long a connection refused at the cap may take to send the request its 503 answers. */
const REFUSED_FUSE_MS = 5000;
/** The open-file limit assumed where the system does not say (a common soft limit). */
const ASSUMED_FD_LIMIT = 1024;

export interface HttpLimits {
  /** Cut a connection that waits on its client with nothing moving for this long (default 60 s; 0: never). */
  noProgressTimeoutMs?: number;
  /** Connections one client address may hold at once (default 64; 0: no limit). */
  maxConnectionsPerClient?: number;
  /** Connections all clients together may hold (default: defaultMaxConnections(); 0: no limit). */
  maxConnections?: number;
}

/** This process's open-file limit (`ulimit -n`; Node raises it to the hard limit at start), if known. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The default cap on connections: half of what the open-file limit leaves after FD_RESERVE, so
 * that every connection can also hold the blob it sends or the upload it stages.
 */
export function defaultMaxConnections(fdLimit = openFileLimit() ?? ASSUMED_FD_LIMIT): number {
  return Math.max(16, Math.floor((fdLimit - FD_RESERVE) / 2));
}

/** What the server knows of one connection. */
interface Conn {
  addr: string;
  /** The request being answered, if any. */
  req?: IncomingMessage;
  res?: ServerResponse;
  /** Bytes read plus bytes the kernel took, at the last look. */
  moved: number;
  /** When something last moved, or the server last had work of its own on it. */
  since: number;
}

/** Whether the server, not the client, is the one that has to move next on this connection. */
function serverIsWorking(req: IncomingMessage | undefined, res: ServerResponse | undefined, socket: Socket) {
  if (!req || !res) return false; // between requests, or headers still arriving
  if (res.headersSent) return socket.writableLength === 0; // queued bytes: the client is not reading
  if (!req.complete) return req.readableLength > 0; // nothing buffered: the client is not sending
  return true; // the whole request is in, the answer is being worked out
}

/**
 * Bytes that crossed the socket: read, and written as far as the kernel (libuv's queue left out,
 * so bytes waiting for a client that does not read are not progress). The handle's counters are
 * what Node's own net module reads.
 */
function moved(socket: Socket): number | undefined {
  const h = (
    socket as unknown as { _handle?: { bytesRead?: number; bytesWritten?: number; writeQueueSize?: number } }
  )._handle;
  if (!h) return undefined;
  return (h.bytesRead ?? 0) + (h.bytesWritten ?? 0) - (h.writeQueueSize ?? 0);
}

/** How often connections are looked at: a tenth of the timeout, within 20 ms to 1 s. */
export function watchInterval(timeoutMs: number): number {
  return Math.min(1000, Math.max(20, Math.floor(timeoutMs / 10)));
}

function refuse(res: ServerResponse, status: number, msg: string): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(msg),
    connection: "close",
    "retry-after": "1",
  });
  res.end(msg);
}

export function createHttpServer(
  handler: RequestListener,
  o: HttpLimits & {
    maxHeaderBytes: number;
    /** Told when the global cap closes or refuses connections (at most once a minute). */
    onCap?: (message: string) => void;
  },
): Server {
  const timeout = o.noProgressTimeoutMs ?? DEFAULT_NO_PROGRESS_TIMEOUT_MS;
  const cap = o.maxConnectionsPerClient ?? DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
  const max = o.maxConnections ?? defaultMaxConnections();
  const conns = new Map<Socket, Conn>();
  /** Connections with no request in progress, longest idle first (Map order is insertion order). */
  const idle = new Set<Socket>();
  const perClient = new Map<string, number>();
  const overCap = new WeakSet<Socket>();
  const overMax = new WeakSet<Socket>();
  let shed = 0;
  let refused = 0;
  let toldAt = 0;

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (overMax.has(socket))
      return refuse(res, 503, `the server is at its limit of ${max} connections, all busy: try again\n`);
    if (overCap.has(socket))
      return refuse(res, 429, `too many connections from ${socket.remoteAddress}: at most ${cap} at once\n`);
    const c = conns.get(socket);
    if (c) {
      c.req = req;
      c.res = res;
      idle.delete(socket);
    }
    res.once("close", () => {
      if (!c || c.res !== res) return;
      c.req = undefined;
      c.res = undefined;
      c.since = Date.now();
      if (conns.has(socket)) idle.add(socket);
    });
    handler(req, res);
  };

  const server = createServer({ maxHeaderSize: o.maxHeaderBytes, requestTimeout: 0 }, serve);
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    expectsContinue(req, res);
    serve(req, res);
  });

  const tell = () => {
    const now = Date.now();
    if (!o.onCap || now - toldAt < 60_000) return;
    toldAt = now;
    o.onCap(
      `connection limit reached (${max}, --max-connections): ${shed} idle connection(s) closed and ` +
        `${refused} new one(s) refused since the last notice`,
    );
    shed = 0;
    refused = 0;
  };

  server.on("connection", (socket: Socket) => {
    const addr = socket.remoteAddress ?? "";
    const n = (perClient.get(addr) ?? 0) + 1;
    perClient.set(addr, n);
    if (cap > 0 && n > cap) overCap.add(socket);
    socket.once("close", () => {
      conns.delete(socket);
      idle.delete(socket);
      const left = (perClient.get(addr) ?? 1) - 1;
      if (left <= 0) perClient.delete(addr);
      else perClient.set(addr, left);
    });
    if (max > 0 && conns.size >= max) {
      // Room is made by closing the connection idle longest: a client that keeps a connection
      // open and unused loses it, not one that connects to be served.
      const oldest = idle.values().next().value;
      if (oldest === undefined) {
        // Answered 503 at its first request; one that sends none does not keep its descriptor.
        overMax.add(socket);
        socket.setTimeout(REFUSED_FUSE_MS, () => socket.destroy());
        refused++;
        tell();
        return;
      }
      idle.delete(oldest);
      conns.delete(oldest);
      oldest.destroy();
      shed++;
      tell();
    }
    conns.set(socket, { addr, moved: moved(socket) ?? 0, since: Date.now() });
    idle.add(socket);
  });

  if (timeout > 0) {
    const watch = setInterval(() => {
      const now = Date.now();
      for (const [socket, c] of conns) {
        const m = moved(socket);
        if (m === undefined) continue;
        if (m !== c.moved || serverIsWorking(c.req, c.res, socket)) {
          c.moved = m;
          c.since = now;
        } else if (now - c.since >= timeout) socket.destroy();
      }
    }, watchInterval(timeout));
    watch.unref();
    server.on("close", () => clearInterval(watch));
  }
  return server;
}
