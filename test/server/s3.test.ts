// The server with its blobs in S3 (a real one-node Swift with s3api): the Cachix API's multipart
// upload goes straight to the object store (part URLs are Swift's, bound to each part's MD5),
// `complete` verifies the assembled object before publishing and deletes it when it does not
// match; public caches' NARs redirect to presigned URLs, private ones stream; stale uploads are
// swept; and with Swift's object server stopped the server answers 503 and records nothing,
// then works again once it is back, without a restart.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { CachixCache } from "../../src/caches/cachix/cache.js";
import { push } from "../../src/push/push.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { sweep } from "../../src/server/ingest/sweep.js";
import { parseStorageUrl, type S3Location } from "../../src/server/locations.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { S3Storage } from "../../src/server/storage/s3/backend.js";
import { apiClient } from "../helpers/cachix.js";
import { buildTrivial, nixAsync, nixSync, requireNix, tempDir } from "../helpers/nix.js";
import { freshStorageUrl, localSwift, s3Endpoint } from "../helpers/s3.js";
import { makeUpload, narInfoCreateFor, narInfoText } from "../helpers/uploads.js";

const MiB = 1024 * 1024;

let dir: { path: string; cleanup: () => void };
let srv: RunningServer;
let endpoint: string;
/** A second client of the server's bucket, to look at what is stored. */
let bucket: S3Storage;
let pubWrite: string;
let privWrite: string;
let privRead: string;
let api: ReturnType<typeof apiClient>;

before(async () => {
  dir = tempDir("nixcache-server-s3-");
  endpoint = await s3Endpoint();
  const storage = await freshStorageUrl("cache");
  srv = await startServer({ dataDir: dir.path, storage, port: 0, narRedirect: true });
  bucket = S3Storage.open(parseStorageUrl(storage) as S3Location);
  await adminCreateCache(dir.path, { name: "pub", isPublic: true, priority: 40 });
  await adminCreateCache(dir.path, { name: "priv", isPublic: false, priority: 40 });
  pubWrite = (await adminCreateToken(dir.path, { cache: "pub", perm: "write", expiresAt: null })).token;
  privWrite = (await adminCreateToken(dir.path, { cache: "priv", perm: "write", expiresAt: null })).token;
  privRead = (await adminCreateToken(dir.path, { cache: "priv", perm: "read", expiresAt: null })).token;
  api = apiClient(`${srv.url}/api/v1`);
});

after(async () => {
  await srv?.close();
  dir?.cleanup();
});

/** Keys under the cache's prefix: uploads/ (direct uploads), staging/, blobs/. */
async function stored(under: string): Promise<string[]> {
  return (await bucket.listObjects(`cache/${under}`)).map((o) => o.key);
}

async function openUploads(): Promise<string[]> {
  return (await bucket.listMultipart("cache/uploads/")).map((u) => u.key);
}

async function narinfoStatus(cache: string, hash: string, token?: string): Promise<number> {
  const r = await fetch(`${srv.url}/${cache}/${hash}.narinfo`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  await r.arrayBuffer();
  return r.status;
}

function cachixCache(name: string, token: string) {
  const cache = new CachixCache(name, {
    apiUrl: `${srv.url}/api/v1`,
    token,
    // S3's smallest part, so a NAR of a few MiB takes several.
    partSize: 5 * MiB,
    retry: { attempts: 2, baseMs: 50, capMs: 200 },
  });
  const urls: string[] = [];
  const partUrl = cache.api.partUrl.bind(cache.api);
  cache.api.partUrl = async (...a: Parameters<typeof partUrl>) => {
    const r = await partUrl(...a);
    urls.push(r.uploadUrl);
    return r;
  };
  return { cache, urls };
}

test("push through cachix:// to S3: parts go to Swift, nix-store -r substitutes through redirects", async () => {
  requireNix();
  const tag = `${process.pid}-${Date.now()}`;
  const big = buildTrivial(`s3-big-${tag}`, "head -c 12000000 /dev/urandom > $out");
  const small = buildTrivial(`s3-small-${tag}`, 'echo "$name" > $out');
  const { cache, urls } = cachixCache("pub", pubWrite);
  try {
    const summary = await push(cache, [big, small], { jobs: 2 });
    assert.deepEqual(summary.failed, []);
    assert.deepEqual([...summary.pushed].sort(), [big, small].sort());
    assert.ok(urls.length >= 4, `12 MB in 5 MiB parts and one small NAR: ${urls.length} part URLs`);
    for (const u of urls) assert.ok(u.startsWith(`${endpoint}/`), `part URL at Swift: ${u}`);
    assert.deepEqual(await openUploads(), [], "no upload left open");
    assert.deepEqual(await stored("uploads/"), [], "assembled objects became blobs");

    // A public cache's NAR GET is a redirect to a presigned URL that serves the bytes.
    const info = await cache.getNarInfo(big.slice(11, 43));
    assert.ok(info);
    const r = await fetch(`${srv.url}/pub/${info.url}`, { redirect: "manual" });
    assert.equal(r.status, 302);
    const location = r.headers.get("location") ?? "";
    assert.ok(location.startsWith(`${endpoint}/`), location);
    const nar = Buffer.from(await (await fetch(location)).arrayBuffer());
    assert.equal(nar.length, info.fileSize);
    assert.ok(info.fileHash && createHash("sha256").update(nar).digest().equals(info.fileHash.digest));
    // HEAD is answered here (Nix asks before uploading), never redirected.
    const head = await fetch(`${srv.url}/pub/${info.url}`, { method: "HEAD", redirect: "manual" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(info.fileSize));

    const key = (await cache.describe()).publicSigningKeys[0] ?? "";
    nixSync("nix-store", ["--delete", big, small]);
    await nixAsync("nix-store", [
      "-r",
      big,
      small,
      "--option",
      "substituters",
      `${srv.url}/pub`,
      "--option",
      "trusted-public-keys",
      key,
      "--option",
      "narinfo-cache-negative-ttl",
      "0",
    ]);
  } finally {
    await cache.close();
  }
});

test("a private cache never redirects: its NARs stream from S3 after auth, with ranges", async () => {
  const u = await makeUpload("s3-private", "zstd", 300_000);
  const started = await api.startUpload(u, privWrite, [u.file], "priv");
  for (const url of started.urls) assert.ok(url.startsWith(`${endpoint}/`));
  const done = await api.call("POST", `${started.base}/complete?uploadId=${started.uploadId}`, privWrite, {
    parts: null,
    narInfoCreate: narInfoCreateFor(u),
  });
  assert.equal(done.status, 200, done.text);
  assert.equal(await narinfoStatus("priv", u.hash, privRead), 200);
  const text = await (
    await fetch(`${srv.url}/priv/${u.hash}.narinfo`, { headers: { authorization: `Bearer ${privRead}` } })
  ).text();
  const url = /^URL: (.*)$/m.exec(text)?.[1] ?? "";
  const anon = await fetch(`${srv.url}/priv/${url}`, { redirect: "manual" });
  assert.equal(anon.status, 401);
  await anon.arrayBuffer();
  const auth = { authorization: `Bearer ${privRead}` };
  const whole = await fetch(`${srv.url}/priv/${url}`, { headers: auth, redirect: "manual" });
  assert.equal(whole.status, 200);
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(u.file));
  const part = await fetch(`${srv.url}/priv/${url}`, {
    headers: { ...auth, range: "bytes=100-" },
    redirect: "manual",
  });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), `bytes 100-${u.file.length - 1}/${u.file.length}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(u.file.subarray(100)));
});

test("Swift refuses a part PUT whose bytes do not match the Content-MD5 the URL was made for", async () => {
  const u = await makeUpload("s3-md5");
  const created = await api.call("POST", "/cache/pub/multipart-nar?compression=zst", pubWrite);
  const { narId, uploadId } = created.json as { narId: string; uploadId: string };
  const md5 = createHash("md5").update(u.file).digest("base64");
  const r = await api.call(
    "POST",
    `/cache/pub/multipart-nar/${narId}?uploadId=${uploadId}&partNumber=1`,
    pubWrite,
    {
      contentMD5: md5,
    },
  );
  const url = (r.json as { uploadUrl: string }).uploadUrl;
  assert.ok(url.startsWith(`${endpoint}/`));
  const corrupt = Buffer.from(u.file);
  corrupt[0] = (corrupt[0] as number) ^ 1;
  const bad = await fetch(url, { method: "PUT", headers: { "content-md5": md5 }, body: corrupt });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /BadDigest/);
  // The same URL with another Content-MD5 (that of the corrupt bytes) is not what was signed.
  const forged = await fetch(url, {
    method: "PUT",
    headers: { "content-md5": createHash("md5").update(corrupt).digest("base64") },
    body: corrupt,
  });
  assert.equal(forged.status, 403);
  await forged.arrayBuffer();
  // Nothing was uploaded: complete names the part.
  const base = `/cache/pub/multipart-nar/${narId}`;
  const none = await api.call("POST", `${base}/complete?uploadId=${uploadId}`, pubWrite, {
    parts: [{ partNumber: 1, eTag: `"${createHash("md5").update(u.file).digest("hex")}"` }],
    narInfoCreate: narInfoCreateFor(u),
  });
  assert.equal(none.status, 400);
  assert.match(none.text, /part 1 was never uploaded/);
  // Sent right, then listed with a wrong ETag: 400 naming the part; the upload stays open.
  const ok = await fetch(url, {
    method: "PUT",
    headers: { "content-md5": md5 },
    body: new Uint8Array(u.file),
  });
  assert.equal(ok.status, 200);
  const wrong = await api.call("POST", `${base}/complete?uploadId=${uploadId}`, pubWrite, {
    parts: [{ partNumber: 1, eTag: `"${"0".repeat(32)}"` }],
    narInfoCreate: narInfoCreateFor(u),
  });
  assert.equal(wrong.status, 400);
  assert.match(
    (wrong.json as { error: string }).error,
    /^part 1: ETag "0{32}" does not match the uploaded part/,
  );
  const right = await api.call("POST", `${base}/complete?uploadId=${uploadId}`, pubWrite, {
    parts: [{ partNumber: 1, eTag: ok.headers.get("etag") }],
    narInfoCreate: narInfoCreateFor(u),
  });
  assert.equal(right.status, 200, right.text);
  assert.equal(await narinfoStatus("pub", u.hash), 200);
});

test("a complete whose NAR does not match narInfoCreate is 400, and the assembled object is deleted", async () => {
  const u = await makeUpload("s3-mismatch");
  const other = await makeUpload("s3-other");
  const blobsBefore = (await bucket.listBlobs()).sort();
  const started = await api.startUpload(u, pubWrite, [u.file], "pub");
  const r = await api.call("POST", `${started.base}/complete?uploadId=${started.uploadId}`, pubWrite, {
    parts: started.parts,
    narInfoCreate: narInfoCreateFor(u, { cNarHash: narInfoCreateFor(other).cNarHash }),
  });
  assert.equal(r.status, 400);
  assert.match(r.text, /claims cNarHash .* but the uploaded NAR has/);
  assert.equal(await narinfoStatus("pub", u.hash), 404);
  assert.deepEqual(await stored("uploads/"), [], "the assembled object is gone");
  assert.deepEqual(await openUploads(), []);
  assert.deepEqual((await bucket.listBlobs()).sort(), blobsBefore, "no blob of it");
  // Its parts went with the object: the upload is over.
  const again = await api.call("POST", `${started.base}/complete?uploadId=${started.uploadId}`, pubWrite, {
    parts: started.parts,
    narInfoCreate: narInfoCreateFor(u),
  });
  assert.equal(again.status, 409, again.text);
});

test("abort drops the upload in Swift; the sweep aborts stale direct uploads", async () => {
  const u = await makeUpload("s3-abort");
  const a = await api.startUpload(u, pubWrite, [u.file], "pub");
  assert.equal((await openUploads()).length, 1);
  const aborted = await api.call("POST", `${a.base}/abort?uploadId=${a.uploadId}`, pubWrite);
  assert.equal(aborted.status, 200, aborted.text);
  assert.deepEqual(await openUploads(), []);
  const put = await fetch(a.urls[0] as string, {
    method: "PUT",
    headers: { "content-md5": createHash("md5").update(u.file).digest("base64") },
    body: new Uint8Array(u.file),
  });
  assert.equal(put.status, 404, "an aborted upload's part URLs no longer work");
  await put.arrayBuffer();

  const stale = await api.startUpload(u, pubWrite, [u.file], "pub");
  const fresh = await api.startUpload(u, pubWrite, [u.file], "pub");
  assert.equal((await openUploads()).length, 2);
  // Ten minutes on, both are idle for longer than a TTL of one.
  const result = await sweep(srv.meta, bucket, { staleUploadMs: 60_000 }, Date.now() + 10 * 60_000);
  assert.deepEqual([...result.aborted].sort(), [stale.narId, fresh.narId].sort());
  assert.deepEqual(await openUploads(), []);
  assert.equal((await srv.meta.getMultipart(stale.narId))?.state, "aborted");
  // A stray upload in storage with no record (its creation failed half-way) goes once old.
  const stray = await bucket.direct.createUpload("00000000-0000-4000-8000-000000000000");
  await sweep(srv.meta, bucket, { staleUploadMs: 60_000 }, Date.now());
  assert.equal((await openUploads()).length, 1, "a new one may still be being created");
  await sweep(srv.meta, bucket, { staleUploadMs: 60_000 }, Date.now() + 10 * 60_000);
  assert.deepEqual(await openUploads(), []);
  assert.ok(stray);
});

test("Nix-side PUTs store in S3 too", async () => {
  const u = await makeUpload("s3-nix-put");
  const auth = { authorization: `Bearer ${pubWrite}` };
  const put = await fetch(`${srv.url}/pub/${u.url}`, {
    method: "PUT",
    headers: auth,
    body: new Uint8Array(u.file),
  });
  assert.equal(put.status, 204, await put.text());
  const ni = await fetch(`${srv.url}/pub/${u.hash}.narinfo`, {
    method: "PUT",
    headers: auth,
    body: narInfoText(u.narinfo),
  });
  assert.equal(ni.status, 204, await ni.text());
  assert.ok((await bucket.blobSize(createHash("sha256").update(u.file).digest("hex"))) === u.file.length);
  assert.deepEqual(await stored("staging/"), []);
});

test("object server stopped mid-push: 503, nothing recorded; started again: the push succeeds", async (t) => {
  const swift = await localSwift();
  if (!swift) {
    t.skip("NIXCACHE_TEST_S3 names an external endpoint: its object server cannot be stopped here");
    return;
  }
  const u = await makeUpload("s3-fault", "zstd", 200_000);
  const started = await api.startUpload(u, pubWrite, [u.file], "pub");
  const nixPut = await makeUpload("s3-fault-nix");
  await swift.stopObject();
  try {
    const t0 = Date.now();
    const r = await api.call("POST", `${started.base}/complete?uploadId=${started.uploadId}`, pubWrite, {
      parts: started.parts,
      narInfoCreate: narInfoCreateFor(u),
    });
    assert.equal(r.status, 503, r.text);
    assert.match(r.text, /object storage unreachable/);
    assert.ok(!r.text.includes("testing"), "no secret in the answer");
    assert.ok(Date.now() - t0 < 30_000, `answered in ${Date.now() - t0} ms`);
    assert.equal(await narinfoStatus("pub", u.hash), 404);
    assert.equal(
      (await srv.meta.getMultipart(started.narId))?.state,
      "open",
      "the client may complete again",
    );
    const put = await fetch(`${srv.url}/pub/${nixPut.url}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${pubWrite}` },
      body: new Uint8Array(nixPut.file),
    });
    assert.equal(put.status, 503);
    assert.match(await put.text(), /object storage unreachable/);
    const created = await api.call("POST", "/cache/pub/multipart-nar?compression=zst", pubWrite);
    assert.equal(created.status, 503, created.text);
  } finally {
    await swift.startObject();
  }
  const r = await api.call("POST", `${started.base}/complete?uploadId=${started.uploadId}`, pubWrite, {
    parts: started.parts,
    narInfoCreate: narInfoCreateFor(u),
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(await narinfoStatus("pub", u.hash), 200);
  // And a whole push through the client, same server process.
  requireNix();
  const path = buildTrivial(`s3-after-${process.pid}-${randomBytes(4).toString("hex")}`);
  const { cache } = cachixCache("pub", pubWrite);
  try {
    const summary = await push(cache, [path]);
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(summary.pushed, [path]);
  } finally {
    await cache.close();
  }
});
