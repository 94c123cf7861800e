// The server's read path as a client sees it: large NARs byte for byte (whole, ranged, many at
// once, a client that leaves mid-body), and narinfos that stay fresh while held in memory.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseNarInfo, signNarInfo } from "../../src/nix/narinfo.js";
import { generateSecretKey } from "../../src/nix/signing.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { ingestNarInfo } from "../../src/server/ingest/narinfo.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { openMetadata } from "../../src/server/state-location.js";
import { makeUpload, narInfoText, type Upload, waitFor } from "../helpers/uploads.js";

let data: string;
let srv: RunningServer;
let token: string;
let big: Upload;

async function push(u: Upload): Promise<void> {
  const auth = { authorization: `Bearer ${token}` };
  const r1 = await fetch(`${srv.url}/main/${u.url}`, {
    method: "PUT",
    body: new Uint8Array(u.file),
    headers: auth,
  });
  assert.equal(r1.status, 204, await r1.text());
  const r2 = await fetch(`${srv.url}/main/${u.hash}.narinfo`, {
    method: "PUT",
    body: narInfoText(u.narinfo),
    headers: auth,
  });
  assert.equal(r2.status, 204, await r2.text());
}

async function getBytes(path: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${srv.url}${path}`, { headers });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

before(async () => {
  data = await mkdtemp(join(tmpdir(), "nixcache-serving-"));
  await adminCreateCache(data, { name: "main", isPublic: true, priority: 40 });
  token = (await adminCreateToken(data, { cache: "main", perm: "write", expiresAt: null })).token;
  srv = await startServer({ dataDir: data, port: 0 });
  // Uncompressed and a few MiB: several of the server's 1 MiB read chunks, not a multiple of one.
  big = await makeUpload("big", "none", 3 * 1024 * 1024 + 12_345);
  await push(big);
});

after(async () => {
  await srv.close();
  await rm(data, { recursive: true, force: true });
});

test("a NAR of several MiB arrives byte for byte, with its Content-Length", async () => {
  const r = await getBytes(`/main/${big.url}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-length"), String(big.file.length));
  assert.ok(r.body.equals(big.file));
});

test("ranges across chunk boundaries return exactly the requested bytes", async () => {
  const n = big.file.length;
  for (const [a, b] of [
    [0, 0],
    [1_048_000, 2_097_500],
    [1_048_576, 3_145_727],
    [n - 5, n - 1],
  ] as const) {
    const r = await getBytes(`/main/${big.url}`, { range: `bytes=${a}-${b}` });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get("content-range"), `bytes ${a}-${b}/${n}`);
    assert.equal(r.headers.get("content-length"), String(b - a + 1));
    assert.ok(r.body.equals(big.file.subarray(a, b + 1)), `bytes ${a}-${b}`);
  }
  const open = await getBytes(`/main/${big.url}`, { range: "bytes=2000000-" });
  assert.ok(open.body.equals(big.file.subarray(2_000_000)));
});

test("many concurrent downloads each get their own correct bytes", async () => {
  const other = await makeUpload("other", "none", 2 * 1024 * 1024 + 777);
  await push(other);
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) => getBytes(`/main/${(i % 2 ? other : big).url}`)),
  );
  results.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.ok(r.body.equals((i % 2 ? other : big).file), `download ${i}`);
  });
});

test("a client that leaves in the middle of a NAR does not disturb the server", async () => {
  // Larger than the socket buffers of both ends, so the server is mid-file when the client goes.
  const huge = await makeUpload("huge", "none", 24 * 1024 * 1024);
  await push(huge);
  const fds = () => readdirSync("/proc/self/fd").length;
  const before = fds();
  for (let i = 0; i < 5; i++) await leaveEarly(huge);
  // The server closes the file of every abandoned download.
  await waitFor(() => fds() <= before, 5000).catch(() => {});
  assert.ok(fds() <= before, `open files: ${before} before, ${fds()} after`);
  const r = await getBytes(`/main/${big.url}`);
  assert.ok(r.body.equals(big.file));
});

function leaveEarly(u: Upload): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${srv.url}/main/${u.url}`, (res) => {
      res.once("data", () => {
        req.destroy();
        resolve();
      });
    });
    req.on("error", (e) => ((e as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve() : reject(e)));
    req.end();
  });
}

test("a narinfo replaced through the server is served in its new form at once", async () => {
  const u = await makeUpload("resigned");
  await push(u);
  const first = await getBytes(`/main/${u.hash}.narinfo`);
  assert.equal(parseNarInfo(first.body.toString()).sigs.length, 1);
  // The client adds its own signature and uploads the narinfo again.
  const signed = signNarInfo(u.narinfo, generateSecretKey("client-1"));
  const r = await fetch(`${srv.url}/main/${u.hash}.narinfo`, {
    method: "PUT",
    body: narInfoText(signed),
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 204);
  const second = parseNarInfo((await getBytes(`/main/${u.hash}.narinfo`)).body.toString());
  assert.ok(second.sigs.some((s) => s.startsWith("client-1:")));
});

test("a path committed by another process is served at once, and a replacement soon after", async () => {
  const u = await makeUpload("elsewhere");
  // The NAR goes through the server; the narinfo is committed by another connection (as another
  // `serve --workers` worker would), after the server has answered that it is missing.
  const nar = await fetch(`${srv.url}/main/${u.url}`, {
    method: "PUT",
    body: new Uint8Array(u.file),
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(nar.status, 204);
  assert.equal((await getBytes(`/main/${u.hash}.narinfo`)).status, 404);
  const other = await openMetadata({ dataDir: data });
  try {
    await ingestNarInfo(other, { cache: "main", hash: u.hash, text: narInfoText(u.narinfo) });
    const now = await getBytes(`/main/${u.hash}.narinfo`);
    assert.equal(now.status, 200);
    assert.equal(parseNarInfo(now.body.toString()).storePath, u.storePath);

    const signed = signNarInfo(u.narinfo, generateSecretKey("elsewhere-1"));
    await ingestNarInfo(other, { cache: "main", hash: u.hash, text: narInfoText(signed) });
    // Another process's change is noticed within the cache's recheck interval (a quarter second).
    let sigs: string[] = [];
    await waitFor(async () => {
      sigs = parseNarInfo((await getBytes(`/main/${u.hash}.narinfo`)).body.toString()).sigs;
      return sigs.some((s) => s.startsWith("elsewhere-1:"));
    }).catch(() => {});
    assert.ok(
      sigs.some((s) => s.startsWith("elsewhere-1:")),
      "the replaced narinfo is served within 10 s",
    );
  } finally {
    await other.close();
  }
});
