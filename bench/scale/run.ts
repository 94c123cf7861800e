// The server past one machine, measured (issue 13): metadata at scale on SQLite and PostgreSQL,
// and NAR throughput from S3 through the server against a direct presigned GET from Swift.
//
//   node --import tsx bench/scale/run.ts [--max 1000000] [--seconds 5] [--rate 1000]
//
// Narinfos are bulk-loaded (importRecords, the path `nixcache data copy` takes) across 10 caches
// up to 10k, 100k and 1M rows, level by level, SQLite then PostgreSQL; at each level a fresh
// `nixcache serve` process is measured: with --rate, narinfo GETs at that fixed open-loop arrival
// rate (p50, p99); narinfo GETs with 16 concurrent clients (saturated: rate, p50, p99; 90% hits,
// 10% misses); the share of both answered from the server's memory; the Cachix API's bulk query of
// 32,768 hashes (half missing); and the server's RSS. Prints JSON and writes bench/scale/RESULTS.md.
// Starts its own PostgreSQL and Swift (scripts/postgres.sh, swift.sh).
//
// The 16 closed-loop clients measure the most the server answers, but not its latency under a
// given load: each waits for its answer before sending again, so a stall delays the requests that
// would have been sent meanwhile instead of timing them (coordinated omission). The open-loop
// phase sends on a fixed schedule whatever the answers, and times each request from when it was
// due, so queueing behind a stall counts.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Pool } from "undici";
import { formatNarInfo } from "../../src/nix/narinfo.js";
import { nix32Encode } from "../../src/nix/nix32.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import type { NarInfoRecord } from "../../src/server/metadata/records.js";
import { openMetadata, openStorage, type StateLocation } from "../../src/server/state-location.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
};
const MAX = arg("max", 1_000_000);
const SECONDS = arg("seconds", 5);
/** Open-loop arrival rate (GET/s); 0: no open-loop phase. */
const RATE = arg("rate", 0);
const LEVELS = [10_000, 100_000, 1_000_000].filter((n) => n <= MAX);
const CACHES = 10;
const work = mkdtempSync(join(tmpdir(), "nixcache-bench-scale-"));
execFileSync("chmod", ["755", work]);
const cleanups: Array<() => void> = [];
process.on("exit", () => {
  for (const c of cleanups.reverse()) c();
  rmSync(work, { recursive: true, force: true });
});

function script(name: string, args: string[]): string {
  return execFileSync("bash", [join(root, "scripts", name), ...args], { encoding: "utf8" }).trim();
}

/** A realistic narinfo (about 450 bytes, two references) for a random store path. */
function narinfo(cache: string, i: number): NarInfoRecord {
  const hash = nix32Encode(randomBytes(20));
  const storePath = `/nix/store/${hash}-bench-path-${i}`;
  const fileDigest = createHash("sha256").update(storePath).digest();
  const url = `nar/${nix32Encode(fileDigest)}.nar.zst`;
  const ref = () => `${nix32Encode(randomBytes(20))}-dep`;
  const text = formatNarInfo({
    storePath,
    url,
    compression: "zstd",
    fileHash: { algo: "sha256", digest: fileDigest },
    fileSize: 40_000 + i,
    narHash: { algo: "sha256", digest: createHash("sha256").update(url).digest() },
    narSize: 120_000 + i,
    references: [ref(), ref()],
    sigs: [`${cache}-1:${randomBytes(64).toString("base64")}`],
    extra: [],
  });
  return { cache, hash, storePath, url, text, createdAt: Date.now(), visible: true, waitsFor: [] };
}

async function load(at: StateLocation, from: number, to: number, sample: string[][]): Promise<number> {
  const meta = await openMetadata(at);
  const t0 = performance.now();
  try {
    const page = 5000;
    for (let n = from; n < to; n += page) {
      const batch: NarInfoRecord[] = [];
      for (let i = n; i < Math.min(to, n + page); i++) {
        const c = i % CACHES;
        const r = narinfo(`c${c}`, i);
        batch.push(r);
        const s = sample[c] as string[];
        // A reservoir of hashes that exist, spread over the whole range loaded so far.
        if (s.length < 20_000) s.push(r.hash);
        else if (Math.random() < 20_000 / (i + 1)) s[Math.floor(Math.random() * s.length)] = r.hash;
      }
      await meta.importRecords("narinfos", batch);
    }
  } finally {
    await meta.close();
  }
  return (performance.now() - t0) / 1000;
}

interface Served {
  child: ChildProcess;
  url: string;
}

async function serve(args: string[]): Promise<Served> {
  const child = spawn(
    process.execPath,
    [join(root, "bin/nixcache"), "serve", "--listen", "127.0.0.1:0", "--quiet", "--no-upstream", ...args],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.on("exit", (c) => reject(new Error(`serve exited ${c}`)));
  });
  return { child, url };
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(m?.[1]) / 1024);
}

const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;

/**
 * A narinfo GET of request number `k`: 90% of hashes that exist, drawn evenly from the sample, the
 * misses spread over the caches too. (The draw was `k * 7919 % sample size`, with `k % 10` both the
 * cache and the miss: all misses went to c0, and each other cache was asked for a tenth of its
 * sample only, 900 narinfos in all at 10k rows, which the server soon answered from memory.)
 */
function target(sample: string[][], k: number): Target {
  const c = k % CACHES;
  const s = sample[c] as string[];
  if (Math.floor(k / CACHES) % 10 === 0) return miss(k);
  // Knuth's multiplicative hash of k: spread evenly over the sample, the same for every run, and
  // hardly a hash twice before the sample is used up.
  const hash = s[Math.floor(((Math.imul(k, 2654435761) >>> 0) / 2 ** 32) * s.length)] as string;
  return { path: `/c${c}/${hash}.narinfo`, status: 200 };
}

interface Target {
  path: string;
  status: number;
}

/** A GET of request number `k` for a hash no cache has. */
function miss(k: number): Target {
  return { path: `/c${k % CACHES}/${nix32Encode(randomBytes(20))}.narinfo`, status: 404 };
}

/**
 * Before the phases, once per server: connections open, the JIT settled. Mostly GETs of hashes
 * no cache has (each one a lookup in the metadata store, as a first GET of a narinfo is, and
 * never kept by the server's narinfo cache, so the phases after it start as cold as it was).
 */
async function warmUp(url: string, sample: string[][]): Promise<void> {
  const pool = new Pool(new URL(url).origin, { connections: 16 });
  for (let i = 0; i < 200; i++)
    await (await pool.request({ method: "GET", path: `/c0/${sample[0]?.[i]}.narinfo` })).body.dump();
  const end = performance.now() + 1000;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      while (performance.now() < end) {
        const r = await pool.request({
          method: "GET",
          path: `/c${w % CACHES}/${nix32Encode(randomBytes(20))}.narinfo`,
        });
        await r.body.dump();
      }
    }),
  );
  await pool.close();
}

/**
 * Narinfo lookups the server answered from its memory (the narinfo cache) and from the metadata
 * store so far. (The metrics page also counts every cache's narinfos: a scan of the table, so it
 * is read between phases only.)
 */
async function lookups(url: string): Promise<{ hits: number; misses: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counter = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
  return {
    hits: counter("nixcache_narinfo_cache_hits_total"),
    misses: counter("nixcache_narinfo_cache_misses_total"),
  };
}

async function narinfoLoad(
  url: string,
  sample: string[][],
  from: number,
): Promise<{ rps: number; p50: number; p99: number }> {
  const origin = new URL(url).origin;
  const pool = new Pool(origin, { connections: 16 });
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      let k = from + w;
      while (performance.now() < end) {
        const t = target(sample, k);
        const t0 = performance.now();
        const r = await pool.request({ method: "GET", path: t.path });
        await r.body.dump();
        lat.push(performance.now() - t0);
        if (r.statusCode !== t.status) throw new Error(`${t.path}: ${r.statusCode}`);
        k += 16;
      }
    }),
  );
  await pool.close();
  lat.sort((a, b) => a - b);
  return {
    rps: Math.round(lat.length / SECONDS),
    p50: +pct(lat, 50).toFixed(2),
    p99: +pct(lat, 99).toFixed(2),
  };
}

/**
 * GETs at `rate` per second for `seconds`, open loop (request k asks for `targetOf(k)`): request i is due at start + i/rate and is sent
 * then (or as soon as the timer fires after), whether or not earlier ones were answered; its
 * latency runs from when it was due. The pool stays under the connections the server allows one
 * client address (64, --max-connections-per-client; those of the phase before may not be closed on
 * its side yet); past that many outstanding, requests wait in the pool, still timed from when they
 * were due.
 */
async function openLoad(
  pool: Pool,
  rate: number,
  seconds: number,
  targetOf: (k: number) => Target,
): Promise<{ rate: number; rateP50: number; rateP99: number; rateMax: number }> {
  const total = Math.round(rate * seconds);
  const lat: number[] = [];
  const answers: Array<Promise<void>> = [];
  const failures: string[] = [];
  const send = async (k: number, due: number) => {
    const t = targetOf(k);
    try {
      const r = await pool.request({ method: "GET", path: t.path });
      await r.body.dump();
      lat.push(performance.now() - due);
      if (r.statusCode !== t.status) failures.push(`${t.path}: ${r.statusCode}`);
    } catch (e) {
      failures.push(`${t.path}: ${(e as Error).message}`);
    }
  };
  const start = performance.now() + 10;
  const due = (i: number) => start + (i * 1000) / rate;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      for (; sent < total && due(sent) <= now; sent++) answers.push(send(sent, due(sent)));
      if (sent < total) setTimeout(tick, Math.max(0, due(sent) - performance.now()));
      else resolve();
    };
    setTimeout(tick, 10);
  });
  await Promise.all(answers);
  if (failures.length > 0) throw new Error(`open loop: ${failures.length} failed, e.g. ${failures[0]}`);
  lat.sort((a, b) => a - b);
  return {
    rate,
    rateP50: +pct(lat, 50).toFixed(2),
    rateP99: +pct(lat, 99).toFixed(2),
    rateMax: +(lat[lat.length - 1] as number).toFixed(2),
  };
}

async function bulkQuery(url: string, token: string, sample: string[][]): Promise<number> {
  const s = sample[0] as string[];
  const hashes = Array.from({ length: 32_768 }, (_, i) =>
    i % 2 === 0 ? (s[i % s.length] as string) : nix32Encode(randomBytes(20)),
  );
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await fetch(`${url}/api/v1/cache/c0/narinfo`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(hashes),
    });
    const missing = (await r.json()) as string[];
    times.push(performance.now() - t0);
    if (r.status !== 200 || missing.length < 16_000)
      throw new Error(`bulk query: ${r.status} ${missing.length}`);
  }
  times.sort((a, b) => a - b);
  return Math.round(pct(times, 50));
}

interface LevelResult {
  rows: number;
  loadSeconds: number;
  /** Open loop at `rate` GET/s (with --rate): p50, p99 and the slowest, from when each was due. */
  rate?: number;
  rateP50?: number;
  rateP99?: number;
  rateMax?: number;
  /** Saturated (16 closed-loop clients). */
  rps: number;
  p50: number;
  p99: number;
  bulkMs: number;
  /** Of the open-loop and saturated GETs, the share answered from the server's memory (its narinfo cache). */
  memHits: number;
  rssMiB: number;
}

interface Engine {
  name: "sqlite" | "postgres";
  at: StateLocation;
  storageUrl: string;
  /** A read token of c0, for the Cachix API's bulk query. */
  token: string;
  sample: string[][];
  loaded: number;
  out: LevelResult[];
}

async function engine(name: Engine["name"], at: StateLocation, storageUrl: string): Promise<Engine> {
  for (let c = 0; c < CACHES; c++)
    await adminCreateCache(at, { name: `c${c}`, isPublic: true, priority: 40 });
  const { token } = await adminCreateToken(at, { cache: "c0", perm: "read", expiresAt: null });
  const sample = Array.from({ length: CACHES }, () => [] as string[]);
  return { name, at, storageUrl, token, sample, loaded: 0, out: [] };
}

/** Loads `e` up to `level` narinfos, then measures a fresh server on it. */
async function measureLevel(e: Engine, level: number): Promise<void> {
  const loadSeconds = await load(e.at, e.loaded, level, e.sample);
  e.loaded = level;
  // What autovacuum does within a minute or so of a bulk load (statistics, the visibility map):
  // the measurement is of the database as it then stays, not of autovacuum running meanwhile.
  if (e.name === "postgres") await vacuum(e.at.db as string);
  const s = await serve(["--db", e.at.db as string, "--storage", e.storageUrl]);
  try {
    // The open loop first, on a cold narinfo cache (the server's memory); the saturated clients
    // go on along the same sequence of hashes, drawn from the sample (every narinfo up to 100k,
    // 20,000 a cache beyond): a hash asked for before is answered from memory, not from the
    // database (memHits).
    await warmUp(s.url, e.sample);
    const openPool = RATE > 0 ? new Pool(new URL(s.url).origin, { connections: 40 }) : undefined;
    // A lead-in: one second of the open loop's schedule before it is timed, on the same pool, so
    // that the connections it needs are open (a pool opens them as requests outrun it: in the
    // timed second those TCP handshakes and the server's accepts were counted as the server's
    // latency). Misses only: none is kept in the server's memory to answer a timed GET later.
    if (openPool) await openLoad(openPool, RATE, 1, miss);
    const before = await lookups(s.url);
    const open = openPool ? await openLoad(openPool, RATE, SECONDS, (k) => target(e.sample, k)) : {};
    await openPool?.close();
    const q = await narinfoLoad(s.url, e.sample, Math.round(RATE * SECONDS));
    const after = await lookups(s.url);
    const hits = after.hits - before.hits;
    const memHits = +(hits / (hits + after.misses - before.misses)).toFixed(2);
    const bulkMs = await bulkQuery(s.url, e.token, e.sample);
    e.out.push({
      rows: level,
      loadSeconds: +loadSeconds.toFixed(1),
      ...open,
      ...q,
      bulkMs,
      memHits,
      rssMiB: rssMiB(s.child.pid as number),
    });
    console.error(`${e.name} ${level}: ${JSON.stringify(e.out[e.out.length - 1])}`);
  } finally {
    s.child.kill("SIGTERM");
    await new Promise((r) => s.child.once("exit", r));
  }
}

async function vacuum(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("VACUUM (ANALYZE) narinfos");
  } finally {
    await c.end();
  }
}

/** MiB/s of GETs of `path` on `origin`, median of five. */
async function throughput(url: string, headers: Record<string, string> = {}): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await fetch(url, { headers });
    let n = 0;
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
    rates.push(n / 1024 / 1024 / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return Math.round(pct(rates, 50));
}

async function narBench(
  endpoint: string,
): Promise<{ viaServer: number; direct: number; ratio: number; mib: number }> {
  process.env.AWS_ACCESS_KEY_ID = "test:tester";
  process.env.AWS_SECRET_ACCESS_KEY = "testing";
  const storage = `s3://nixcache-bench-nar?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&path-style=1`;
  const at = { dataDir: join(work, "nar"), storage };
  await adminCreateCache(at, { name: "nars", isPublic: true, priority: 40 });
  const { token } = await adminCreateToken(at, { cache: "nars", perm: "write", expiresAt: null });
  // A 256 MiB NAR of one random file, uploaded uncompressed through the Nix protocol.
  const mib = 256;
  const { makeNar } = await import("../../test/helpers/uploads.js");
  const nar = await makeNar("bench-nar", mib * 1024 * 1024);
  const fileHash = createHash("sha256").update(nar).digest();
  const url = `nar/${nix32Encode(fileHash)}.nar`;
  const s = await serve(["--data", at.dataDir, "--storage", storage]);
  try {
    const put = await fetch(`${s.url}/nars/${url}`, {
      method: "PUT",
      body: new Uint8Array(nar),
      headers: { authorization: `Bearer ${token}` },
    });
    if (put.status !== 204) throw new Error(`PUT NAR ${put.status}`);
    // A NAR is served once a narinfo names it.
    const hash = nix32Encode(randomBytes(20));
    const text = formatNarInfo({
      storePath: `/nix/store/${hash}-bench-nar`,
      url,
      compression: "none",
      fileHash: { algo: "sha256", digest: fileHash },
      fileSize: nar.length,
      narHash: { algo: "sha256", digest: fileHash },
      narSize: nar.length,
      references: [],
      sigs: [],
      extra: [],
    });
    const ni = await fetch(`${s.url}/nars/${hash}.narinfo`, {
      method: "PUT",
      body: text,
      headers: { authorization: `Bearer ${token}` },
    });
    if (ni.status !== 204) throw new Error(`PUT narinfo ${ni.status}: ${await ni.text()}`);
    const viaServer = await throughput(`${s.url}/nars/${url}`, { authorization: `Bearer ${token}` });
    const st = await openStorage(at);
    const presigned = await st.presignGet?.(fileHash.toString("hex"), 10 * 60_000);
    if (!presigned) throw new Error("storage cannot presign");
    const direct = await throughput(presigned);
    return { viaServer, direct, ratio: +(viaServer / direct).toFixed(2), mib };
  } finally {
    s.child.kill("SIGTERM");
    await new Promise((r) => s.child.once("exit", r));
  }
}

const pgDir = join(work, "pg");
mkdirSync(pgDir);
const pgUrl = script("postgres.sh", ["start", pgDir]);
cleanups.push(() => script("postgres.sh", ["stop", pgDir]));
const swiftDir = join(work, "swift");
mkdirSync(swiftDir);
const s3 = script("swift.sh", ["start", swiftDir]);
cleanups.push(() => script("swift.sh", ["stop", swiftDir]));

const filesFor = (n: string) => `file://${join(work, `${n}-blobs`)}`;
const engines = [
  await engine("sqlite", { db: `sqlite://${join(work, "sqlite", "nixcache.db")}` }, filesFor("sqlite")),
  await engine("postgres", { db: pgUrl }, filesFor("pg")),
];
// Level by level, both engines back to back: on a shared machine, what else runs changes less
// between the two measurements of a level than between two whole series.
for (const level of LEVELS) for (const e of engines) await measureLevel(e, level);
const [sqlite, postgres] = engines.map((e) => e.out) as [LevelResult[], LevelResult[]];
const nar = await narBench(s3);
const results = { date: new Date().toISOString(), seconds: SECONDS, sqlite, postgres, nar };
console.log(JSON.stringify(results, null, 2));

const row = (b: string, r: LevelResult) =>
  `| ${b} | ${r.rows.toLocaleString("en")} | ${r.loadSeconds} s | ${
    r.rate === undefined ? "" : `${r.rateP50} / ${r.rateP99} | `
  }${r.rps.toLocaleString("en")} | ${r.p50} | ${r.p99} | ${Math.round(r.memHits * 100)}% | ${r.bulkMs} | ${r.rssMiB} |`;
const rerun = [
  "node --import tsx bench/scale/run.ts",
  ...(MAX === 1_000_000 ? [] : [`--max ${MAX}`]),
  ...(SECONDS === 5 ? [] : [`--seconds ${SECONDS}`]),
  ...(RATE > 0 ? [`--rate ${RATE}`] : []),
].join(" ");
const resultsFile = join(root, "bench/scale/RESULTS.md");
// Notes written by hand below this line are kept when the tables above it are rewritten.
const NOTES = "<!-- notes: kept by bench/scale/run.ts -->";
let notes = "";
try {
  const old = readFileSync(resultsFile, "utf8");
  const at = old.indexOf(NOTES);
  if (at >= 0) notes = `\n${old.slice(at)}`;
} catch {}
writeFileSync(
  resultsFile,
  `# bench/scale: the server past one machine

Rerun: \`${rerun}\` (after \`npm run build\`; starts its own PostgreSQL 15 and Swift; a few minutes
up to 100k rows, ten more for 1M). Measured ${results.date}, on this project's 2-core machine, the
load generator on the same cores as the server.

## Metadata at scale (10 caches, ${SECONDS} s per level and phase, 90% hits)

Goals: narinfo p99 under 5 ms; the 32,768-hash bulk query under 200 ms; RSS flat as rows grow.
${
  RATE > 0
    ? `
Open loop: GETs sent at a fixed ${RATE.toLocaleString("en")} a second whatever the answers, each timed from when it
was due (queueing counts). Saturated: 16 clients each sending its next GET when its last is answered. GETs from memory: the
share of both phases' GETs the server answered from its narinfo cache instead of the database.
`
    : `
Saturated: 16 clients each sending its next GET when its last is answered. GETs from memory: the
share of GETs the server answered from its narinfo cache instead of the database.
`
}
| metadata | narinfos | bulk load | ${RATE > 0 ? `open loop ${RATE.toLocaleString("en")}/s p50 / p99 ms | ` : ""}saturated GET/s | p50 ms | p99 ms | GETs from memory | bulk query ms | server RSS MiB |
|---|---|---|${RATE > 0 ? "---|" : ""}---|---|---|---|---|---|
${[...sqlite.map((r) => row("SQLite", r)), ...postgres.map((r) => row("PostgreSQL", r))].join("\n")}

## NAR throughput from S3 (Swift), ${nar.mib} MiB NAR, median of five GETs

| path | MiB/s |
|---|---|
| through \`nixcache serve\` (storage s3://…, streamed) | ${nar.viaServer} |
| direct presigned GET from Swift | ${nar.direct} |
| ratio (goal ≥ 0.80) | ${nar.ratio} |
${notes}`,
);
process.exit(0);
