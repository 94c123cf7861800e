// Retention, quotas, pins and GC over HTTP, in-process: quotas refuse through both APIs with nothing
// stored, pins work through the Cachix API and the CLI, fetched paths survive, GC runs move the
// metrics, one GC runs at a time, and pushes racing a GC never leave a broken closure behind.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { formatNarInfo, type NarInfo } from "../../../src/nix/narinfo.js";
import { AccessTimes } from "../../../src/server/access-times.js";
import {
  adminCreateCache,
  adminCreateToken,
  adminListCaches,
  adminUpdateCache,
} from "../../../src/server/admin.js";
import { FetchGuard } from "../../../src/server/fetch-guard.js";
import { collectGarbage, GcBusyError } from "../../../src/server/gc.js";
import type { MetadataStore } from "../../../src/server/metadata/store.js";
import { type RunningServer, type ServerOptions, startServer } from "../../../src/server/server.js";
import { openMetadata, openStorage, type StateLocation } from "../../../src/server/state-location.js";
import { apiClient } from "../../helpers/cachix.js";
import { runCli } from "../../helpers/cli.js";
import { testClock } from "../../helpers/clock.js";
import { tempDir } from "../../helpers/nix.js";
import { freshDatabase } from "../../helpers/postgres.js";
import { makeUpload, narInfoCreateFor, recompressed, type Upload } from "../../helpers/uploads.js";

function blobFiles(dir: string): string[] {
  const out: string[] = [];
  const root = join(dir, "blobs");
  for (const shard of readdirSync(root)) for (const f of readdirSync(join(root, shard))) out.push(f);
  return out.sort();
}

/** An HTTP client of one cache, pushing the way Nix does: NAR first, then its narinfo. */
function cacheClient(base: string, cache: string, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const put = (path: string, body: Uint8Array<ArrayBuffer> | string) =>
    fetch(`${base}/${cache}/${path}`, { method: "PUT", body, headers: auth });
  const narinfo = (u: Upload, refs: Upload[]): string => {
    const ni: NarInfo = {
      ...u.narinfo,
      references: refs.map((r) => r.storePath.slice("/nix/store/".length)).sort(),
    };
    return formatNarInfo(ni);
  };
  return {
    put,
    async push(u: Upload, refs: Upload[] = []): Promise<void> {
      // A blob the GC is deleting right now answers 503 "retry the upload": a client retries
      // (Nix and the cachix client do), and so does this one.
      let nar = await put(u.url, new Uint8Array(u.file));
      for (let i = 0; nar.status === 503 && i < 50; i++) {
        await nar.arrayBuffer();
        await new Promise((r) => setTimeout(r, 100));
        nar = await put(u.url, new Uint8Array(u.file));
      }
      assert.equal(nar.status, 204, await nar.text());
      const ni = await put(`${u.hash}.narinfo`, narinfo(u, refs));
      assert.equal(ni.status, 204, await ni.text());
    },
    async status(path: string, method = "GET"): Promise<number> {
      const r = await fetch(`${base}/${cache}/${path}`, { method, headers: auth });
      await r.arrayBuffer();
      return r.status;
    },
  };
}

/** Serves the closure completely: narinfos and NARs of every path answer 200. */
async function assertServed(c: ReturnType<typeof cacheClient>, us: Upload[], what: string) {
  for (const u of us) {
    assert.equal(await c.status(`${u.hash}.narinfo`), 200, `${what}: narinfo of ${u.storePath}`);
    assert.equal(await c.status(u.url), 200, `${what}: NAR of ${u.storePath}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("on the filesystem and SQLite", () => {
  let dir: { path: string; cleanup(): void };
  let srv: RunningServer;
  const clock = testClock();

  before(async () => {
    dir = tempDir("nixcache-gc-http-");
    srv = await startServer({
      dataDir: dir.path,
      cacheRows: { now: clock.now },
      port: 0,
      upstreams: [],
      gcIntervalMs: 3_600_000,
      gcGraceMs: 0,
      accessFlushMs: 3_600_000,
    });
  });
  after(async () => {
    await srv?.close();
    dir?.cleanup();
  });

  test("quota, Nix protocol: a NAR that would pass it is refused (413) naming cache, usage and quota; nothing is stored", async () => {
    const [u1, u2] = [await makeUpload("quota-1"), await makeUpload("quota-2", "zstd", 4000)];
    await adminCreateCache(dir.path, {
      name: "q",
      isPublic: true,
      priority: 41,
      quotaBytes: u1.file.length + u2.file.length - 1,
    });
    const token = (await adminCreateToken(dir.path, { cache: "q", perm: "write", expiresAt: null })).token;
    const c = cacheClient(srv.url, "q", token);
    await c.push(u1);
    const blobs = blobFiles(dir.path);
    const usage = async () => (await adminListCaches(dir.path)).find((x) => x.name === "q")?.bytes;
    assert.equal(await usage(), u1.file.length);

    // Declared by Content-Length: refused before the body is read.
    const declared = await c.put(u2.url, new Uint8Array(u2.file));
    assert.equal(declared.status, 413);
    const message = await declared.text();
    assert.match(message, /cache "q" is over its quota: it uses .* \(\d+ bytes\) of .* \(\d+ bytes\)/);
    assert.ok(message.includes(`(${u1.file.length} bytes)`), message);
    assert.ok(message.includes(`(${u1.file.length + u2.file.length - 1} bytes)`), message);
    // Streamed without a length: refused once received, before it is stored.
    const streamed = await fetch(`${srv.url}/q/${u2.url}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}` },
      body: new ReadableStream({
        start(ctl) {
          ctl.enqueue(new Uint8Array(u2.file));
          ctl.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    assert.equal(streamed.status, 413, await streamed.text());
    assert.deepEqual(blobFiles(dir.path), blobs, "no blob was stored");
    assert.equal(await usage(), u1.file.length);
    assert.equal(await c.status(`${u2.hash}.narinfo`), 404);

    await adminUpdateCache(dir.path, "q", { quotaBytes: null });
    clock.advance(1100); // the server's cache rows live a second
    await c.push(u2);
    assert.equal(await usage(), u1.file.length + u2.file.length);
  });

  test("quota, Cachix API: a multipart upload over it is refused at complete (413) and aborted; a full cache at create", async () => {
    const u = await makeUpload("quota-mp", "zstd", 2000);
    await adminCreateCache(dir.path, {
      name: "qmp",
      isPublic: true,
      priority: 41,
      quotaBytes: u.file.length - 1,
    });
    const token = (await adminCreateToken(dir.path, { cache: "qmp", perm: "write", expiresAt: null })).token;
    const { call, startUpload } = apiClient(`${srv.url}/api/v1`);
    const blobs = blobFiles(dir.path);
    const up = await startUpload(u, token, [u.file], "qmp");
    const done = await call("POST", `${up.base}/complete?uploadId=${up.uploadId}`, token, {
      parts: up.parts,
      narInfoCreate: narInfoCreateFor(u),
    });
    assert.equal(done.status, 413, done.text);
    assert.match((done.json as { error: string }).error, /cache "qmp" is over its quota/);
    assert.equal((await srv.meta.getMultipart(up.narId))?.state, "aborted", "the upload ended");
    assert.deepEqual(blobFiles(dir.path), blobs, "no blob was stored");
    assert.deepEqual(await srv.meta.parts(up.narId), [], "its parts are gone");

    await adminUpdateCache(dir.path, "qmp", { quotaBytes: 0 });
    clock.advance(1100); // the server's cache rows live a second
    const full = await call("POST", "/cache/qmp/multipart-nar?compression=zst", token);
    assert.equal(full.status, 413, full.text);
    assert.match((full.json as { error: string }).error, /over its quota: it uses 0 B \(0 bytes\) of 0 B/);
  });

  test("pins through the Cachix API: write tokens pin visible paths, channels keep N, list and delete", async () => {
    await adminCreateCache(dir.path, { name: "p", isPublic: true, priority: 41 });
    const write = (await adminCreateToken(dir.path, { cache: "p", perm: "write", expiresAt: null })).token;
    const read = (await adminCreateToken(dir.path, { cache: "p", perm: "read", expiresAt: null })).token;
    const c = cacheClient(srv.url, "p", write);
    const [a, b] = [await makeUpload("pin-a"), await makeUpload("pin-b")];
    await c.push(a);
    await c.push(b);
    const { call } = apiClient(`${srv.url}/api/v1`);
    const pin = (token: string, body: unknown) => call("POST", "/cache/p/pin", token, body);

    assert.equal((await pin(read, { name: "v1", storePath: a.storePath, artifacts: [] })).status, 401);
    const unknown = await pin(write, {
      name: "v1",
      storePath: `/nix/store/${"0".repeat(32)}-x`,
      artifacts: [],
    });
    assert.equal(unknown.status, 404);
    assert.match((unknown.json as { error: string }).error, /has no store path \/nix\/store\/0{32}-x/);
    assert.equal((await pin(write, { name: "a/b", storePath: a.storePath, artifacts: [] })).status, 400);
    assert.equal((await pin(write, { name: "v1", storePath: "relative", artifacts: [] })).status, 400);
    assert.equal(
      (await pin(write, { name: "v1", storePath: a.storePath, keep: { tag: "Weeks", contents: 1 } })).status,
      400,
    );

    const keep1 = { tag: "Revisions", contents: 1 };
    assert.equal(
      (await pin(write, { name: "v1", storePath: a.storePath, artifacts: ["bin/a"], keep: keep1 })).status,
      200,
    );
    assert.equal(
      (await pin(write, { name: "v1", storePath: b.storePath, artifacts: [], keep: null })).status,
      200,
    );
    const listed = await call("GET", "/cache/p/pin", read);
    assert.equal(listed.status, 200);
    const pins = listed.json as Array<{
      name: string;
      storePath: string;
      keep: unknown;
      revisions: unknown[];
    }>;
    assert.equal(pins.length, 1);
    assert.equal(pins[0]?.name, "v1");
    assert.equal(pins[0]?.storePath, b.storePath, "the newest revision");
    assert.deepEqual(pins[0]?.keep, keep1, "keep: null left it as it was");
    assert.equal(pins[0]?.revisions.length, 1, "the channel keeps one");

    assert.equal((await call("DELETE", "/cache/p/pin/v1", read)).status, 401);
    assert.equal((await call("DELETE", "/cache/p/pin/v1", write)).status, 200);
    assert.equal((await call("DELETE", "/cache/p/pin/v1", write)).status, 404);
    assert.deepEqual((await call("GET", "/cache/p/pin", read)).json, []);
  });

  // Issue 30, item 2: 108 revisions of 1,000 artifacts of 4 KB: a 447 MB anonymous pin list, and
  // the dashboard's cache view carried every artifact.
  test("pins through the Cachix API: artifacts bounded and kept by the newest revision; listings come in pages", async () => {
    await adminCreateCache(dir.path, { name: "pa", isPublic: true, priority: 41 });
    const write = (await adminCreateToken(dir.path, { cache: "pa", perm: "write", expiresAt: null })).token;
    const c = cacheClient(srv.url, "pa", write);
    const ups = [await makeUpload("art-1"), await makeUpload("art-2"), await makeUpload("art-3")];
    for (const u of ups) await c.push(u);
    const { call } = apiClient(`${srv.url}/api/v1`);
    const pin = (name: string, u: Upload, artifacts: string[]) =>
      call("POST", "/cache/pa/pin", write, { name, storePath: u.storePath, artifacts });
    const get = async (path: string) => {
      const r = await fetch(`${srv.url}/api/v1${path}`);
      return { status: r.status, link: r.headers.get("link"), json: (await r.json()) as unknown };
    };
    type Listed = {
      name: string;
      revisionCount: number;
      revisions: Array<{ storePath: string; artifacts: string[] }>;
    };

    const tooMany = await pin(
      "main",
      ups[0] as Upload,
      Array.from({ length: 101 }, (_, i) => `bin/${i}`),
    );
    assert.equal(tooMany.status, 400, tooMany.text);
    assert.match(
      (tooMany.json as { error: string }).error,
      /artifacts: a pin revision names at most 100 artifacts, not 101/,
    );
    const tooLong = await pin("main", ups[0] as Upload, ["y".repeat(1025)]);
    assert.equal(tooLong.status, 400);
    assert.match((tooLong.json as { error: string }).error, /artifact 1 is 1025 characters long/);
    assert.deepEqual((await get("/cache/pa/pin")).json, [], "refusals store nothing");

    const artifacts = (i: number) => Array.from({ length: 100 }, (_, j) => `share/doc/${i}/${j}`);
    for (const [i, u] of ups.entries()) assert.equal((await pin("main", u, artifacts(i))).status, 200);
    for (let i = 0; i < 55; i++)
      assert.equal((await pin(`p${String(i).padStart(2, "0")}`, ups[0] as Upload, ["bin/x"])).status, 200);

    const first = await get("/cache/pa/pin");
    const listed = first.json as Listed[];
    assert.equal(listed.length, 50);
    assert.equal(first.link, '<?after=p48&limit=50>; rel="next"');
    const main = listed[0];
    assert.equal(main?.name, "main");
    assert.equal(main?.revisionCount, 3);
    assert.deepEqual(
      main?.revisions.map((r) => [r.storePath, r.artifacts.length]),
      [
        [ups[2]?.storePath, 100],
        [ups[1]?.storePath, 0],
        [ups[0]?.storePath, 0],
      ],
      "only the newest revision keeps its artifacts",
    );
    const second = await get("/cache/pa/pin?after=p48&limit=50");
    assert.deepEqual(
      (second.json as Listed[]).map((p) => p.name),
      ["p49", "p50", "p51", "p52", "p53", "p54"],
    );
    assert.equal(second.link, null, "the last page");

    const page = await get("/cache/pa/pin/main?limit=2");
    assert.deepEqual(
      (page.json as Listed).revisions.map((r) => r.storePath),
      [ups[2]?.storePath, ups[1]?.storePath],
    );
    const before = encodeURIComponent(ups[1]?.storePath ?? "");
    assert.equal(page.link, `<?before=${before}&limit=2>; rel="next"`);
    const rest = await get(`/cache/pa/pin/main?before=${before}&limit=2`);
    assert.deepEqual(
      (rest.json as Listed).revisions.map((r) => r.storePath),
      [ups[0]?.storePath],
    );
    assert.equal(rest.link, null);
    assert.equal((await get("/cache/pa/pin/nope")).status, 404);
    assert.equal((await get("/cache/pa/pin/main?before=nope")).status, 400);
    assert.equal((await get("/cache/pa/pin?limit=0")).status, 400);

    // The dashboard lists pins without artifacts.
    const view = await get("/ui/caches/pa");
    const v = view.json as { pins: Array<{ name: string; revisions: number }>; pinsMore: boolean };
    assert.equal(v.pins.length, 56);
    assert.equal(v.pinsMore, false);
    assert.deepEqual(v.pins[0], { ...v.pins[0], name: "main", revisions: 3 });
    assert.doesNotMatch(JSON.stringify(view.json), /share\/doc|bin\/x/);
  });

  test("pins through the CLI: add (a visible path only), --keep, list --json, remove", async () => {
    await adminCreateCache(dir.path, { name: "pc", isPublic: true, priority: 41 });
    const write = (await adminCreateToken(dir.path, { cache: "pc", perm: "write", expiresAt: null })).token;
    const c = cacheClient(srv.url, "pc", write);
    const ups = [await makeUpload("cli-1"), await makeUpload("cli-2"), await makeUpload("cli-3")];
    for (const u of ups) await c.push(u);
    const cli = (...args: string[]) => runCli([...args, "--data", dir.path]);

    const missing = await cli("pin", "add", "pc", "main", `/nix/store/${"1".repeat(32)}-nope`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cache "pc" has no store path \/nix\/store\/1{32}-nope: push it/);
    const badName = await cli("pin", "add", "pc", "-x", ups[0]?.storePath ?? "");
    assert.notEqual(badName.code, 0);
    const notPath = await cli("pin", "add", "pc", "main", "not-a-store-path");
    assert.equal(notPath.code, 1);
    assert.match(notPath.stderr, /is not a store path/);
    assert.equal((await cli("pin", "add", "pc", "main", ups[0]?.storePath ?? "", "--keep", "0")).code, 2);
    for (const u of ups) {
      const r = await cli("pin", "add", "pc", "main", u.storePath, "--keep", "2");
      assert.equal(r.code, 0, r.stderr);
    }
    const listed = await cli("pin", "list", "pc", "--json");
    assert.equal(listed.code, 0, listed.stderr);
    const pins = JSON.parse(listed.stdout) as Array<{
      name: string;
      storePath: string;
      revisions: Array<{ storePath: string }>;
    }>;
    assert.deepEqual(
      pins.map((p) => [p.name, p.storePath, p.revisions.map((r) => r.storePath)]),
      [["main", ups[2]?.storePath, [ups[2]?.storePath, ups[1]?.storePath]]],
    );
    const text = await cli("pin", "list", "pc");
    assert.match(text.stdout, /^main\t\/nix\/store\/\S+-cli-3\t2 revisions\tkeeps the newest 2\n$/);
    const removed = await cli("pin", "remove", "pc", "main");
    assert.equal(removed.code, 0, removed.stderr);
    const again = await cli("pin", "remove", "pc", "main");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /has no pin named "main"/);
    assert.equal((await cli("pin", "list", "nope")).code, 1);
  });

  test("cache create/update/list: retention and quota flags, and their refusals", async () => {
    const cli = (...args: string[]) => runCli([...args, "--data", dir.path]);
    const made = await cli("cache", "create", "lim", "--retention", "30d", "--quota", "2G", "--json");
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual((({ retention, quota }) => ({ retention, quota }))(JSON.parse(made.stdout)), {
      retention: "30d",
      quota: 2 * 1024 ** 3,
    });
    for (const [flag, value] of [
      ["--retention", "30"],
      ["--retention", "soon"],
      ["--quota", "lots"],
    ] as const) {
      const r = await cli("cache", "update", "lim", flag, value);
      assert.equal(r.code, 2, `${flag} ${value}`);
      assert.match(r.stderr, new RegExp(`${flag} "${value}" is not`));
    }
    assert.equal((await cli("cache", "update", "lim")).code, 2, "nothing to change");
    assert.equal((await cli("cache", "update", "nope", "--quota", "1G")).code, 1);
    const updated = await cli(
      "cache",
      "update",
      "lim",
      "--retention",
      "forever",
      "--quota",
      "none",
      "--private",
      "--json",
    );
    assert.equal(updated.code, 0, updated.stderr);
    const row = JSON.parse(updated.stdout) as Record<string, unknown>;
    assert.equal(row.retention, "forever");
    assert.equal(row.quota, null);
    assert.equal(row.public, false);
    const list = await cli("cache", "list", "--json");
    const lim = (JSON.parse(list.stdout) as Array<Record<string, unknown>>).find((c) => c.name === "lim");
    assert.deepEqual([lim?.paths, lim?.bytes, lim?.quota, lim?.retention], [0, 0, null, "forever"]);
    const text = await cli("cache", "list");
    assert.match(text.stdout, /^lim\tprivate\tpriority 41\t0 paths\t0 B\tretention forever\t/m);
  });

  test("GC in the server: old paths go in one run (a grace of 0), fetched ones stay, the metrics count the runs", async () => {
    await adminCreateCache(dir.path, { name: "g", isPublic: true, priority: 41, retentionMs: 1000 });
    const token = (await adminCreateToken(dir.path, { cache: "g", perm: "write", expiresAt: null })).token;
    const c = cacheClient(srv.url, "g", token);
    const [old, fetched, dep] = [
      await makeUpload("gc-old"),
      await makeUpload("gc-fetched"),
      await makeUpload("gc-dep"),
    ];
    await c.push(dep);
    await c.push(old);
    await c.push(fetched, [dep]);
    await sleep(1200);
    // Fetched just now: only in the server's memory until its next flush.
    assert.equal(await c.status(`${fetched.hash}.narinfo`), 200);
    const metric = async (name: string, labels = "") => {
      const text = await (await fetch(`${srv.url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
      return Number(line?.split(" ")[1] ?? 0);
    };
    const runs = await metric("nixcache_gc_runs_total", '{result="ok"}');
    const paths = await metric("nixcache_gc_paths_deleted_total");
    const bytes = await metric("nixcache_gc_bytes_deleted_total");
    await srv.gc?.runNow(); // marks and, with the server's grace of 0, deletes
    assert.equal(await c.status(`${old.hash}.narinfo`), 404);
    assert.equal(await c.status(old.url), 404);
    await assertServed(c, [fetched, dep], "fetched and its reference");
    assert.equal(await metric("nixcache_gc_runs_total", '{result="ok"}'), runs + 1);
    assert.ok((await metric("nixcache_gc_paths_deleted_total")) >= paths + 1);
    assert.ok((await metric("nixcache_gc_bytes_deleted_total")) >= bytes + old.file.length);
    assert.ok((await metric("nixcache_gc_last_run_timestamp_seconds")) > Date.now() / 1000 - 60);
    assert.equal(await metric("nixcache_cache_bytes", '{cache="g"}'), fetched.file.length + dep.file.length);
  });

  test("item 19: nixcache gc --gc-grace 0s deletes what expired in one run; a non-zero grace only marks first", async () => {
    const cli = (...args: string[]) => runCli([...args, "--data", dir.path]);
    for (const name of ["z0", "z1"]) {
      await adminCreateCache(dir.path, { name, isPublic: true, priority: 41, retentionMs: 1000 });
      const token = (await adminCreateToken(dir.path, { cache: name, perm: "write", expiresAt: null })).token;
      await cacheClient(srv.url, name, token).push(await makeUpload(`grace-${name}`));
    }
    await sleep(1200);
    const run = async (cache: string, grace: string) => {
      const r = await cli("gc", "--cache", cache, "--gc-grace", grace, "--json");
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as Record<string, { deletedPaths: number; markedPaths: number }>)[cache];
    };
    // A dry run writes no marks: it counts what a real run with the same grace would delete.
    const dry = await cli("gc", "--cache", "z0", "--gc-grace", "0s", "--json", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal((JSON.parse(dry.stdout) as Record<string, { deletedPaths: number }>).z0?.deletedPaths, 1);
    // --grace, the old spelling, is an alias: the same run, the same answer.
    const dryOld = await cli("gc", "--cache", "z0", "--grace", "0s", "--json", "--dry-run");
    assert.equal(dryOld.code, 0, dryOld.stderr);
    assert.deepEqual(JSON.parse(dryOld.stdout), JSON.parse(dry.stdout));
    const dryDefault = await cli("gc", "--cache", "z0", "--json", "--dry-run");
    assert.equal(
      (JSON.parse(dryDefault.stdout) as Record<string, { deletedPaths: number }>).z0?.deletedPaths,
      0,
    );
    const once = await run("z0", "0s");
    assert.deepEqual([once?.deletedPaths, once?.markedPaths], [1, 0], "the first run deletes it");
    assert.equal((await adminListCaches(dir.path)).find((c) => c.name === "z0")?.narinfos, 0);
    // A grace of 200ms: as non-zero as 1s, and the wait past it is short.
    const first = await run("z1", "200ms");
    assert.deepEqual([first?.deletedPaths, first?.markedPaths], [0, 1], "marked, not deleted");
    await sleep(300);
    const second = await run("z1", "200ms");
    assert.deepEqual([second?.deletedPaths, second?.markedPaths], [1, 0]);
  });

  test("GC in the server: a deleted path's realisations go with it, in the same run; a kept path's stay", async () => {
    await adminCreateCache(dir.path, { name: "ca", isPublic: true, priority: 41, retentionMs: 1000 });
    const token = (await adminCreateToken(dir.path, { cache: "ca", perm: "write", expiresAt: null })).token;
    const c = cacheClient(srv.url, "ca", token);
    const [old, kept] = [await makeUpload("ca-gc-old"), await makeUpload("ca-gc-kept")];
    await c.push(old);
    await c.push(kept);
    const realise = async (u: Upload) => {
      const id = `sha256:${createHash("sha256").update(u.hash).digest("hex")}!out`;
      const text = JSON.stringify({ id, outPath: u.storePath.slice("/nix/store/".length), signatures: [] });
      const r = await c.put(`realisations/${id}.doi`, text);
      assert.equal(r.status, 204, await r.text());
      assert.equal(await c.status(`realisations/${id}.doi`), 200);
      return { id, bytes: Buffer.byteLength(text) };
    };
    const [oldR, keptR] = [await realise(old), await realise(kept)];
    assert.equal(
      await srv.meta.cacheUsage("ca"),
      old.file.length + kept.file.length + oldR.bytes + keptR.bytes,
    );
    await sleep(1200);
    assert.equal(await c.status(`${kept.hash}.narinfo`), 200, "fetched: kept");
    await srv.gc?.runNow(); // marks and deletes (a grace of 0)
    assert.equal(await c.status(`${old.hash}.narinfo`), 404);
    assert.equal(await c.status(`realisations/${oldR.id}.doi`), 404, "the deleted path's realisation went");
    assert.deepEqual(await srv.meta.realisationsOf("ca", old.hash), []);
    assert.equal(await c.status(`realisations/${keptR.id}.doi`), 200, "the kept path's stays");
    assert.equal(
      await srv.meta.cacheUsage("ca"),
      kept.file.length + keptR.bytes,
      "their bytes left the usage",
    );
  });

  test("storage refusing a delete: the run fails with its error, the blob keeps its claim, a later run deletes it", async () => {
    await adminCreateCache(dir.path, { name: "f", isPublic: true, priority: 41, retentionMs: 1000 });
    const token = (await adminCreateToken(dir.path, { cache: "f", perm: "write", expiresAt: null })).token;
    const c = cacheClient(srv.url, "f", token);
    const u = await makeUpload("gc-undeletable");
    await c.push(u);
    const blob = createHash("sha256").update(u.file).digest("hex");
    assert.ok(blobFiles(dir.path).includes(blob), "stored under its file hash");
    // The runs' clock, past the retention and the eighth the GC adds to it (instead of waiting).
    const later = Date.now() + 1200;
    const storage = await openStorage({ dataDir: dir.path });
    const refusing = Object.assign(Object.create(storage) as typeof storage, {
      deleteBlob: async () => {
        throw new Error("disk says no");
      },
    });
    // A grace of 0: the run that marks deletes, and the storage refuses.
    await assert.rejects(
      collectGarbage(srv.meta, refusing, { cache: "f", graceMs: 0, lingerMs: 0, now: later }),
      /disk says no/,
    );
    assert.equal(await c.status(`${u.hash}.narinfo`), 404, "the narinfo went");
    assert.ok(blobFiles(dir.path).includes(blob), "the blob is still there");
    assert.deepEqual(
      (await srv.meta.blobClaims(10)).map((c) => c.blob),
      [blob],
      "claimed, for a later run",
    );
    // The run that claimed it is over: the next run finishes the job.
    await collectGarbage(srv.meta, storage, { cache: "f", graceMs: 0, now: later });
    assert.ok(!blobFiles(dir.path).includes(blob), "deleted by the next run");
    assert.deepEqual(await srv.meta.blobClaims(10), []);
  });

  test("NAR records no narinfo names (a re-push with another URL, a GC that died) go with their blobs", async () => {
    await adminCreateCache(dir.path, { name: "o", isPublic: true, priority: 41, retentionMs: 86_400_000 });
    const token = (await adminCreateToken(dir.path, { cache: "o", perm: "write", expiresAt: null })).token;
    const c = cacheClient(srv.url, "o", token);
    const storage = await openStorage({ dataDir: dir.path });
    const blobOf = (u: Upload) => createHash("sha256").update(u.file).digest("hex");
    const [u, doomed] = [await makeUpload("orphan-moved", "zstd"), await makeUpload("orphan-crash")];
    const moved = await recompressed(u, "xz");
    await c.push(u);
    await c.push(moved);
    assert.notEqual(u.url, moved.url);
    await c.push(doomed);
    // A GC that deletes `doomed`'s narinfo and dies before dropping its NAR record.
    await srv.meta.setCacheLimits("o", { retentionMs: 1000 });
    const now = Date.now() + 10_000;
    const t = { run: "died", now, cutoff: now, markedBefore: now + 1, lingerMs: 0, limit: 10 };
    await srv.meta.gcMark("o", t);
    assert.equal((await srv.meta.gcPlan("o", t)).paths, 2);
    await srv.meta.gcDeleteBatch("o", { ...t, protect: () => new Set([u.hash]) });
    await srv.meta.gcFinish();
    await srv.meta.setCacheLimits("o", { retentionMs: 86_400_000 });
    assert.equal(await c.status(`${doomed.hash}.narinfo`), 404);
    assert.ok(blobFiles(dir.path).includes(blobOf(doomed)) && blobFiles(dir.path).includes(blobOf(u)));
    const before = await srv.meta.cacheUsage("o");

    const report = await collectGarbage(srv.meta, storage, { cache: "o", graceMs: 0, lingerMs: 10 });
    const entry = report.caches.o;
    assert.equal(entry?.deletedPaths, 0, "no narinfo is within reach of the GC");
    assert.equal(entry?.keptPaths, 1);
    assert.equal(entry?.deletedBytes, u.file.length + doomed.file.length);
    assert.equal(await srv.meta.cacheUsage("o"), before - entry.deletedBytes);
    assert.ok(!blobFiles(dir.path).includes(blobOf(u)), "the first upload's blob went");
    assert.ok(!blobFiles(dir.path).includes(blobOf(doomed)), "the dead run's blob went");
    assert.equal(await c.status(u.url), 404);
    assert.equal(await c.status(doomed.url), 404);
    await assertServed(c, [moved], "the path at its new URL");
    // Nothing left to drop: a second run changes nothing.
    const again = await collectGarbage(srv.meta, storage, { cache: "o", graceMs: 0, lingerMs: 10 });
    assert.equal(again.caches.o?.deletedBytes, 0);
    await assertServed(c, [moved], "still");
  });

  test("one GC at a time: a second one is refused as busy while the lease is held", async () => {
    const other = await openMetadata({ dataDir: dir.path });
    const storage = await openStorage({ dataDir: dir.path });
    try {
      assert.equal(await other.acquireLease("gc", "someone-else", 60_000), true);
      await assert.rejects(collectGarbage(srv.meta, storage, { dryRun: true }), GcBusyError);
      const cli = await runCli(["gc", "--data", dir.path, "--json"]);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /another garbage collection is running/);
      await other.releaseLease("gc", "someone-else");
      const unknown = await runCli(["gc", "--data", dir.path, "--cache", "nope"]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no cache named "nope"/);
      const badGrace = await runCli(["gc", "--data", dir.path, "--gc-grace", "soon"]);
      assert.equal(badGrace.code, 2);
      assert.match(badGrace.stderr, /--gc-grace/);
      // The old spelling's error names it, as typed.
      const badOld = await runCli(["gc", "--data", dir.path, "--grace", "soon"]);
      assert.equal(badOld.code, 2);
      assert.match(badOld.stderr, /--grace\b/);
      assert.doesNotMatch(badOld.stderr, /--gc-grace/);
      const dry = await runCli(["gc", "--data", dir.path, "--json", "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      const report = JSON.parse(dry.stdout) as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(report.g ?? {}).slice(0, 3), [
        "deletedPaths",
        "deletedBytes",
        "keptPaths",
      ]);
    } finally {
      await other.close();
    }
  });
});

test("fetch guard: protected or never served, never both", () => {
  const stored: Array<{ hash: string }> = [];
  const t = new FetchGuard(
    new AccessTimes({ recordAccess: async (a) => void stored.push(...a) }, { onError() {} }),
  );
  const early = t.lookupStarted();
  assert.equal(t.hit("c", "fetched", early), true);
  const spared = t.protect("c", ["fetched", "doomed", "survivor"]);
  assert.deepEqual([...spared], ["fetched"]);
  const during = t.lookupStarted();
  assert.equal(t.hit("c", "doomed", during), false, "not served while its deletion is decided");
  t.settled("c", ["fetched", "doomed", "survivor"], ["doomed"]);
  assert.equal(t.hit("c", "doomed", early), false, "a lookup from before the deletion found an old row");
  assert.equal(t.hit("c", "survivor", early), true, "one that stayed is served");
  assert.equal(t.hit("c", "doomed", t.lookupStarted()), true, "pushed again later: served");
});

test("access times: a big flush goes in chunks, lets requests in between, and loses nothing on failure", async () => {
  const calls: number[] = [];
  const stored = new Map<string, number>();
  let failOnCall = 2;
  const t = new AccessTimes(
    {
      // Synchronous inside, like the embedded SQLite store: only the tracker can yield.
      recordAccess: async (a) => {
        calls.push(a.length);
        if (calls.length === failOnCall) throw new Error("database went away");
        for (const x of a) stored.set(`${x.cache}/${x.hash}`, x.at);
      },
    },
    { onError() {} },
  );
  for (let i = 0; i < 2500; i++) t.record("c", `h${i}`, 1000 + i);
  let requestRan = false;
  setImmediate(() => (requestRan = true));
  await assert.rejects(t.flush(), /database went away/);
  assert.ok(requestRan, "an event queued when the flush began ran before it ended");
  assert.deepEqual(calls, [1000, 1000]);
  assert.ok(calls.every((n) => n <= 1000));
  failOnCall = 0;
  await t.flush();
  assert.equal(stored.size, 2500, "every access is written by the next flush");
  assert.equal(stored.get("c/h2499"), 3499);
  assert.deepEqual(calls.slice(2), [1000, 1000, 500]);
  assert.deepEqual([...t.recent("c", ["h0", "h2499"])], [], "nothing is pending after it");
});

const RACE_BACKENDS: Array<{ name: string; location(dir: string): Promise<StateLocation> }> = [
  { name: "SQLite", location: async (dir) => ({ dataDir: dir }) },
  {
    name: "PostgreSQL",
    location: async (dir) => ({ db: await freshDatabase(), storage: `file://${dir}` }),
  },
];

for (const backend of RACE_BACKENDS)
  test(`pushes racing a GC on ${backend.name}: every pushed closure is served whole afterwards`, async () => {
    const dir = tempDir("nixcache-gc-race-");
    const at = await backend.location(dir.path);
    await adminCreateCache(at, { name: "r", isPublic: true, priority: 41, retentionMs: 1000 });
    const token = (await adminCreateToken(at, { cache: "r", perm: "write", expiresAt: null })).token;
    const opts: ServerOptions = { ...at, port: 0, upstreams: [], gcIntervalMs: 0, accessFlushMs: 3_600_000 };
    const srv = await startServer(opts);
    const storage = await openStorage(at);
    await storage.init({ clearStaging: false });
    const c = cacheClient(srv.url, "r", token);
    // A few ms between delete transactions (a busier database), so that the GC's batches spread
    // over the time the clients' requests arrive in: on a local SQLite they would all be done first.
    const paced: MetadataStore = Object.assign(Object.create(srv.meta) as MetadataStore, {
      gcDeleteBatch: async (...args: Parameters<MetadataStore["gcDeleteBatch"]>) => {
        await sleep(3);
        return srv.meta.gcDeleteBatch(...args);
      },
    });
    const gc = (graceMs: number) =>
      collectGarbage(paced, storage, {
        graceMs,
        accessTimes: srv.accessTimes,
        fetchGuard: srv.fetchGuard,
        batchSize: 1,
      });
    let reuploaded = 0;
    let deleted = 0;
    try {
      for (let round = 0; round < 3; round++) {
        const deps = await Promise.all(Array.from({ length: 20 }, (_, i) => makeUpload(`dep-${round}-${i}`)));
        for (const d of deps) await c.push(d);
        await sleep(1200); // past the retention and the eighth the GC adds to it
        await gc(3_600_000); // marks the deps (and earlier rounds' paths), deletes nothing
        await sleep(2);
        const tops = await Promise.all(deps.map((_, i) => makeUpload(`top-${round}-${i}`)));
        const [report] = await Promise.all([
          gc(0), // deletes what is marked and still unreachable
          ...deps.map(async (d, i) => {
            await sleep(Math.random() < 0.5 ? Math.random() * 5 : Math.random() * 150);
            // As Nix does: ask whether the reference is there, upload it only when it is not.
            if ((await c.status(`${d.hash}.narinfo`, "HEAD")) !== 200) {
              reuploaded++;
              await c.push(d);
            }
            await c.push(tops[i] as Upload, [d]);
          }),
        ]);
        deleted += report.caches.r?.deletedPaths ?? 0;
        for (const [i, top] of tops.entries())
          await assertServed(c, [top, deps[i] as Upload], `round ${round}`);
      }
      assert.ok(deleted > 0, "the GC did delete");
      // How the races went (informative: both outcomes are correct).
      console.log(
        `${backend.name}: ${reuploaded} of 60 references were deleted before their check and pushed again`,
      );
    } finally {
      await srv.close();
      dir.cleanup();
    }
  });

test("nixcache data copy carries retention, quota, access times, references and pins", async () => {
  const dir = tempDir("nixcache-gc-copy-");
  const from = { dataDir: join(dir.path, "from") };
  const to = { db: await freshDatabase(), storage: `file://${join(dir.path, "to")}` };
  try {
    await adminCreateCache(from.dataDir, {
      name: "k",
      isPublic: true,
      priority: 41,
      retentionMs: 86_400_000,
      quotaBytes: 1 << 30,
    });
    const token = (await adminCreateToken(from.dataDir, { cache: "k", perm: "write", expiresAt: null }))
      .token;
    const srv = await startServer({ ...from, port: 0, upstreams: [], gcIntervalMs: 0 });
    const [dep, top] = [await makeUpload("copy-dep"), await makeUpload("copy-top")];
    try {
      const c = cacheClient(srv.url, "k", token);
      await c.push(dep);
      await c.push(top, [dep]);
      await srv.meta.addPin({
        cache: "k",
        name: "rel",
        storePath: top.storePath,
        hash: top.hash,
        keep: { revisions: 2 },
      });
    } finally {
      await srv.close();
    }
    const copied = await runCli([
      "data",
      "copy",
      "--from",
      from.dataDir,
      "--db",
      to.db,
      "--storage",
      to.storage,
    ]);
    assert.equal(copied.code, 0, copied.stderr);
    const meta = await openMetadata(to);
    try {
      const row = await meta.getCache("k");
      assert.deepEqual([row?.retentionMs, row?.quotaBytes], [86_400_000, 1 << 30]);
      assert.equal(await meta.cacheUsage("k"), dep.file.length + top.file.length);
      const pins = await meta.listPins("k", { limit: 10, revisions: 10 });
      assert.deepEqual(
        pins.map((p) => [p.name, p.keep, p.revisions.map((r) => r.storePath), p.revisionCount]),
        [["rel", { revisions: 2 }, [top.storePath], 1]],
      );
      // Far in the future nothing is recent: only the pin, and the reference it reaches, are kept.
      const later = Date.now() + 10 * 86_400_000;
      const marked = await meta.gcMark("k", {
        run: "x",
        now: later,
        cutoff: later,
        markedBefore: 0,
        dryRun: true,
      });
      assert.deepEqual(marked, { paths: 2, marked: 0 }, "the references came along");
    } finally {
      await meta.close();
    }
  } finally {
    dir.cleanup();
  }
});
