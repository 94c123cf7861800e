// The server past one machine, measured (issue 13): metadata at scale on SQLite and PostgreSQL,
// and NAR throughput from S3 through the server against a direct presigned GET from Swift.
//
//   node --import tsx bench/scale/run.ts [--max 1000000] [--seconds 5]
//
// For each backend, narinfos are bulk-loaded (importRecords, the path `nixcache data copy` takes)
// across 10 caches up to 10k, 100k and 1M rows; at each level a fresh `nixcache serve` process is
// measured: narinfo GETs with 16 concurrent clients (rate, p50, p99; 90% hits, 10% misses), the
// Cachix API's bulk query of 32,768 hashes (half missing), and the server's RSS. Prints JSON and
// writes bench/scale/RESULTS.md. Starts its own PostgreSQL and Swift (scripts/postgres.sh, swift.sh).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { formatNarInfo } from "../../src/nix/narinfo.js";
import { nix32Encode } from "../../src/nix/nix32.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import type { NarInfoRecord } from "../../src/server/metadata/records.js";
import { openMetadata, openStorage, type StoreLocation } from "../../src/server/stores.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
};
const MAX = arg("max", 1_000_000);
const SECONDS = arg("seconds", 5);
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

async function load(at: StoreLocation, from: number, to: number, sample: string[][]): Promise<number> {
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

async function narinfoLoad(
  url: string,
  sample: string[][],
): Promise<{ rps: number; p50: number; p99: number }> {
  const origin = new URL(url).origin;
  const pool = new Pool(origin, { connections: 16 });
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  // Warm-up: connections open, the JIT settled.
  for (let i = 0; i < 200; i++)
    await (await pool.request({ method: "GET", path: `/c0/${sample[0]?.[i]}.narinfo` })).body.dump();
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      let k = w;
      while (performance.now() < end) {
        const c = k % CACHES;
        const s = sample[c] as string[];
        const hit = k % 10 !== 0;
        const hash = hit ? (s[(k * 7919) % s.length] as string) : nix32Encode(randomBytes(20));
        const t0 = performance.now();
        const r = await pool.request({ method: "GET", path: `/c${c}/${hash}.narinfo` });
        await r.body.dump();
        lat.push(performance.now() - t0);
        if (r.statusCode !== (hit ? 200 : 404)) throw new Error(`narinfo ${hash}: ${r.statusCode}`);
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
  rps: number;
  p50: number;
  p99: number;
  bulkMs: number;
  rssMiB: number;
}

async function metadataBench(name: string, at: StoreLocation, storageUrl: string): Promise<LevelResult[]> {
  for (let c = 0; c < CACHES; c++)
    await adminCreateCache(at, { name: `c${c}`, isPublic: true, priority: 40 });
  const { token } = await adminCreateToken(at, { cache: "c0", perm: "read", expiresAt: null });
  const sample: string[][] = Array.from({ length: CACHES }, () => []);
  const out: LevelResult[] = [];
  let loaded = 0;
  for (const level of LEVELS) {
    const loadSeconds = await load(at, loaded, level, sample);
    loaded = level;
    const s = await serve([...(at.db ? ["--db", at.db] : []), "--storage", storageUrl]);
    try {
      const q = await narinfoLoad(s.url, sample);
      const bulkMs = await bulkQuery(s.url, token, sample);
      out.push({
        rows: level,
        loadSeconds: +loadSeconds.toFixed(1),
        ...q,
        bulkMs,
        rssMiB: rssMiB(s.child.pid as number),
      });
      console.error(`${name} ${level}: ${JSON.stringify(out[out.length - 1])}`);
    } finally {
      s.child.kill("SIGTERM");
      await new Promise((r) => s.child.once("exit", r));
    }
  }
  return out;
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
  const { makeNar } = await import("../../test/server-fixtures.js");
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
const sqlite = await metadataBench(
  "sqlite",
  { db: `sqlite://${join(work, "sqlite", "nixcache.db")}` },
  filesFor("sqlite"),
);
const postgres = await metadataBench("postgres", { db: pgUrl }, filesFor("pg"));
const nar = await narBench(s3);
const results = { date: new Date().toISOString(), seconds: SECONDS, sqlite, postgres, nar };
console.log(JSON.stringify(results, null, 2));

const row = (b: string, r: LevelResult) =>
  `| ${b} | ${r.rows.toLocaleString("en")} | ${r.loadSeconds} s | ${r.rps.toLocaleString("en")} | ${r.p50} | ${r.p99} | ${r.bulkMs} | ${r.rssMiB} |`;
writeFileSync(
  join(root, "bench/scale/RESULTS.md"),
  `# bench/scale: the server past one machine

Rerun: \`node --import tsx bench/scale/run.ts\` (after \`npm run build\`; starts its own PostgreSQL 15
and Swift; about ten minutes). Measured ${results.date}, on this project's 2-core machine, the
load generator on the same cores as the server.

## Metadata at scale (10 caches, 16 concurrent clients, ${SECONDS} s per level, 90% hits)

Goals: narinfo p99 under 5 ms; the 32,768-hash bulk query under 200 ms; RSS flat as rows grow.

| metadata | narinfos | bulk load | GET/s | p50 ms | p99 ms | bulk query ms | server RSS MiB |
|---|---|---|---|---|---|---|---|
${[...sqlite.map((r) => row("SQLite", r)), ...postgres.map((r) => row("PostgreSQL", r))].join("\n")}

## NAR throughput from S3 (Swift), ${nar.mib} MiB NAR, median of five GETs

| path | MiB/s |
|---|---|
| through \`nixcache serve\` (storage s3://…, streamed) | ${nar.viaServer} |
| direct presigned GET from Swift | ${nar.direct} |
| ratio (goal ≥ 0.80) | ${nar.ratio} |
`,
);
process.exit(0);
