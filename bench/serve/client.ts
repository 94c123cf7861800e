// The bench client, the same for both servers: undici pools with keep-alive.
// Usage: node --import tsx bench/serve/client.ts BASE_URL LIST.json
// Prints JSON: narinfo requests/s (sequential, 16 concurrent) and NAR MiB/s (1 and 16 connections).
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Pool } from "undici";

const [base, listFile] = process.argv.slice(2) as [string, string];
const list = JSON.parse(readFileSync(listFile, "utf8")) as {
  hashes: string[];
  nars: Array<{ url: string; size: number }>;
};
const origin = new URL(base).origin;
const prefix = new URL(base).pathname.replace(/\/$/, "");

async function get(pool: Pool, path: string): Promise<number> {
  const { statusCode, body } = await pool.request({ method: "GET", path: `${prefix}/${path}` });
  let n = 0;
  for await (const chunk of body) n += (chunk as Buffer).length;
  if (statusCode !== 200) throw new Error(`${path}: ${statusCode}`);
  return n;
}

/** Runs `items` through `concurrency` workers; returns seconds and bytes. */
async function run(pool: Pool, items: string[], concurrency: number): Promise<{ s: number; bytes: number }> {
  let next = 0;
  let bytes = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        // Not `bytes += await …`: that reads `bytes` before the await and loses concurrent updates.
        const n = await get(pool, items[next++] as string);
        bytes += n;
      }
    }),
  );
  return { s: (performance.now() - t0) / 1000, bytes };
}

const narinfos = list.hashes.map((h) => `${h}.narinfo`);
const rounds = Number(process.env.ROUNDS ?? 10);
const repeated = Array.from({ length: rounds }, () => narinfos).flat();
const p1 = new Pool(origin, { connections: 1, pipelining: 1 });
const p16 = new Pool(origin, { connections: 16, pipelining: 1 });
// ONLY=narinfo or ONLY=nar runs one half (for profiling); the other half's numbers are then 0.
const only = process.env.ONLY;
const none = { s: 1, bytes: 0 };
let seq = none;
let conc = none;
let n1 = none;
let n16 = none;
if (only !== "nar") {
  await run(p1, narinfos, 1); // warm-up
  await run(p16, narinfos, 16);
  seq = await run(p1, repeated, 1);
  conc = await run(p16, repeated, 16);
}
const nars = list.nars.map((n) => n.url);
if (only !== "narinfo") {
  await run(p1, nars.slice(0, 20), 1); // warm-up (page cache, connections)
  n1 = await run(p1, nars, 1);
  n16 = await run(p16, nars, 16);
}
await p1.close();
await p16.close();
const mib = (r: { s: number; bytes: number }) => r.bytes / 1024 / 1024 / r.s;
process.stdout.write(
  `${JSON.stringify({
    narinfoSeqPerSec: repeated.length / seq.s,
    narinfo16PerSec: repeated.length / conc.s,
    narinfoSeqAllSec: seq.s / rounds,
    nar1MiBs: mib(n1),
    nar16MiBs: mib(n16),
    nar16Sec: n16.s,
    narBytes: n1.bytes,
  })}\n`,
);
