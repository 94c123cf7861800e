// A static file server over a cache directory (nginx's role), on a free port; prints its URL.
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

const dir = process.argv[2] as string;
const server = http.createServer(async (req, res) => {
  const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/cache\//, "");
  try {
    if (rel.split("/").includes("..")) throw new Error("refused");
    const body = await readFile(path.join(dir, rel));
    res.writeHead(200, { "content-length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch {
    res.writeHead(404).end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}/cache\n`);
});
