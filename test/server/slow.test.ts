// Issue 9, items 2 and 3: uploads on slow and dying connections, from real `nix copy` (through a
// throttling proxy) and from raw sockets. A slow upload that takes many times the no-progress
// timeout completes (there is no whole-request deadline); a stalled one is cut; uploads whose
// connection closes early, even before the server looked at them, leave no temporary file and no
// file descriptor behind; and SIGTERM ends `serve --workers 2` whatever its clients do.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { startServer } from "../../src/server/server.js";
import { buildTrivial, freshNixEnv, nixAsync, requireNix } from "../helpers/nix.js";
import { childrenOf, openFds, running, serve, stagedUploads, until } from "../helpers/serve.js";
import { throttleProxy } from "../helpers/throttle.js";
import { makeUpload, type Upload } from "../helpers/uploads.js";

let dir: string;

before(async () => {
  requireNix();
  dir = await mkdtemp(join(tmpdir(), "nixcache-slow-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setUp(tag: string) {
  const data = join(dir, `data-${tag}`);
  await adminCreateCache(data, { name: "main", isPublic: true, priority: 41 });
  const token = (await adminCreateToken(data, { cache: "main", perm: "write", expiresAt: null })).token;
  const netrc = join(dir, `netrc-${tag}`);
  await writeFile(netrc, `machine 127.0.0.1 login nix password ${token}\n`, { mode: 0o600 });
  return { data, token, netrc };
}

/** A store path of `bytes` random (incompressible) bytes, fresh each run. */
function randomPath(tag: string, bytes: number): string {
  const seed = randomBytes(6).toString("hex");
  return buildTrivial(`slow-${tag}-${seed}`, `head -c ${bytes} /dev/urandom > $out`);
}

/** Opens a raw connection and sends the headers of a PUT of `u` and the first `sent` bytes of it. */
function rawPut(base: string, token: string, u: Upload, sent: number): Promise<Socket> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), "127.0.0.1", () => {
      s.write(
        `PUT /main/${u.url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/x-nix-nar\r\nContent-Length: ${u.file.length}\r\n\r\n`,
      );
      s.write(u.file.subarray(0, sent), () => resolve(s));
    });
    s.on("error", reject);
  });
}

test("a slow nix copy outlasting the no-progress timeout many times completes; a stalled upload is cut and leaves nothing", {
  timeout: 120_000,
}, async () => {
  const { data, token, netrc } = await setUp("slow");
  const srv = await startServer({ dataDir: data, port: 0, noProgressTimeoutMs: 1000 });
  // About 6 s at 256 KB/s: six times the timeout, so only a no-progress timeout lets it through.
  const proxy = await throttleProxy(srv.url, 256_000);
  try {
    const path = randomPath("copy", 1_500_000);
    await nixAsync(
      "nix",
      ["copy", "--to", `${proxy.url}/main?compression=none`, "--option", "netrc-file", netrc, path],
      { env: freshNixEnv(dir) },
    );
    const hash = path.slice(11, 43);
    assert.equal(
      (await fetch(`${srv.url}/main/${hash}.narinfo`)).status,
      200,
      "the slow upload was accepted",
    );

    // A client that sends part of a body and then nothing: cut after the timeout, nothing kept.
    const u = await makeUpload("stalled", "none", 100_000);
    const s = await rawPut(srv.url, token, u, 1000);
    let closed = false;
    let answer = "";
    s.on("close", () => {
      closed = true;
    });
    s.on("data", (d: Buffer) => {
      answer += d.toString();
    });
    s.on("error", () => {});
    await until("the stalled upload is staged", () => stagedUploads(data).length > 0 || closed);
    await until("the stalled upload's connection was cut", () => closed);
    assert.equal(answer, "", "cut by the timeout, not refused");
    await until("its staged file is gone", () => stagedUploads(data).length === 0);
  } finally {
    await proxy.close();
    await srv.close();
  }
});

test("uploads reset mid-way (50 raw PUTs, and nix copy cut by a reset) leak no temporary file or fd; SIGTERM ends serve --workers 2", {
  timeout: 120_000,
}, async () => {
  const { data, token, netrc } = await setUp("reset");
  // A short no-progress timeout: the upload held open at the end is cut soon after SIGTERM.
  const server = await serve(data, ["--workers", "2", "--quiet", "--stall-timeout", "3s"]);
  try {
    const workers = childrenOf(server.child.pid as number);
    assert.equal(workers.length, 2);
    // Warm up both workers (the database and its WAL open lazily), then take the baseline.
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${server.url}/main/nix-cache-info`, { headers: { connection: "close" } });
      await r.arrayBuffer();
    }
    const baseline = new Map(workers.map((pid) => [pid, openFds(pid)]));

    // 50 PUTs, each reset right after its first bytes: before or while the server looks at it.
    const u = await makeUpload("reset", "none", 100_000);
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        const s = await rawPut(server.url, token, u, 1000);
        s.resetAndDestroy();
      }),
    );
    const settled = async () =>
      stagedUploads(data).length === 0 && workers.every((pid) => openFds(pid) <= (baseline.get(pid) ?? 0));
    await until("no staged upload and no fd left after 50 reset PUTs", settled);

    // Real Nix, its connection reset while the NAR is on its way.
    const proxy = await throttleProxy(server.url, 64_000);
    let nixPid = 0;
    const copy = nixAsync(
      "nix",
      [
        "copy",
        "--to",
        `${proxy.url}/main?compression=none`,
        "--option",
        "netrc-file",
        netrc,
        randomPath("cut", 1_000_000),
      ],
      { env: freshNixEnv(dir), onStart: (pid) => (nixPid = pid) },
    ).catch(() => "failed");
    await until("nix copy's NAR is being received", () => stagedUploads(data).length > 0);
    process.kill(nixPid, "SIGKILL");
    proxy.resetAll();
    await copy;
    await proxy.close();
    await until("no staged upload and no fd left after the reset nix copy", settled);

    // A client that holds an upload open does not keep the server from stopping.
    const held = await rawPut(server.url, token, u, 1000);
    let answer = "";
    held.on("data", (d: Buffer) => {
      answer += d.toString();
    });
    held.on("error", () => {});
    await until(
      `the held upload is staged (answer: ${answer})`,
      () => stagedUploads(data).length > 0 || answer !== "",
    );
    assert.equal(answer, "", "the held upload is still being received");
    server.child.kill("SIGTERM");
    const code = await server.exited;
    assert.equal(typeof code, "number");
    await until("every worker has exited", () => !workers.some(running), 900);
    held.destroy();
  } finally {
    if (server.child.exitCode === null) server.child.kill("SIGKILL");
  }
});
