// Measures /healthz latency while a server ingests: one GET every 10 ms on a keep-alive
// connection until stdin closes, counting only the GETs made while a NAR is being received (a
// staged upload exists in DATA/tmp); then prints {"n":…, "p50":…, "p99":…, "max":…} in ms.
// Usage: node --import tsx bench/serve/healthz-probe.ts URL DATA < fifo
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";

const [url, data] = process.argv.slice(2);
if (!url || !data) throw new Error("usage: healthz-probe.ts URL DATA");
const ingesting = () => readdirSync(join(data, "tmp")).some((f) => f.startsWith("upload-"));
const agent = new Agent({ connections: 1 });
const times: number[] = [];
let stop = false;
process.stdin.on("end", () => {
  stop = true;
});
process.stdin.resume();
while (!stop) {
  if (!ingesting()) {
    await new Promise((r) => setTimeout(r, 5));
    continue;
  }
  const t0 = performance.now();
  const r = await request(`${url}/healthz`, { dispatcher: agent });
  await r.body.text();
  times.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 10));
}
times.sort((a, b) => a - b);
const at = (q: number) =>
  Number((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(1));
process.stdout.write(`${JSON.stringify({ n: times.length, p50: at(0.5), p99: at(0.99), max: at(1) })}\n`);
await agent.close();
