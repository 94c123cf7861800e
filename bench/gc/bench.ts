// GC over N narinfos on PostgreSQL: the time and peak memory of `nixcache gc` (two runs: the first
// marks, the second deletes), and the narinfo GET latency of a `nixcache serve` on the same
// database meanwhile, at a steady 500 GETs per second. Rows are bulk-loaded with MetadataStore.importRecords (what `nixcache data
// copy` writes with), references included.
//
// The graph: N/1000 "builds" of 1000 paths each, pushed an hour apart (build b is N/1000 - b hours
// old). Inside a build, path j references paths j/2, j/3, j/5 (a wide DAG, about 10 deep); every
// build's paths j ≡ 1 (mod 100) also reference build 0's path j (a long-lived base, like glibc).
// The retention is 70% of the builds' span: the oldest 30% of builds are garbage, except build 0
// (referenced by every recent build). The blobs are not in storage (deleting a missing file costs
// what unlinking does).
//
// Usage: node --import tsx bench/gc/bench.ts PG_SERVER_URL N [N ...]   (bench/gc/run.sh)
// GC_BENCH_TEMPLATE=NAME keeps each scale's load as database NAME_<N> and runs on copies of it.
// GC_BENCH_SAMPLES=FILE writes every GET's end time and latency, and the phases' ends, as JSON.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { Pool } from "undici";
import { ACCESS_SLACK_DIVISOR } from "../../src/server/metadata/limits.js";
import { openPostgresStore, type PostgresMetadataStore } from "../../src/server/metadata/postgres/open.js";
import type { NarInfoRecord, NarRecord } from "../../src/server/metadata/records.js";

const [server, ...scales] = process.argv.slice(2);
if (!server || scales.length === 0) throw new Error("usage: bench.ts PG_SERVER_URL N [N ...]");
const BIN = new URL("../../bin/nixcache", import.meta.url).pathname;
const PER_BUILD = 1000;
/**
 * narinfo GETs per second during the runs: a busy cache (43 million a day), not a saturated one.
 * GC_BENCH_RATE=0: no server and no requests (the GC alone on the machine).
 */
const RATE = Number(process.env.GC_BENCH_RATE ?? 500);
const HOUR = 3_600_000;
/** GC_BENCH_NODE_ARGS: Node flags for the GC runs and the server, e.g. `--cpu-prof --cpu-prof-dir=DIR`. */
const NODE_ARGS = (process.env.GC_BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);

/** NAR records and narinfos of paths lo..hi-1, as `nixcache data copy` writes them. */
function records(lo: number, hi: number, n: number, now: number) {
  const builds = n / PER_BUILD;
  const nars: NarRecord[] = [];
  const narinfos: NarInfoRecord[] = [];
  for (let i = lo; i < hi; i++) {
    const h = hashOf(i);
    const b = Math.floor(i / PER_BUILD);
    const j = i % PER_BUILD;
    const t = now - (builds - b) * HOUR;
    const fs = 10_000 + (i % 5000);
    const url = `nar/${h}.nar.zst`;
    const refs =
      j === 0
        ? []
        : [
            ...new Set([
              b * PER_BUILD + Math.floor(j / 2),
              b * PER_BUILD + Math.floor(j / 3),
              b * PER_BUILD + Math.floor(j / 5),
              ...(i % 100 === 1 && b > 0 ? [j] : []),
            ]),
          ]
            .filter((r) => r !== i)
            .map(hashOf);
    const blob = createHash("sha256").update(`blob ${i}`).digest("hex");
    nars.push({
      cache: "bench",
      url,
      blob,
      compression: "zstd",
      narHash: `sha256:${h}${h}`,
      narSize: fs * 3,
      fileHash: `sha256:${h}${h}`,
      fileSize: fs,
      visible: true,
      createdAt: t,
    });
    const sp = `/nix/store/${h}-p${i}`;
    narinfos.push({
      cache: "bench",
      hash: h,
      storePath: sp,
      url,
      text:
        `StorePath: ${sp}\nURL: ${url}\nCompression: zstd\nFileHash: sha256:${h}${h}\nFileSize: ${fs}\n` +
        `NarHash: sha256:${h}${h}\nNarSize: ${fs * 3}\nReferences: ${refs.map((r) => `${r}-p`).join(" ")}\n` +
        `Sig: bench-1:${"A".repeat(86)}==\n`,
      createdAt: t,
      visible: true,
      waitsFor: [],
      accessedAt: t,
      references: refs,
    });
  }
  return { nars, narinfos };
}

/** Bulk-loads through importRecords (the path `nixcache data copy` takes), analyzes, checkpoints. */
async function load(meta: PostgresMetadataStore, db: string, n: number, now: number): Promise<void> {
  for (let lo = 0; lo < n; lo += 5000) {
    const page = records(lo, Math.min(n, lo + 5000), n, now);
    await meta.importRecords("nars", page.nars);
    await meta.importRecords("narinfos", page.narinfos);
  }
  await withClient(async (c) => {
    for (const t of ["narinfos", "nars", "narinfo_refs"]) await c.query(`VACUUM ANALYZE ${t}`);
    // A bulk load leaves gigabytes of dirty pages: a GC run meanwhile would measure the checkpoint.
    await c.query("CHECKPOINT");
  }, db);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Runs `nixcache ARGS` under GNU time: wall seconds, peak RSS (MiB), stdout. */
function timed(args: string[]): Promise<{ seconds: number; rssMiB: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "TIME %e %M", process.execPath, ...NODE_ARGS, BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => {
      const m = /TIME ([\d.]+) (\d+)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`nixcache ${args.join(" ")} failed (${code}): ${err}`));
      resolve({ seconds: Number(m[1]), rssMiB: Number(m[2]) / 1024, stdout: out });
    });
  });
}

async function serve(db: string, storage: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      BIN,
      "serve",
      "--db",
      db,
      "--storage",
      storage,
      "--listen",
      "127.0.0.1:0",
      "--quiet",
      "--gc-interval",
      "off",
      "--no-upstream",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.on("exit", (code) => reject(new Error(`serve exited (${code})`)));
  });
  return { child, url };
}

interface Sample {
  at: number;
  ms: number;
}

/**
 * GETs random narinfos of live builds at a steady `rate` per second (open loop: a request goes at
 * its time whether the last ones have answered or not, and its latency counts from that time, so
 * a stalled server shows as latency, not as fewer requests) until stopped.
 */
function loadGenerator(url: string, n: number, rate: number) {
  const pool = new Pool(url, { connections: 32 });
  const samples: Sample[] = [];
  let errors = 0;
  let stop = false;
  // Random paths of builds within the retention: what the GC keeps (so every answer is a 200),
  // drawn from all of them, so most lookups miss the server's narinfo cache and go to PostgreSQL.
  const liveFrom = Math.ceil(n * 0.3) + PER_BUILD;
  const inFlight = new Set<Promise<void>>();
  const one = async (due: number) => {
    const h = hashOf(liveFrom + Math.floor(Math.random() * (n - liveFrom)));
    try {
      const r = await pool.request({ method: "GET", path: `/bench/${h}.narinfo` });
      await r.body.dump();
      if (r.statusCode !== 200) errors++;
    } catch {
      errors++;
    }
    samples.push({ at: Date.now(), ms: performance.now() - due });
  };
  const running = (async () => {
    const start = performance.now();
    for (let i = 0; !stop; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const p = one(due).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  })();
  return {
    samples,
    errors: () => errors,
    async stop() {
      stop = true;
      await running;
      await pool.close();
    },
  };
}

/** The hash of path i, as the SQL computes it. */
function hashOf(i: number): string {
  return createHash("md5").update(`n${i}`).digest("hex").replaceAll("e", "z");
}

function latency(samples: Sample[], from: number, to: number) {
  const ms = samples
    .filter((s) => s.at >= from && s.at < to)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  return {
    requests: ms.length,
    perSecond: Math.round(ms.length / ((to - from) / 1000)),
    p50: Number(quantile(ms, 0.5).toFixed(2)),
    p99: Number(quantile(ms, 0.99).toFixed(2)),
    max: Number((ms.at(-1) ?? Number.NaN).toFixed(2)),
  };
}

/** The server's own view: its narinfo GET duration histogram (cumulative counts by bucket) and event-loop p99. */
async function scrape(url: string): Promise<{ buckets: Map<number, number>; loopP99Ms: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = new Map<number, number>();
  let loopP99Ms = Number.NaN;
  for (const line of text.split("\n")) {
    const b = /^nixcache_http_request_duration_seconds_bucket\{(.*)\} (\d+)$/.exec(line);
    if (b && /method="GET"/.test(b[1] as string) && /route="[^"]*:file/.test(b[1] as string)) {
      const le = /le="([^"]+)"/.exec(b[1] as string)?.[1] as string;
      const at = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le) * 1000;
      buckets.set(at, (buckets.get(at) ?? 0) + Number(b[2]));
    }
    // prom-client samples the loop every 10 ms and keeps whole intervals: the lag is beyond that.
    const l = /^nodejs_eventloop_lag_p99_seconds (\S+)$/.exec(line);
    if (l) loopP99Ms = Math.max(0, Number(l[1]) * 1000 - 10);
  }
  return { buckets, loopP99Ms };
}

/**
 * Between two scrapes: the share of GETs the server itself took longer than each bucket bound to
 * answer (from arrival to the response's end), and its event loop's p99 lag over the interval
 * (prom-client resets that at each scrape). Beside the client's p99 it tells a tail inside the
 * server from one in scheduling before a request reaches it.
 */
function serverView(a: Awaited<ReturnType<typeof scrape>>, b: Awaited<ReturnType<typeof scrape>>) {
  const total =
    (b.buckets.get(Number.POSITIVE_INFINITY) ?? 0) - (a.buckets.get(Number.POSITIVE_INFINITY) ?? 0);
  const over: Record<string, number> = {};
  for (const ms of [5, 10, 25, 50, 100]) {
    const under = (b.buckets.get(ms) ?? 0) - (a.buckets.get(ms) ?? 0);
    over[`over${ms}ms`] = total === 0 ? 0 : Number(((100 * (total - under)) / total).toFixed(2));
  }
  return { requests: total, percentOver: over, eventLoopLagP99Ms: Number(b.loopP99Ms.toFixed(1)) };
}

function dbUrl(name: string): string {
  const u = new URL(server as string);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs `f` on a connection of its own to `url` (default: the server's maintenance database). */
async function withClient<T>(f: (c: pg.Client) => Promise<T>, url = server): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/**
 * A loaded database of n narinfos, and the time its newest build was pushed (the graph's "now").
 * With GC_BENCH_TEMPLATE set, the load is kept as database `<template>_<n>` and each run gets a
 * copy of it: reruns on the same server skip the load.
 */
async function loaded(name: string, n: number): Promise<{ db: string; now: number; loadSeconds: number }> {
  const template = process.env.GC_BENCH_TEMPLATE && `${process.env.GC_BENCH_TEMPLATE}_${n}`;
  const target = template || name;
  const exists = await withClient(
    async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [target])).rows.length > 0,
  );
  let loadSeconds = 0;
  if (!exists) {
    await withClient((c) => c.query(`CREATE DATABASE ${target}`));
    const meta = await openPostgresStore(dbUrl(target));
    try {
      await meta.createCache({ name: "bench", isPublic: true, priority: 41 });
      // A retention from the start: a cache's first retention moves its access times to the time
      // it is set (accessShift), which would make every loaded path recent. The real one, set
      // below, is longer: that moves nothing.
      await meta.setCacheLimits("bench", { retentionMs: HOUR });
      const t0 = performance.now();
      await load(meta, dbUrl(target), n, Date.now());
      loadSeconds = (performance.now() - t0) / 1000;
      process.stderr.write(`loaded ${n} narinfos in ${loadSeconds.toFixed(1)} s\n`);
    } finally {
      await meta.close();
    }
  }
  if (template)
    await withClient((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`));
  const db = dbUrl(name);
  // The newest build is an hour old at load time: the retention is counted from then, so a copy
  // made later marks the same paths.
  const newest = await withClient(
    async (c) =>
      Number((await c.query<{ t: string }>("SELECT MAX(created_at) AS t FROM narinfos")).rows[0]?.t),
    db,
  );
  return { db, now: newest + HOUR, loadSeconds };
}

const results: unknown[] = [];
for (const scale of scales) {
  const n = Number(scale);
  const name = `nixcache_gc_bench_${randomBytes(4).toString("hex")}`;
  const blobs = mkdtempSync(join(tmpdir(), "nixcache-gc-bench-"));
  const storage = `file://${blobs}`;
  const { db, now, loadSeconds } = await loaded(name, n);
  const meta = await openPostgresStore(db);
  const builds = n / PER_BUILD;
  // Counted from the graph's now: a copy of a template loaded an hour ago has the same garbage.
  // The GC keeps what was fetched within the retention plus its access slack (gcCutoff): the
  // retention is set so that the two together are 70% of the span.
  const keptMs = Math.round(builds * 0.7) * HOUR - HOUR / 2 + (Date.now() - now);
  const retentionMs = Math.floor((keptMs * ACCESS_SLACK_DIVISOR) / (ACCESS_SLACK_DIVISOR + 1));
  await meta.setCacheLimits("bench", { retentionMs });
  await meta.close();
  const databaseMiB = await withClient(async (c) => {
    const r = await c.query<{ b: string }>("SELECT pg_database_size($1) AS b", [name]);
    return Number(r.rows[0]?.b ?? 0) / 2 ** 20;
  });

  const srv = RATE > 0 ? await serve(db, storage) : undefined;
  const gen = srv && loadGenerator(srv.url, n, RATE);
  // 5 s to warm up (connections, the server's first lookups), then 10 s of baseline.
  if (gen) await new Promise((r) => setTimeout(r, 5_000));
  const baselineScrape = srv && (await scrape(srv.url));
  if (gen) await new Promise((r) => setTimeout(r, 10_000));
  const baselineEnd = Date.now();
  const markScrape = srv && (await scrape(srv.url));
  const gcArgs = ["gc", "--db", db, "--storage", storage, "--json"];
  // A grace longer than the run: the first run only marks; the second, with none, deletes.
  const mark = await timed([...gcArgs, "--grace", "1h"]);
  const markEnd = Date.now();
  const delScrape = srv && (await scrape(srv.url));
  const del = await timed([...gcArgs, "--grace", "0s"]);
  const delEnd = Date.now();
  const endScrape = srv && (await scrape(srv.url));
  await gen?.stop();
  srv?.child.kill("SIGTERM");
  if (gen && process.env.GC_BENCH_SAMPLES)
    writeFileSync(
      process.env.GC_BENCH_SAMPLES,
      JSON.stringify({ baselineEnd, markEnd, delEnd, samples: gen.samples.map((s) => [s.at, s.ms]) }),
    );
  const report = JSON.parse(del.stdout) as Record<string, { deletedPaths: number; keptPaths: number }>;
  const markReport = JSON.parse(mark.stdout) as Record<string, { markedPaths: number }>;
  const result = {
    narinfos: n,
    loadSeconds: Number(loadSeconds.toFixed(1)),
    databaseMiB: Math.round(databaseMiB),
    getsPerSecond: RATE,
    mark: {
      seconds: mark.seconds,
      peakRssMiB: Number(mark.rssMiB.toFixed(0)),
      marked: markReport.bench?.markedPaths,
    },
    delete: {
      seconds: del.seconds,
      peakRssMiB: Number(del.rssMiB.toFixed(0)),
      deleted: report.bench?.deletedPaths,
      kept: report.bench?.keptPaths,
    },
    latencyMs: gen && {
      baseline: latency(gen.samples, baselineEnd - 10_000, baselineEnd),
      duringMark: latency(gen.samples, baselineEnd, markEnd),
      duringDelete: latency(gen.samples, markEnd, delEnd),
      errors: gen.errors(),
    },
    server: baselineScrape &&
      markScrape &&
      delScrape &&
      endScrape && {
        baseline: serverView(baselineScrape, markScrape),
        duringMark: serverView(markScrape, delScrape),
        duringDelete: serverView(delScrape, endScrape),
      },
  };
  results.push(result);
  process.stderr.write(`${JSON.stringify(result)}\n`);
  rmSync(blobs, { recursive: true, force: true });
  await withClient((c) => c.query(`DROP DATABASE ${name} WITH (FORCE)`));
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
