// The bench client, the same for every server: undici pools with keep-alive.
// Usage: node --import tsx bench/serve/client.ts LIST.json NAME=BASE_URL [NAME=BASE_URL ...]
// Runs TRIALS (default 5) trials; in each, every measure runs against every server back to back,
// in an order that flips from trial to trial, so that load from elsewhere on a shared machine
// falls on all servers alike. Prints JSON: per server and measure, the value of every trial.
// Measures: narinfo requests/s (sequential, 16 concurrent), NAR MiB/s (1 and 16 connections).
// ONLY=narinfo or ONLY=nar runs one half (for profiling).
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Pool } from "undici";

const [listFile, ...targets] = process.argv.slice(2) as [string, ...string[]];
const list = JSON.parse(readFileSync(listFile, "utf8")) as {
  hashes: string[];
  nars: Array<{ url: string; size: number }>;
};

interface Target {
  name: string;
  prefix: string;
  p1: Pool;
  p16: Pool;
}
const servers: Target[] = targets.map((t) => {
  const eq = t.indexOf("=");
  const url = new URL(t.slice(eq + 1));
  return {
    name: t.slice(0, eq),
    prefix: url.pathname.replace(/\/$/, ""),
    p1: new Pool(url.origin, { connections: 1, pipelining: 1 }),
    p16: new Pool(url.origin, { connections: 16, pipelining: 1 }),
  };
});

async function get(pool: Pool, path: string): Promise<number> {
  const { statusCode, body } = await pool.request({ method: "GET", path });
  let n = 0;
  for await (const chunk of body) n += (chunk as Buffer).length;
  if (statusCode !== 200) throw new Error(`${path}: ${statusCode}`);
  return n;
}

/** Runs `items` through `concurrency` workers; returns seconds and bytes. */
async function run(
  pool: Pool,
  prefix: string,
  items: string[],
  concurrency: number,
): Promise<{ s: number; bytes: number }> {
  let next = 0;
  let bytes = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        // Not `bytes += await …`: that reads `bytes` before the await and loses concurrent updates.
        const n = await get(pool, `${prefix}/${items[next++] as string}`);
        bytes += n;
      }
    }),
  );
  return { s: (performance.now() - t0) / 1000, bytes };
}

const narinfos = list.hashes.map((h) => `${h}.narinfo`);
const rounds = Number(process.env.ROUNDS ?? 5);
const repeated = Array.from({ length: rounds }, () => narinfos).flat();
const nars = list.nars.map((n) => n.url);
const trials = Number(process.env.TRIALS ?? 5);
const only = process.env.ONLY;
const MiB = 1024 * 1024;

type Measure = (s: Target) => Promise<number>;
const measures: Record<string, Measure> = {};
if (only !== "nar") {
  measures.narinfoSeqPerSec = async (s) => repeated.length / (await run(s.p1, s.prefix, repeated, 1)).s;
  measures.narinfo16PerSec = async (s) => repeated.length / (await run(s.p16, s.prefix, repeated, 16)).s;
}
if (only !== "narinfo") {
  measures.nar1MiBs = async (s) => {
    const r = await run(s.p1, s.prefix, nars, 1);
    return r.bytes / MiB / r.s;
  };
  measures.nar16MiBs = async (s) => {
    const r = await run(s.p16, s.prefix, nars, 16);
    return r.bytes / MiB / r.s;
  };
}

// Warm-up: connections, JIT, page cache.
for (const s of servers) {
  await run(s.p1, s.prefix, narinfos, 1);
  await run(s.p16, s.prefix, narinfos, 16);
  if (only !== "narinfo") await run(s.p16, s.prefix, nars, 16);
}
const results: Record<string, Record<string, number[]>> = {};
for (const s of servers) results[s.name] = Object.fromEntries(Object.keys(measures).map((m) => [m, []]));
for (let t = 0; t < trials; t++) {
  const order = t % 2 === 0 ? servers : [...servers].reverse();
  for (const [m, f] of Object.entries(measures)) {
    for (const s of order) {
      const row = results[s.name] as Record<string, number[]>;
      (row[m] as number[]).push(await f(s));
    }
  }
}
for (const s of servers) {
  await s.p1.close();
  await s.p16.close();
}
process.stdout.write(
  `${JSON.stringify({ trials, narinfoRequests: repeated.length, narFiles: nars.length, results })}\n`,
);
