// GC over N narinfos on PostgreSQL: the time and peak memory of `nixcache gc` (two runs: the first
// marks, the second deletes), and the narinfo GET latency of a `nixcache serve` on the same
// database meanwhile. Rows are bulk-loaded with SQL (generate_series) matching the schema.
//
// The graph: N/1000 "builds" of 1000 paths each, pushed an hour apart (build b is N/1000 - b hours
// old). Inside a build, path j references paths j/2, j/3, j/5 (a wide DAG, about 10 deep); every
// build's paths j ≡ 1 (mod 100) also reference build 0's path j (a long-lived base, like glibc).
// The retention is 70% of the builds' span: the oldest 30% of builds are garbage, except build 0
// (referenced by every recent build). The blobs are not in storage (deleting a missing file costs
// what unlinking does).
//
// Usage: node --import tsx bench/gc/bench.ts PG_SERVER_URL N [N ...]   (bench/gc/run.sh)
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { Pool } from "undici";
import { PostgresMetadataStore } from "../../src/server/metadata/postgres/store.js";

const [server, ...scales] = process.argv.slice(2);
if (!server || scales.length === 0) throw new Error("usage: bench.ts PG_SERVER_URL N [N ...]");
const BIN = new URL("../../bin/nixcache", import.meta.url).pathname;
const PER_BUILD = 1000;
const HOUR = 3_600_000;

const hashSql = (x: string) => `translate(md5('n' || (${x})), 'e', 'z')`;

async function load(url: string, n: number, now: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("SET synchronous_commit = off");
    const builds = n / PER_BUILD;
    const step = 100_000;
    for (let lo = 0; lo < n; lo += step) {
      const hi = Math.min(n, lo + step);
      const rows = `(SELECT i, ${hashSql("i")} AS h, 10000 + i % 5000 AS fs,
          ${now}::bigint - (${builds} - i / ${PER_BUILD}) * ${HOUR}::bigint AS t
        FROM generate_series(${lo}, ${hi - 1}) AS i) x`;
      await c.query(`INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at)
        SELECT 'bench', h, '/nix/store/' || h || '-p' || i, 'nar/' || h || '.nar.zst',
          'StorePath: /nix/store/' || h || '-p' || i || E'\\nURL: nar/' || h || E'.nar.zst\\nCompression: zstd\\nFileHash: sha256:'
            || h || h || E'\\nFileSize: ' || fs || E'\\nNarHash: sha256:' || h || h || E'\\nNarSize: ' || fs * 3
            || E'\\nReferences: \\nSig: bench-1:' || repeat('A', 86) || E'==\\n',
          t, TRUE, t FROM ${rows}`);
      await c.query(`INSERT INTO uploads (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
        SELECT 'bench', 'nar/' || h || '.nar.zst', md5('b' || i) || md5('c' || i), 'zstd', 'sha256:x', fs * 3, 'sha256:x', fs, TRUE, t
        FROM ${rows}`);
      await c.query(`INSERT INTO narinfo_refs (cache, hash, ref)
        SELECT DISTINCT 'bench', ${hashSql("i")}, ${hashSql("r")}
        FROM generate_series(${lo}, ${hi - 1}) AS i,
          LATERAL (VALUES ((i / ${PER_BUILD}) * ${PER_BUILD} + (i % ${PER_BUILD}) / 2),
                          ((i / ${PER_BUILD}) * ${PER_BUILD} + (i % ${PER_BUILD}) / 3),
                          ((i / ${PER_BUILD}) * ${PER_BUILD} + (i % ${PER_BUILD}) / 5),
                          (CASE WHEN i % 100 = 1 AND i >= ${PER_BUILD} THEN i % ${PER_BUILD} END)) AS v(r)
        WHERE i % ${PER_BUILD} > 0 AND r IS NOT NULL AND r <> i`);
    }
    await c.query("VACUUM ANALYZE narinfos");
    await c.query("VACUUM ANALYZE uploads");
    await c.query("VACUUM ANALYZE narinfo_refs");
  } finally {
    await c.end();
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Runs `nixcache ARGS` under GNU time: wall seconds, peak RSS (MiB), stdout. */
function timed(args: string[]): Promise<{ seconds: number; rssMiB: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "TIME %e %M", process.execPath, BIN, ...args], {
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

/** GETs random narinfos of live builds with `concurrency` clients until stopped. */
function loadGenerator(url: string, n: number, concurrency: number) {
  const pool = new Pool(url, { connections: concurrency });
  const samples: Sample[] = [];
  let errors = 0;
  let stop = false;
  // Random paths of builds within the retention: what the GC keeps (so every answer is a 200),
  // drawn from all of them, so most lookups miss the server's narinfo cache and go to PostgreSQL.
  const liveFrom = Math.ceil(n * 0.3) + PER_BUILD;
  const running = (async () => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!stop) {
          const h = hashOf(liveFrom + Math.floor(Math.random() * (n - liveFrom)));
          const t0 = performance.now();
          try {
            const r = await pool.request({ method: "GET", path: `/bench/${h}.narinfo` });
            await r.body.dump();
            if (r.statusCode !== 200) errors++;
          } catch {
            errors++;
          }
          samples.push({ at: Date.now(), ms: performance.now() - t0 });
        }
      }),
    );
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

const results: unknown[] = [];
for (const scale of scales) {
  const n = Number(scale);
  const name = `nixcache_gc_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(server);
  u.pathname = `/${name}`;
  const db = u.toString();
  const blobs = mkdtempSync(join(tmpdir(), "nixcache-gc-bench-"));
  const storage = `file://${blobs}`;
  const now = Date.now();
  const meta = await PostgresMetadataStore.open(db);
  await meta.createCache({ name: "bench", isPublic: true, priority: 41 });
  const builds = n / PER_BUILD;
  await meta.setCacheLimits("bench", { retentionMs: Math.round(builds * 0.7) * HOUR - HOUR / 2 });
  await meta.close();
  const t0 = performance.now();
  await load(db, n, now);
  const loadSeconds = (performance.now() - t0) / 1000;
  process.stderr.write(`loaded ${n} narinfos in ${loadSeconds.toFixed(1)} s\n`);

  const srv = await serve(db, storage);
  const gen = loadGenerator(srv.url, n, 8);
  await new Promise((r) => setTimeout(r, 10_000));
  const baselineEnd = Date.now();
  const gcArgs = ["gc", "--db", db, "--storage", storage, "--grace", "0s", "--json"];
  const mark = await timed(gcArgs);
  const markEnd = Date.now();
  const del = await timed(gcArgs);
  const delEnd = Date.now();
  await gen.stop();
  srv.child.kill("SIGTERM");
  const report = JSON.parse(del.stdout) as Record<string, { deletedPaths: number; keptPaths: number }>;
  const markReport = JSON.parse(mark.stdout) as Record<string, { markedPaths: number }>;
  const result = {
    narinfos: n,
    loadSeconds: Number(loadSeconds.toFixed(1)),
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
    latencyMs: {
      baseline: latency(gen.samples, baselineEnd - 10_000, baselineEnd),
      duringMark: latency(gen.samples, baselineEnd, markEnd),
      duringDelete: latency(gen.samples, markEnd, delEnd),
      errors: gen.errors(),
    },
  };
  results.push(result);
  process.stderr.write(`${JSON.stringify(result)}\n`);
  rmSync(blobs, { recursive: true, force: true });
  const drop = new pg.Client({ connectionString: server });
  await drop.connect();
  await drop.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await drop.end();
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
