// An S3 proxy for fault tests: it forwards everything until told to hold DELETEs, then answers
// none of them, so a client can be killed with its deletes in flight (test/server/gc/kill.test.ts,
// bench/reliability/item-15.ts).
import { createServer, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP proxy to `target` that, once `hold()` is called, never answers DELETE requests; `deleting`
 * has the blobs whose deletes it holds.
 */
export async function deleteHoldingProxy(target: string) {
  let holding = false;
  const held: ServerResponse[] = [];
  const deleting: string[] = [];
  let firstHeld: () => void = () => {};
  const heldOne = new Promise<void>((resolve) => (firstHeld = resolve));
  const server = createServer((req, res) => {
    if (holding && req.method === "DELETE") {
      held.push(res);
      const blob = /\/blobs\/[0-9a-f]{2}\/([0-9a-f]{64})(?:\?|$)/.exec(req.url ?? "")?.[1];
      if (blob) deleting.push(blob);
      firstHeld();
      return;
    }
    // The Host header goes through as it is: the client signed it.
    const up = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => {
      holding = true;
    },
    heldOne,
    deleting,
    async close() {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
