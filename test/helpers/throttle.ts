// A TCP proxy in front of a server that slows what clients send to it (a slow uplink), and can
// cut every connection with a TCP reset: for uploads from real clients (Nix) that are slow, or
// whose connection dies mid-way.
import { connect, createServer, type Server, type Socket } from "node:net";

export interface Throttle {
  /** `http://127.0.0.1:PORT`: the proxy's address. */
  url: string;
  /** Resets every connection open through the proxy, both sides. */
  resetAll(): void;
  close(): Promise<void>;
}

/** Forwards to `target` (`http://host:port`), client→server at about `bytesPerSecond`. */
export async function throttleProxy(target: string, bytesPerSecond: number): Promise<Throttle> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  const tick = 50;
  const perTick = Math.max(1, Math.floor((bytesPerSecond * tick) / 1000));
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const queue: Buffer[] = [];
    let ended = false;
    const timer = setInterval(() => {
      let budget = perTick;
      while (budget > 0 && queue.length > 0) {
        const head = queue[0] as Buffer;
        const piece = head.subarray(0, budget);
        upstream.write(piece);
        budget -= piece.length;
        if (piece.length === head.length) queue.shift();
        else queue[0] = head.subarray(piece.length);
      }
      if (queue.length === 0 && ended) upstream.end();
    }, tick);
    client.on("data", (d: Buffer) => queue.push(d));
    client.on("end", () => {
      ended = true;
    });
    upstream.pipe(client);
    const done = () => {
      clearInterval(timer);
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", done);
    upstream.on("close", done);
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    resetAll() {
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
