// The dashboard's first view at scale: a cache of 100,000 paths (narinfos and their NARs loaded in
// bulk through MetadataStore.importRecords, as `data copy` writes them), 100 CI reports of 200 targets, a week of push
// activity; then the calls the page makes to open the cache (`/caches`, `/caches/main`,
// `/caches/main/pushes`) and a path lookup, timed by the server itself (its Server-Timing header:
// the handler's time, not the network's). The peer is the same server at 1,000 paths: the ratio
// says how the view's cost grows with the cache. PostgreSQL too with NIXCACHE_BENCH_PG=URL (a
// server whose user may create databases).
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { RecordTypes } from "../../src/server/metadata/records.js";
import { DB_FILE, openSqliteStore } from "../../src/server/metadata/sqlite/open.js";
import type { MetadataStore } from "../../src/server/metadata/store.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import type { ReportTargetUpload } from "../../src/ui-api/types.js";

const ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";
const ROUNDS = Number(process.env.NIXCACHE_BENCH_ROUNDS ?? 30);

function hashOf(i: number): string {
  const d = createHash("sha256").update(String(i)).digest();
  return Array.from(d.subarray(0, 32), (b) => ALPHABET[b % 32]).join("");
}

interface Row {
  hash: string;
  storePath: string;
  url: string;
  text: string;
  size: number;
  at: number;
}

function* rows(n: number): Generator<Row> {
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const hash = hashOf(i);
    const storePath = `/nix/store/${hash}-package-${i}`;
    const url = `nar/${hash}${hash.slice(0, 20)}.nar.zst`;
    const refs = i > 0 ? `${hashOf(i - 1)}-package-${i - 1}` : "";
    const text = `StorePath: ${storePath}\nURL: ${url}\nCompression: zstd\nFileHash: sha256:${hash}${hash.slice(0, 20)}\nFileSize: ${1000 + i}\nNarHash: sha256:${hash}${hash.slice(0, 20)}\nNarSize: ${4000 + i}\nReferences: ${refs}\nSig: main-1:${"A".repeat(86)}==\n`;
    yield { hash, storePath, url, text, size: 1000 + (i % 5000), at: now - (n - i) * 1000 };
  }
}

function reportTargets(k: number): ReportTargetUpload[] {
  const out: ReportTargetUpload[] = [];
  for (const system of ["x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin"])
    for (let i = 0; i < 50; i++)
      out.push({
        attr: `packages.${system}.pkg-${i}`,
        system,
        status: (i + k) % 17 === 0 ? "missing" : "ok",
        outPath: `/nix/store/${hashOf(i)}-pkg-${i}`,
        missing: (i + k) % 17 === 0 ? [`/nix/store/${hashOf(i + 1)}-dep`] : [],
        missingCount: (i + k) % 17 === 0 ? 1 : 0,
        unsigned: [],
        unsignedCount: 0,
      });
  return out;
}

/** The paths through the store's bulk load (importRecords), in pages as `data copy` writes them. */
async function loadPaths(meta: MetadataStore, n: number): Promise<void> {
  let nars: RecordTypes["nars"][] = [];
  let narinfos: RecordTypes["narinfos"][] = [];
  const flush = async () => {
    await meta.importRecords("nars", nars);
    await meta.importRecords("narinfos", narinfos);
    nars = [];
    narinfos = [];
  };
  for (const r of rows(n)) {
    nars.push({
      cache: "main",
      url: r.url,
      blob: createHash("sha256").update(r.url).digest("hex"),
      compression: "zstd",
      narHash: "sha256:x",
      narSize: r.size * 4,
      fileHash: "sha256:y",
      fileSize: r.size,
      visible: true,
      createdAt: r.at,
    });
    narinfos.push({
      cache: "main",
      hash: r.hash,
      storePath: r.storePath,
      url: r.url,
      text: r.text,
      createdAt: r.at,
      visible: true,
      waitsFor: [],
    });
    if (nars.length === 5000) await flush();
  }
  await flush();
}

/** Reports and push activity through the store's own methods (what a week of CI leaves). */
async function loadActivity(srv: RunningServer): Promise<void> {
  const targets = JSON.stringify(reportTargets(0));
  for (let i = 0; i < 100; i++)
    await srv.meta.insertReport({
      cache: "main",
      kind: i % 2 ? "verify" : "ci",
      commit: createHash("sha1").update(String(i)).digest("hex"),
      branch: i % 5 === 0 ? `feature-${i}` : "main",
      runId: `me/app#${1000 + i}`,
      runUrl: null,
      tokenId: null,
      ok: i % 3 !== 0,
      counts: JSON.stringify({
        ok: 188,
        missing: 12,
        unsigned: 0,
        "eval-failed": 0,
        "not-built": 0,
        total: 200,
      }),
      targets,
    });
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const pushes = [];
  for (let m = 0; m < 7 * 24 * 6; m++)
    pushes.push({
      cache: "main",
      minute: minute - m * 600_000,
      tokenId: "tok_ci",
      run: `me/app#${m}`,
      paths: 40,
      bytes: 4e6,
    });
  const lookups = [];
  for (let hr = 0; hr < 7 * 24; hr++)
    lookups.push({ cache: "main", hour: minute - hr * 3600_000, hits: 5000, misses: 100 });
  await srv.meta.recordActivity({ pushes, lookups });
}

async function serverTime(url: string): Promise<number> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
  const m = /app;dur=([\d.]+)/.exec(r.headers.get("server-timing") ?? "");
  if (!m) throw new Error(`${url}: no Server-Timing`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] ?? Number.NaN;

interface Result {
  calls: Record<string, { median: number; p95: number }>;
  /** The page's first view: the three calls it makes to open a cache, medians summed. */
  firstView: number;
}

async function measure(srv: RunningServer): Promise<Result> {
  const base = `${srv.url}/api/v1/ui`;
  const calls: Record<string, string> = {
    "/caches": `${base}/caches`,
    "/caches/main": `${base}/caches/main`,
    "/caches/main/pushes": `${base}/caches/main/pushes`,
    "/caches/main/path": `${base}/caches/main/path?q=${hashOf(50_000)}`,
    "/caches/main/reports": `${base}/caches/main/reports?branch=main`,
  };
  for (const u of Object.values(calls)) await serverTime(u); // warm: statements, page cache
  const out: Result["calls"] = {};
  for (const [name, u] of Object.entries(calls)) {
    const xs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) xs.push(await serverTime(u));
    out[name] = { median: median(xs), p95: p95(xs) };
  }
  const firstView = ["/caches", "/caches/main", "/caches/main/pushes"].reduce(
    (s, k) => s + (out[k]?.median ?? 0),
    0,
  );
  return { calls: out, firstView };
}

async function runSqlite(n: number): Promise<Result> {
  const dir = mkdtempSync(path.join(tmpdir(), "nixcache-bench-ui-"));
  try {
    const meta = openSqliteStore(path.join(dir, DB_FILE));
    await meta.createCache({ name: "main", isPublic: true, priority: 40 });
    await loadPaths(meta, n);
    await meta.close();
    const srv = await startServer({ dataDir: dir, port: 0, upstreams: [] });
    try {
      await loadActivity(srv);
      return await measure(srv);
    } finally {
      await srv.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runPostgres(server: string, n: number): Promise<Result> {
  const name = `nixcache_bench_ui_${process.pid}_${n}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(server);
  u.pathname = `/${name}`;
  const dir = mkdtempSync(path.join(tmpdir(), "nixcache-bench-ui-pg-"));
  try {
    const { openPostgresStore } = await import("../../src/server/metadata/postgres/open.js");
    const meta = await openPostgresStore(u.href);
    await meta.createCache({ name: "main", isPublic: true, priority: 40 });
    await loadPaths(meta, n);
    await meta.close();
    const c = new pg.Client({ connectionString: u.href });
    await c.connect();
    await c.query("ANALYZE");
    await c.end();
    const srv = await startServer({ db: u.href, storage: `file://${dir}`, port: 0, upstreams: [] });
    try {
      await loadActivity(srv);
      return await measure(srv);
    } finally {
      await srv.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
}

function table(title: string, small: Result, large: Result): string {
  const lines = [`### ${title}`, "", "| call | 1,000 paths | 100,000 paths | ratio |", "|---|---|---|---|"];
  for (const k of Object.keys(large.calls)) {
    const a = small.calls[k];
    const b = large.calls[k];
    if (!a || !b) continue;
    lines.push(
      `| \`${k}\` | ${a.median.toFixed(2)} ms (p95 ${a.p95.toFixed(2)}) | ${b.median.toFixed(2)} ms (p95 ${b.p95.toFixed(2)}) | ${(b.median / a.median).toFixed(1)}× |`,
    );
  }
  lines.push(
    `| **first view** (the three calls) | ${small.firstView.toFixed(2)} ms | **${large.firstView.toFixed(2)} ms** | ${(large.firstView / small.firstView).toFixed(1)}× |`,
    "",
  );
  return lines.join("\n");
}

const out: string[] = [];
out.push(table("SQLite (the embedded default)", await runSqlite(1_000), await runSqlite(100_000)));
const pgUrl = process.env.NIXCACHE_BENCH_PG;
if (pgUrl)
  out.push(table("PostgreSQL 15", await runPostgres(pgUrl, 1_000), await runPostgres(pgUrl, 100_000)));
process.stdout.write(
  `${out.join("\n")}\nServer time (Server-Timing), median of ${ROUNDS} calls; goal: first view under 300 ms at 100,000 paths.\n`,
);
