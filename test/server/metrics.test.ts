// GET /metrics over HTTP against started servers: the output is Prometheus text format, and the
// counters move as pushes, narinfo reads, misses and refused uploads happen.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { bearerMatches, ServerMetrics } from "../../src/server/metrics.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { runCli } from "../helpers/cli.js";
import { serve } from "../helpers/serve.js";
import { makeUpload, narInfoText, type Upload } from "../helpers/uploads.js";

/** One sample: its metric name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly: every line is a HELP, a TYPE or
 * a sample; every sample belongs to a family declared by a TYPE line before it (with the
 * suffixes of its type), label values are properly quoted and escaped, values are numbers.
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
  const labelRe = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/;
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (m) continue;
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) {
      assert.ok(!types.has(m[1] as string), `${m[1]} has two TYPE lines`);
      types.set(m[1] as string, m[2] as string);
      continue;
    }
    m = sampleRe.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const name = m[1] as string;
    const labels: Record<string, string> = {};
    let rest = m[2] ?? "";
    while (rest !== "") {
      const l = labelRe.exec(rest);
      assert.ok(l, `bad labels in ${JSON.stringify(line)}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(["\\n])/g, (_, c: string) =>
        c === "n" ? "\n" : c,
      );
      rest = rest.slice(l[0].length);
    }
    const raw = m[3] as string;
    // As Prometheus parses values (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan").
    const value = /^[+-]?inf$/i.test(raw) ? (raw.startsWith("-") ? -Infinity : Infinity) : Number(raw);
    assert.ok(/^nan$/i.test(raw) || !Number.isNaN(value), `bad value in ${JSON.stringify(line)}`);
    const family = [name, name.replace(/_(bucket|sum|count)$/, "")].find((f) => types.has(f));
    assert.ok(family, `${name} has no TYPE line before it`);
    const type = types.get(family);
    if (family !== name)
      assert.ok(type === "histogram" || type === "summary", `${name}: suffix on a ${type}`);
    if (name.endsWith("_bucket")) assert.ok("le" in labels, `${name} without le`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

class Scrape {
  constructor(
    readonly samples: Sample[],
    readonly types: Map<string, string>,
  ) {}
  /** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
  get(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((a, s) => a + s.value, 0);
  }
  has(name: string, labels: Record<string, string> = {}): boolean {
    return this.samples.some(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }
}

async function scrape(url: string, token?: string): Promise<Scrape> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const r = await fetch(`${url}/metrics`, { headers });
  assert.equal(r.status, 200, await r.clone().text());
  assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  const { samples, types } = parseExposition(await r.text());
  return new Scrape(samples, types);
}

const NAR_ROUTE = "/:cache/nar/:file";
const TOP_ROUTE = "/:cache/:file";

describe("GET /metrics", () => {
  let data: string;
  let srv: RunningServer;
  let token: string;

  const put = (path: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
    fetch(`${srv.url}${path}`, {
      method: "PUT",
      body: typeof body === "string" ? body : new Uint8Array(body),
      headers: { authorization: `Bearer ${token}`, ...headers },
    });

  async function push(u: Upload): Promise<void> {
    const r1 = await put(`/main/${u.url}`, u.file);
    assert.equal(r1.status, 204, await r1.text());
    const r2 = await put(`/main/${u.hash}.narinfo`, narInfoText(u.narinfo));
    assert.equal(r2.status, 204, await r2.text());
  }

  before(async () => {
    data = await mkdtemp(join(tmpdir(), "nixcache-metrics-"));
    await adminCreateCache(data, { name: "main", isPublic: true, priority: 30 });
    await adminCreateCache(data, { name: "empty", isPublic: false, priority: 41 });
    token = (await adminCreateToken(data, { cache: "main", perm: "write", expiresAt: null })).token;
    srv = await startServer({ dataDir: data, port: 0, maxUploadBytes: 1 << 20 });
  });
  after(async () => {
    await srv.close();
    await rm(data, { recursive: true, force: true });
  });

  test("parses as Prometheus text; every family is there, process metrics included", async () => {
    const s = await scrape(srv.url);
    for (const [name, type] of [
      ["nixcache_http_requests_total", "counter"],
      ["nixcache_http_request_duration_seconds", "histogram"],
      ["nixcache_http_bytes_in_total", "counter"],
      ["nixcache_http_bytes_out_total", "counter"],
      ["nixcache_ingest_refusals_total", "counter"],
      ["nixcache_narinfo_cache_hits_total", "counter"],
      ["nixcache_narinfo_cache_misses_total", "counter"],
      ["nixcache_cache_paths", "gauge"],
      ["nixcache_gc_runs_total", "counter"],
      ["nixcache_gc_duration_seconds", "histogram"],
      ["nixcache_gc_paths_deleted_total", "counter"],
      ["nixcache_gc_bytes_deleted_total", "counter"],
      ["nixcache_gc_last_run_timestamp_seconds", "gauge"],
      ["process_cpu_user_seconds_total", "counter"],
      ["nodejs_heap_size_used_bytes", "gauge"],
    ])
      assert.equal(s.types.get(name as string), type, `${name} is a ${type}`);
    // The embedded SQLite store has no connection pool.
    assert.ok(![...s.types.keys()].some((n) => n.startsWith("nixcache_db_pool_")));
    assert.equal(s.get("nixcache_cache_paths", { cache: "main" }), 0);
    assert.ok(s.has("nixcache_cache_paths", { cache: "main" }));
    assert.ok(s.has("nixcache_cache_bytes", { cache: "main" }));
  });

  test("item 10: open metrics leave private caches out (their names are not public)", async () => {
    const s = await scrape(srv.url);
    assert.ok(!s.has("nixcache_cache_paths", { cache: "empty" }), "a private cache's paths");
    assert.ok(!s.has("nixcache_cache_bytes", { cache: "empty" }), "a private cache's bytes");
    const r = await fetch(`${srv.url}/metrics`);
    assert.doesNotMatch(await r.text(), /"empty"/);
  });

  test("a push moves the request, byte and cache-size metrics; /metrics itself is not counted", async () => {
    const before = await scrape(srv.url);
    const u = await makeUpload("metrics-push", "zstd", 20_000);
    await push(u);
    const nar = await fetch(`${srv.url}/main/${u.url}`);
    assert.equal(Buffer.from(await nar.arrayBuffer()).length, u.file.length);
    const s = await scrape(srv.url);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      s.get(name, labels) - before.get(name, labels);

    assert.equal(
      delta("nixcache_http_requests_total", { route: NAR_ROUTE, method: "PUT", status: "204" }),
      1,
    );
    assert.equal(
      delta("nixcache_http_requests_total", { route: TOP_ROUTE, method: "PUT", status: "204" }),
      1,
    );
    assert.equal(
      delta("nixcache_http_requests_total", { route: NAR_ROUTE, method: "GET", status: "200" }),
      1,
    );
    assert.equal(
      delta("nixcache_http_request_duration_seconds_count", { route: NAR_ROUTE, method: "PUT" }),
      1,
    );
    assert.ok(delta("nixcache_http_bytes_in_total", { route: NAR_ROUTE }) >= u.file.length);
    assert.ok(delta("nixcache_http_bytes_in_total", { route: NAR_ROUTE }) < u.file.length * 2 + 4096);
    assert.ok(delta("nixcache_http_bytes_out_total", { route: NAR_ROUTE }) >= u.file.length);
    assert.equal(delta("nixcache_cache_paths", { cache: "main" }), 1);
    // Route patterns only: no URL of a NAR or narinfo appears as a label.
    for (const x of s.samples) assert.ok(!Object.values(x.labels).some((v) => v.includes(u.hash)));
    assert.ok(!s.has("nixcache_http_requests_total", { route: "/metrics" }));
  });

  test("narinfo reads: a miss then a hit; an absent narinfo is a counted 404; so is an unknown path", async () => {
    const u = await makeUpload("metrics-narinfo");
    await push(u);
    const before = await scrape(srv.url);
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${srv.url}/main/${u.hash}.narinfo`)).status, 200);
    // The Cachix API's narinfo read goes through the same cache.
    assert.equal((await fetch(`${srv.url}/api/v1/cache/main/${u.hash}.narinfo`)).status, 200);
    assert.equal((await fetch(`${srv.url}/main/${"0".repeat(32)}.narinfo`)).status, 404);
    assert.equal((await fetch(`${srv.url}/no/such/path/here`)).status, 404);
    const s = await scrape(srv.url);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      s.get(name, labels) - before.get(name, labels);
    // The push emptied the narinfo cache: the first read asks the store, later ones do not.
    assert.equal(delta("nixcache_narinfo_cache_misses_total"), 2, "the first read and the absent one");
    assert.equal(delta("nixcache_narinfo_cache_hits_total"), 3);
    assert.equal(
      delta("nixcache_http_requests_total", { route: TOP_ROUTE, method: "GET", status: "200" }),
      3,
    );
    assert.equal(
      delta("nixcache_http_requests_total", { route: TOP_ROUTE, method: "GET", status: "404" }),
      1,
    );
    assert.equal(
      delta("nixcache_http_requests_total", {
        route: "/api/v1/cache/:name/:file",
        method: "GET",
        status: "200",
      }),
      1,
    );
    assert.equal(
      delta("nixcache_http_requests_total", { route: "unmatched", method: "GET", status: "404" }),
      1,
    );
  });

  test("refused uploads are counted by reason", async () => {
    const before = await scrape(srv.url);
    const u = await makeUpload("metrics-bad");
    // Not zstd at all.
    const bad = await put(`/main/${u.url}`, Buffer.from("this is not a zstd frame, nor a NAR"));
    assert.equal(bad.status, 400, await bad.text());
    // Over --max-upload (1 MiB here).
    const large = await makeUpload("metrics-large", "none", 2 << 20);
    const big = await put(`/main/${large.url}`, large.file);
    assert.equal(big.status, 413, await big.text());
    // A narinfo whose NAR was never uploaded.
    const orphan = await makeUpload("metrics-orphan");
    const ni = await put(`/main/${orphan.hash}.narinfo`, narInfoText(orphan.narinfo));
    assert.equal(ni.status, 400, await ni.text());
    // Refused before ingest (no permission): not an ingest refusal.
    const anon = await fetch(`${srv.url}/main/${u.url}`, { method: "PUT", body: "x" });
    assert.equal(anon.status, 401);
    const s = await scrape(srv.url);
    const delta = (labels: Record<string, string>) =>
      s.get("nixcache_ingest_refusals_total", labels) - before.get("nixcache_ingest_refusals_total", labels);
    assert.equal(delta({ reason: "tooLarge" }), 1);
    assert.equal(delta({ reason: "invalid" }), 2, "the bad NAR and the narinfo without its NAR");
    assert.equal(delta({}), 3);
    assert.equal(
      s.get("nixcache_http_requests_total", { route: NAR_ROUTE, method: "PUT", status: "401" }) -
        before.get("nixcache_http_requests_total", { route: NAR_ROUTE, method: "PUT", status: "401" }),
      1,
    );
  });

  test("the GC reports its runs through server.metrics.gc", async () => {
    srv.metrics.gc.recordRun({
      durationSeconds: 2.5,
      pathsDeleted: 7,
      bytesDeleted: 4096,
      endedAt: 1_700_000_000_000,
    });
    srv.metrics.gc.recordRun({
      durationSeconds: 1,
      pathsDeleted: 0,
      bytesDeleted: 0,
      ok: false,
      endedAt: 1_700_000_100_000,
    });
    const s = await scrape(srv.url);
    assert.equal(s.get("nixcache_gc_runs_total", { result: "ok" }), 1);
    assert.equal(s.get("nixcache_gc_runs_total", { result: "failed" }), 1);
    assert.equal(s.get("nixcache_gc_duration_seconds_count"), 2);
    assert.equal(s.get("nixcache_gc_duration_seconds_sum"), 3.5);
    assert.equal(s.get("nixcache_gc_paths_deleted_total"), 7);
    assert.equal(s.get("nixcache_gc_bytes_deleted_total"), 4096);
    assert.equal(s.get("nixcache_gc_last_run_timestamp_seconds"), 1_700_000_100);
  });
});

describe("GET /metrics behind a token", () => {
  const metricsToken = "metrics-token-0123456789";
  let data: string;
  let srv: RunningServer;

  before(async () => {
    data = await mkdtemp(join(tmpdir(), "nixcache-metrics-tok-"));
    await adminCreateCache(data, { name: "pub", isPublic: true, priority: 40 });
    await adminCreateCache(data, { name: "priv", isPublic: false, priority: 40 });
    srv = await startServer({ dataDir: data, port: 0, metricsToken });
  });
  after(async () => {
    await srv.close();
    await rm(data, { recursive: true, force: true });
  });

  test("401 without the token or with another one; 200 with it", async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: "Bearer metrics-token-0123456788" },
      { authorization: "Bearer metrics-token" },
      { authorization: `Basic ${Buffer.from(`x:${metricsToken}`).toString("base64")}` },
      { authorization: metricsToken },
    ]) {
      const r = await fetch(`${srv.url}/metrics`, { headers });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="nixcache metrics"');
      const body = await r.text();
      assert.doesNotMatch(body, /nixcache_http/);
      assert.ok(!body.includes(metricsToken));
    }
    const s = await scrape(srv.url, metricsToken);
    assert.ok(s.types.has("nixcache_http_requests_total"));
    // Whoever holds the metrics token sees every cache, private ones included (item 10).
    for (const cache of ["pub", "priv"]) {
      assert.ok(s.has("nixcache_cache_paths", { cache }), cache);
      assert.ok(s.has("nixcache_cache_bytes", { cache }), cache);
    }
    // Other routes need no metrics token.
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });

  test("bearerMatches: exact token only, scheme case-insensitive", () => {
    assert.equal(bearerMatches(`Bearer ${metricsToken}`, metricsToken), true);
    assert.equal(bearerMatches(`bearer ${metricsToken}`, metricsToken), true);
    assert.equal(bearerMatches(`Bearer ${metricsToken}x`, metricsToken), false);
    assert.equal(bearerMatches(undefined, metricsToken), false);
    assert.equal(bearerMatches("Bearer ", metricsToken), false);
  });
});

describe("metrics without a server", () => {
  test("a metadata store with a pool gets nixcache_db_pool_* gauges, read at scrape time", async () => {
    const m = new ServerMetrics({ processMetrics: false });
    let stats = { total: 4, idle: 3, waiting: 0 };
    m.registerDbPool(() => stats);
    const first = parseExposition(await m.render());
    const value = (s: Sample[], name: string) => s.find((x) => x.name === name)?.value;
    assert.equal(value(first.samples, "nixcache_db_pool_connections"), 4);
    stats = { total: 10, idle: 0, waiting: 7 };
    const second = parseExposition(await m.render()).samples;
    assert.equal(value(second, "nixcache_db_pool_connections"), 10);
    assert.equal(value(second, "nixcache_db_pool_idle_connections"), 0);
    assert.equal(value(second, "nixcache_db_pool_waiting_requests"), 7);
    assert.throws(() => m.registerDbPool(() => stats), /registered already/);
  });

  test("two servers' registries are separate", async () => {
    const a = new ServerMetrics({ processMetrics: false });
    const b = new ServerMetrics({ processMetrics: false });
    a.gc.recordRun({ durationSeconds: 1, pathsDeleted: 1, bytesDeleted: 1 });
    assert.match(await a.render(), /^nixcache_gc_paths_deleted_total 1$/m);
    assert.match(await b.render(), /^nixcache_gc_paths_deleted_total 0$/m);
  });
});

describe("nixcache serve --metrics-token-file", () => {
  test("the token is read from the file (or NIXCACHE_METRICS_TOKEN), never from the command line", async () => {
    const data = await mkdtemp(join(tmpdir(), "nixcache-metrics-cli-"));
    const file = join(data, "metrics-token");
    await writeFile(file, "file-token-0123456789abcdef\n");
    const served = await serve(join(data, "d"), ["--metrics-token-file", file, "--quiet"]);
    try {
      assert.equal((await fetch(`${served.url}/metrics`)).status, 401);
      const ok = await fetch(`${served.url}/metrics`, {
        headers: { authorization: "Bearer file-token-0123456789abcdef" },
      });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^# TYPE nixcache_http_requests_total counter$/m);
    } finally {
      served.child.kill("SIGTERM");
      await served.exited;
    }
    // The environment variable, when there is no file (spawned with this process's environment).
    process.env.NIXCACHE_METRICS_TOKEN = "env-token-0123456789abcdef";
    const fromEnv = await serve(join(data, "d"), ["--quiet"]).finally(() => {
      delete process.env.NIXCACHE_METRICS_TOKEN;
    });
    try {
      assert.equal((await fetch(`${fromEnv.url}/metrics`)).status, 401);
      const ok = await fetch(`${fromEnv.url}/metrics`, {
        headers: { authorization: "Bearer env-token-0123456789abcdef" },
      });
      assert.equal(ok.status, 200);
    } finally {
      fromEnv.child.kill("SIGTERM");
      await fromEnv.exited;
    }
    // A token too short to be one is a usage error, and the message does not repeat it.
    await writeFile(file, "short\n");
    const r = await runCli([
      "serve",
      "--data",
      join(data, "d"),
      "--listen",
      "127.0.0.1:0",
      "--metrics-token-file",
      file,
    ]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /metrics token \(--metrics-token-file .*\) must be 16 to 512 printable characters/,
    );
    assert.doesNotMatch(r.stderr, /short/);
    await rm(data, { recursive: true, force: true });
  });
});
