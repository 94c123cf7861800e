// `nixcache serve --workers 2`, the real CLI process: both workers serve one port and one data
// directory, a path pushed through one is visible through the other, SIGTERM lets every worker
// finish its uploads, and a SIGKILLed primary takes its workers with it.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openMetadata } from "../../src/server/state-location.js";
import { runCli } from "../helpers/cli.js";
import { childrenOf, running, type Served, serve, until } from "../helpers/serve.js";
import { makeUpload, narInfoText, type Upload } from "../helpers/uploads.js";

/** Whether nothing accepts connections at `url` any more (every worker has stopped listening). */
function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname);
    s.on("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.on("error", () => resolve(true));
  });
}

/** Starts a NAR upload on its own connection and sends the first piece; `finish` sends the rest. */
function startUpload(base: string, token: string, u: Upload) {
  let finish = () => {};
  const status = new Promise<number | Error>((resolve) => {
    const req = httpRequest(`${base}/main/${u.url}`, {
      method: "PUT",
      agent: false,
      headers: { authorization: `Bearer ${token}`, "content-length": String(u.file.length) },
    });
    req.on("error", (e) => resolve(e));
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.write(u.file.subarray(0, 1000));
    finish = () => req.end(u.file.subarray(1000));
  });
  return { status, finish: () => finish() };
}

/** Worker pids that have an upload's temporary file open in tmp/ (named upload-<pid>-…). */
function uploadingPids(data: string): Set<number> {
  return new Set(readdirSync(join(data, "tmp")).map((f) => Number(f.split("-")[1])));
}

async function setUp(prefix: string) {
  const data = await mkdtemp(join(tmpdir(), prefix));
  assert.equal((await runCli(["cache", "create", "main", "--data", data])).code, 0);
  const tok = await runCli(["token", "create", "--data", data, "--cache", "main", "--perm", "write"]);
  return { data, token: tok.stdout.trim() };
}

test("two workers serve one cache: pushes through one are read through the other; SIGTERM finishes every worker's uploads", async () => {
  const { data, token } = await setUp("nixcache-cluster-");
  let server: Served | undefined;
  try {
    server = await serve(data, ["--workers", "2"]);
    const workers = childrenOf(server.child.pid as number);
    assert.equal(workers.length, 2, "two worker processes");

    // A path pushed over one connection is found over fresh connections, whichever worker answers.
    const u = await makeUpload("shared");
    const miss = await fetch(`${server.url}/main/${u.hash}.narinfo`);
    assert.equal(miss.status, 404);
    const auth = { authorization: `Bearer ${token}` };
    assert.equal(
      (
        await fetch(`${server.url}/main/${u.url}`, {
          method: "PUT",
          body: new Uint8Array(u.file),
          headers: auth,
        })
      ).status,
      204,
    );
    const put = await fetch(`${server.url}/main/${u.hash}.narinfo`, {
      method: "PUT",
      body: narInfoText(u.narinfo),
      headers: auth,
    });
    assert.equal(put.status, 204);
    for (let i = 0; i < 6; i++) {
      const r: Response = await fetch(`${server.url}/main/${u.hash}.narinfo`, {
        headers: { connection: "close" },
      });
      assert.equal(r.status, 200, `read ${i}`);
      const nar = await fetch(`${server.url}/main/${u.url}`, { headers: { connection: "close" } });
      assert.ok(Buffer.from(await nar.arrayBuffer()).equals(u.file));
    }

    // Uploads in flight in both workers when the primary is asked to stop.
    const uploads = await Promise.all(
      Array.from({ length: 4 }, (_, i) => makeUpload(`slow-${i}`, "none", 200_000)),
    );
    const started = uploads.map((x) => startUpload(server?.url as string, token, x));
    await until("both workers are receiving an upload", () =>
      workers.every((pid) => uploadingPids(data).has(pid)),
    );
    server.child.kill("SIGTERM");
    const url = server.url;
    await until("the workers have stopped accepting", () => refusesConnections(url));
    for (const s of started) s.finish();
    assert.deepEqual(await Promise.all(started.map((s) => s.status)), [204, 204, 204, 204]);
    assert.equal(await server.exited, 0);
    assert.match(server.stderr(), /"event":"shutdown"/);
    assert.ok(!server.stderr().includes(token));
    assert.match(server.stderr(), /"method":"PUT","url":"\/main\/nar\//, "request logs from the workers");
    await until("the workers have exited", () => !workers.some(running));
    server = undefined;

    const meta = await openMetadata({ dataDir: data });
    try {
      for (const x of uploads) assert.equal((await meta.getNar("main", x.url))?.narSize, x.nar.length);
    } finally {
      await meta.close();
    }
  } finally {
    server?.child.kill("SIGKILL");
    await rm(data, { recursive: true, force: true });
  }
});

test("SIGKILL of the primary takes its workers down; a restart finds a consistent data directory; dead workers are replaced", async () => {
  const { data, token } = await setUp("nixcache-cluster-kill-");
  let server: Served | undefined;
  try {
    server = await serve(data, ["--workers", "2"]);
    const workers = childrenOf(server.child.pid as number);
    const uploads = await Promise.all(
      Array.from({ length: 4 }, (_, i) => makeUpload(`cut-${i}`, "none", 100_000)),
    );
    const started = uploads.map((x) => startUpload(server?.url as string, token, x));
    await until("uploads are in flight", () => uploadingPids(data).size > 0);
    server.child.kill("SIGKILL");
    await server.exited;
    await until("the workers have exited", () => !workers.some(running));
    for (const s of started) s.finish();
    for (const s of await Promise.all(started.map((s) => s.status))) assert.ok(s instanceof Error);

    server = await serve(data, ["--workers", "2"]);
    assert.deepEqual(readdirSync(join(data, "tmp")), [], "tmp/ was cleared before the workers started");
    // The interrupted uploads are accepted again.
    const again = uploads.map((x) => startUpload(server?.url as string, token, x));
    for (const s of again) s.finish();
    assert.deepEqual(await Promise.all(again.map((s) => s.status)), [204, 204, 204, 204]);

    // A worker that dies on its own is replaced.
    const [victim, survivor] = childrenOf(server.child.pid as number) as [number, number];
    process.kill(victim, "SIGKILL");
    await until("a replacement worker is running", () => {
      const now = childrenOf(server?.child.pid as number);
      return now.length === 2 && now.includes(survivor) && !now.includes(victim);
    });
    const info = await fetch(`${server.url}/main/nix-cache-info`, { headers: { connection: "close" } });
    assert.equal(info.status, 200);
    assert.match(server.stderr(), /"event":"worker-exit","code":null,"signal":"SIGKILL"/);
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    server = undefined;
  } finally {
    server?.child.kill("SIGKILL");
    await rm(data, { recursive: true, force: true });
  }
});

test("--workers must be a count or auto", async () => {
  const r = await runCli(["serve", "--workers", "0", "--data", "/nonexistent"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nixcache: error: --workers "0" must be a number from 1 to 256, or auto/);
});
