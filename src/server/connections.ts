// The HTTP server under Fastify, and what it does about slow, stalled and greedy clients:
// - no whole-request deadline (Node's default `requestTimeout` of 5 minutes would cut every long
//   upload); instead a no-progress timeout: a connection on which the server waits for the client
//   (to send the rest of a body, or to read what was sent) and nothing moves for that long is cut.
//   While the server itself is working (verifying a NAR, reading a blob) it is never cut;
// - a cap on concurrent connections per client address: the ones beyond it are answered 429;
// - `Expect: 100-continue` is left to the handlers (routes/continue.ts), so that authorization
//   comes before the body.
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

export interface HttpLimits {
  /** Cut a connection that waits on its client with nothing moving for this long (default 60 s; 0: never). */
  noProgressTimeoutMs?: number;
  /** Connections one client address may hold at once (default 64; 0: no limit). */
  maxConnectionsPerClient?: number;
}

/** Whether the server, not the client, is the one that has to move next on this connection. */
function serverIsWorking(req: IncomingMessage | undefined, res: ServerResponse | undefined, socket: Socket) {
  if (!req || !res) return false; // between requests, or headers still arriving
  if (res.headersSent) return socket.writableLength === 0; // queued bytes: the client is not reading
  if (!req.complete) return req.readableLength > 0; // nothing buffered: the client is not sending
  return true; // the whole request is in, the answer is being worked out
}

export function createHttpServer(
  handler: RequestListener,
  o: HttpLimits & { maxHeaderBytes: number },
): Server {
  const timeout = o.noProgressTimeoutMs ?? DEFAULT_NO_PROGRESS_TIMEOUT_MS;
  const cap = o.maxConnectionsPerClient ?? DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
  const current = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  const perClient = new Map<string, number>();
  const overCap = new WeakSet<Socket>();

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    if (overCap.has(req.socket)) {
      const msg = `too many connections from ${req.socket.remoteAddress}: at most ${cap} at once\n`;
      res.writeHead(429, {
        "content-type": "text/plain; charset=utf-8",
        "content-length": Buffer.byteLength(msg),
        connection: "close",
        "retry-after": "1",
      });
      res.end(msg);
      return;
    }
    current.set(req.socket, { req, res });
    res.once("close", () => {
      if (current.get(req.socket)?.res === res) current.delete(req.socket);
    });
    handler(req, res);
  };

  const server = createServer({ maxHeaderSize: o.maxHeaderBytes, requestTimeout: 0 }, serve);
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    expectsContinue(req, res);
    serve(req, res);
  });

  if (cap > 0)
    server.on("connection", (socket: Socket) => {
      const addr = socket.remoteAddress ?? "";
      const n = (perClient.get(addr) ?? 0) + 1;
      perClient.set(addr, n);
      if (n > cap) overCap.add(socket);
      socket.once("close", () => {
        const left = (perClient.get(addr) ?? 1) - 1;
        if (left <= 0) perClient.delete(addr);
        else perClient.set(addr, left);
      });
    });

  if (timeout > 0)
    server.setTimeout(timeout, (socket: Socket) => {
      const c = current.get(socket);
      if (serverIsWorking(c?.req, c?.res, socket)) socket.setTimeout(timeout);
      else socket.destroy();
    });
  return server;
}
