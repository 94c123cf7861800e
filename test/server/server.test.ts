// The server over HTTP, in-process: protocol, verify-then-commit ingest, auth, bounds.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { formatHashNix32 } from "../../src/nix/hash.js";
import { parseNarInfo, verifyNarInfo } from "../../src/nix/narinfo.js";
import { nix32Encode } from "../../src/nix/nix32.js";
import { generateSecretKey, parsePublicKey, publicKeyOf } from "../../src/nix/signing.js";
import { adminCreateCache, adminCreateToken, adminRevokeToken } from "../../src/server/admin.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import type { StateLocation } from "../../src/server/state-location.js";
import { forEachBackend, storedBlobs } from "../helpers/backends.js";
import { compress, makeNar, makeUpload, narInfoText, type Upload, waitFor } from "../helpers/uploads.js";

forEachBackend((backend) => {
  let data: string;
  let at: StateLocation;
  let srv: RunningServer;
  let mainKey: string;
  let writeToken: string;
  let readToken: string;
  let privReadToken: string;
  const logs: string[] = [];

  async function blobCount(): Promise<number> {
    return (await storedBlobs(at)).length;
  }

  function put(
    path: string,
    body: Uint8Array | string,
    token?: string,
    headers: Record<string, string> = {},
  ) {
    return fetch(`${srv.url}${path}`, {
      method: "PUT",
      body: typeof body === "string" ? body : new Uint8Array(body),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        "content-type": path.endsWith(".narinfo") ? "text/x-nix-narinfo" : "application/x-nix-nar",
        ...headers,
      },
    });
  }

  async function pushUpload(cache: string, u: Upload, token = writeToken): Promise<void> {
    const r1 = await put(`/${cache}/${u.url}`, u.file, token);
    assert.equal(r1.status, 204, await r1.text());
    const r2 = await put(`/${cache}/${u.hash}.narinfo`, narInfoText(u.narinfo), token);
    assert.equal(r2.status, 204, await r2.text());
  }

  before(async () => {
    data = await mkdtemp(join(tmpdir(), "nixcache-server-"));
    at = await backend.stores(data);
    mainKey = (await adminCreateCache(at, { name: "main", isPublic: true, priority: 30 })).publicKey;
    await adminCreateCache(at, { name: "other", isPublic: true, priority: 41 });
    await adminCreateCache(at, { name: "secret", isPublic: false, priority: 41 });
    writeToken = (await adminCreateToken(at, { cache: "main", perm: "write", expiresAt: null })).token;
    readToken = (await adminCreateToken(at, { cache: "main", perm: "read", expiresAt: null })).token;
    privReadToken = (await adminCreateToken(at, { cache: "secret", perm: "read", expiresAt: null })).token;
    srv = await startServer({ ...at, port: 0, maxUploadBytes: 4 << 20, log: (l) => logs.push(l) });
  });

  after(async () => {
    await srv.close();
    await rm(data, { recursive: true, force: true });
  });

  describe("reads", () => {
    test("healthz and nix-cache-info with the cache's priority", async () => {
      assert.deepEqual(await (await fetch(`${srv.url}/healthz`)).json(), { ok: true });
      const r = await fetch(`${srv.url}/main/nix-cache-info`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n");
      // To a caller without access, an unknown cache answers as a private one does (issue 9, item 15).
      const missing = await fetch(`${srv.url}/nope/nix-cache-info`);
      assert.equal(missing.status, 401);
      assert.match(await missing.text(), /cache nope is private or does not exist/);
    });

    test("an absent narinfo is a 404 (what Nix expects for a miss)", async () => {
      const r = await fetch(`${srv.url}/main/${"0".repeat(32)}.narinfo`);
      assert.equal(r.status, 404);
      const head = await fetch(`${srv.url}/main/${"0".repeat(32)}.narinfo`, { method: "HEAD" });
      assert.equal(head.status, 404);
    });
  });

  describe("ingest", () => {
    test("an uploaded path is served signed by the cache key, keeping the client's signature", async () => {
      const u = await makeUpload("hello-1.0");
      const clientKey = generateSecretKey("client-1");
      const { signNarInfo } = await import("../../src/nix/narinfo.js");
      u.narinfo = signNarInfo(u.narinfo, clientKey);
      // Before the narinfo commits, the NAR is not visible.
      assert.equal((await put(`/main/${u.url}`, u.file, writeToken)).status, 204);
      assert.equal((await fetch(`${srv.url}/main/${u.url}`)).status, 404);
      assert.equal((await put(`/main/${u.hash}.narinfo`, narInfoText(u.narinfo), writeToken)).status, 204);

      const r = await fetch(`${srv.url}/main/${u.hash}.narinfo`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "text/x-nix-narinfo");
      const served = parseNarInfo(await r.text());
      assert.equal(served.storePath, u.storePath);
      assert.equal(served.narSize, u.nar.length);
      assert.deepEqual(verifyNarInfo(served, [parsePublicKey(mainKey)]), ["main-1"]);
      assert.deepEqual(verifyNarInfo(served, [publicKeyOf(clientKey)]), ["client-1"]);

      const nar = await fetch(`${srv.url}/main/${u.url}`);
      assert.equal(nar.status, 200);
      assert.deepEqual(Buffer.from(await nar.arrayBuffer()), u.file);
      const head = await fetch(`${srv.url}/main/${u.url}`, { method: "HEAD" });
      assert.equal(head.headers.get("content-length"), String(u.file.length));
    });

    test("a narinfo is served only once its whole closure is (dependents pushed first wait)", async () => {
      const [lib, app] = [await makeUpload("lib-1.0"), await makeUpload("app-1.0")];
      const base = (u: Upload) => u.storePath.slice("/nix/store/".length);
      app.narinfo.references = [base(lib), base(app)];
      await pushUpload("main", app);
      assert.equal((await fetch(`${srv.url}/main/${app.hash}.narinfo`)).status, 404, "lib is not here yet");
      await pushUpload("main", lib);
      for (const u of [lib, app])
        assert.equal((await fetch(`${srv.url}/main/${u.hash}.narinfo`)).status, 200);
    });

    test("Range requests return the requested bytes", async () => {
      const u = await makeUpload("ranged", "none", 5000);
      await pushUpload("main", u);
      const r = await fetch(`${srv.url}/main/${u.url}`, { headers: { range: "bytes=100-199" } });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get("content-range"), `bytes 100-199/${u.file.length}`);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), u.file.subarray(100, 200));
      const tail = await fetch(`${srv.url}/main/${u.url}`, { headers: { range: "bytes=-10" } });
      assert.deepEqual(Buffer.from(await tail.arrayBuffer()), u.file.subarray(u.file.length - 10));
      const bad = await fetch(`${srv.url}/main/${u.url}`, { headers: { range: `bytes=${u.file.length}-` } });
      assert.equal(bad.status, 416);
    });

    test("xz and uncompressed NARs are accepted too", async () => {
      for (const c of ["xz", "none"] as const) {
        const u = await makeUpload(`comp-${c}`, c);
        await pushUpload("main", u);
        const served = parseNarInfo(await (await fetch(`${srv.url}/main/${u.hash}.narinfo`)).text());
        assert.equal(served.compression, c);
      }
    });

    test("a narinfo whose NAR was never received is refused and not stored", async () => {
      const u = await makeUpload("orphan");
      const r = await put(`/main/${u.hash}.narinfo`, narInfoText(u.narinfo), writeToken);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /has not received: upload the NAR first/);
      assert.equal((await fetch(`${srv.url}/main/${u.hash}.narinfo`)).status, 404);
    });

    test("NarHash, NarSize, FileHash and FileSize must match what was received", async () => {
      const u = await makeUpload("liar");
      assert.equal((await put(`/main/${u.url}`, u.file, writeToken)).status, 204);
      const other = createHash("sha256").update("something else").digest();
      const cases: Array<[string, Partial<typeof u.narinfo>]> = [
        ["NarHash", { narHash: { algo: "sha256", digest: other } }],
        ["NarSize", { narSize: u.nar.length + 8 }],
        ["FileHash", { fileHash: { algo: "sha256", digest: other } }],
        ["FileSize", { fileSize: u.file.length - 1 }],
      ];
      for (const [field, change] of cases) {
        const r = await put(`/main/${u.hash}.narinfo`, narInfoText({ ...u.narinfo, ...change }), writeToken);
        assert.equal(r.status, 400, field);
        const msg = await r.text();
        assert.match(msg, new RegExp(`claims ${field} .* but the NAR received at ${u.url} has`), msg);
      }
      assert.equal((await fetch(`${srv.url}/main/${u.hash}.narinfo`)).status, 404);
      assert.equal((await fetch(`${srv.url}/main/${u.url}`)).status, 404);
    });

    test("a narinfo that does not parse, or names another path, is refused with the reason", async () => {
      const u = await makeUpload("parsing");
      assert.equal((await put(`/main/${u.url}`, u.file, writeToken)).status, 204);
      const bad = narInfoText(u.narinfo).replace(u.storePath, "/nix/store/not-a-store-path");
      let r = await put(`/main/${u.hash}.narinfo`, bad, writeToken);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /invalid narinfo: narinfo line 1 \(StorePath\)/);
      const v = await makeUpload("another");
      r = await put(`/main/${v.hash}.narinfo`, narInfoText(u.narinfo), writeToken);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /does not match the URL's hash/);
      r = await put(`/main/${u.hash}.narinfo`, "StorePath: x\n".repeat(10000), writeToken);
      assert.equal(r.status, 413);
    });

    test("a corrupted upload is refused and leaves nothing behind", async () => {
      const before = await blobCount();
      const u = await makeUpload("corrupt", "zstd", 2000);
      // Cut short: the zstd frame (or the NAR inside it) ends early.
      let r = await put(`/main/${u.url}`, u.file.subarray(0, u.file.length - 20), writeToken);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /not valid zstd|invalid NAR: unexpected end/);
      // Valid zstd around a damaged NAR: the NAR parser names what is wrong.
      const nar = Buffer.from(u.nar);
      nar.write("nix-archive-2", 8);
      r = await put(`/main/${u.url}`, await compress(nar, "zstd"), writeToken);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /invalid NAR: .* at byte offset/);
      r = await put(`/main/${u.hash}.narinfo`, narInfoText(u.narinfo), writeToken);
      assert.equal(r.status, 400);
      assert.equal(await blobCount(), before);
      assert.deepEqual(await srv.storage.listStaged(), []);
      // A flipped byte inside file contents still decodes, but then cannot match the narinfo.
      const flipped = Buffer.from(u.file);
      flipped[flipped.length - 100] = (flipped[flipped.length - 100] ?? 0) ^ 0xff;
      r = await put(`/main/${u.url}`, flipped, writeToken);
      if (r.status === 204) {
        const ni = await put(`/main/${u.hash}.narinfo`, narInfoText(u.narinfo), writeToken);
        assert.equal(ni.status, 400);
        assert.match(await ni.text(), /claims (NarHash|FileHash)/);
      } else assert.equal(r.status, 400);
    });

    test("an unknown compression is refused by name", async () => {
      const u = await makeUpload("bz");
      const r = await put(`/main/${u.url.replace(".nar.zst", ".nar.bz2")}`, u.file, writeToken);
      assert.equal(r.status, 415);
      assert.match(await r.text(), /unsupported NAR compression "bzip2"/);
    });

    test("a truncated upload stores nothing", async () => {
      const before = await blobCount();
      const u = await makeUpload("truncated", "none", 100_000);
      await new Promise<void>((resolve) => {
        const req = httpRequest(`${srv.url}/main/${u.url}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${writeToken}`, "content-length": String(u.file.length) },
        });
        req.on("error", () => resolve());
        req.on("response", () => resolve());
        // Cut off once the server is receiving (its staged file exists), not after a guessed delay.
        req.write(u.file.subarray(0, 50_000), () => {
          waitFor(async () => (await srv.storage.listStaged()).length > 0).then(() => req.destroy());
        });
      });
      // The server notices the closed connection and drops the staged file.
      await waitFor(async () => (await srv.storage.listStaged()).length === 0);
      assert.deepEqual(await srv.storage.listStaged(), []);
      assert.equal(await blobCount(), before);
      const r = await put(`/main/${u.hash}.narinfo`, narInfoText(u.narinfo), writeToken);
      assert.equal(r.status, 400);
    });

    test("uploads over the size limit get 413", async () => {
      const u = await makeUpload("big", "none", 5 << 20);
      const r = await put(`/main/${u.url}`, u.file, writeToken).catch((e: Error) => e);
      // The server answers 413 and closes; some clients see the close first.
      if (!(r instanceof Error)) {
        assert.equal(r.status, 413);
        assert.match(await r.text(), /exceeds the limit of 4194304 bytes/);
      }
      assert.deepEqual(await srv.storage.listStaged(), []);
    });

    test("identical NARs pushed to two caches are stored once", async () => {
      const u = await makeUpload("shared");
      const before = await blobCount();
      await pushUpload("main", u);
      const otherWrite = (await adminCreateToken(at, { cache: "other", perm: "write", expiresAt: null }))
        .token;
      await pushUpload("other", u, otherWrite);
      assert.equal(await blobCount(), before + 1);
      assert.equal((await fetch(`${srv.url}/other/${u.url}`)).status, 200);
    });

    test("concurrent uploads of the same path all succeed with one stored copy", async () => {
      const u = await makeUpload("racy", "zstd", 200_000);
      const before = await blobCount();
      await Promise.all(Array.from({ length: 8 }, () => pushUpload("main", u)));
      assert.equal(await blobCount(), before + 1);
      const nar = await fetch(`${srv.url}/main/${u.url}`);
      assert.deepEqual(Buffer.from(await nar.arrayBuffer()), u.file);
    });

    test("listings and build logs round-trip", async () => {
      const u = await makeUpload("listed");
      await pushUpload("main", u);
      const ls = JSON.stringify({ version: 1, root: { type: "directory", entries: {} } });
      assert.equal(
        (await put(`/main/${u.hash}.ls`, ls, writeToken, { "content-type": "application/json" })).status,
        204,
      );
      assert.equal(await (await fetch(`${srv.url}/main/${u.hash}.ls`)).text(), ls);
      const drv = `${u.hash}-listed.drv`;
      assert.equal((await put(`/main/log/${drv}`, "building...\n", writeToken)).status, 204);
      assert.equal(await (await fetch(`${srv.url}/main/log/${drv}`)).text(), "building...\n");
      assert.equal((await fetch(`${srv.url}/main/log/${"1".repeat(32)}-x.drv`)).status, 404);
    });
  });

  describe("auth", () => {
    test("writes need a write token; Basic auth with the token as password works", async () => {
      const u = await makeUpload("authz");
      let r = await put(`/main/${u.url}`, u.file);
      assert.equal(r.status, 401);
      assert.match(await r.text(), /write access to cache main requires a token/);
      r = await put(`/main/${u.url}`, u.file, readToken);
      assert.equal(r.status, 401);
      assert.match(await r.text(), /has read permission on cache main; write is required/);
      r = await put(`/main/${u.url}`, u.file, "nxc_made-up");
      assert.equal(r.status, 401);
      assert.match(await r.text(), /unknown token/);
      const basic = `Basic ${Buffer.from(`anyone:${writeToken}`).toString("base64")}`;
      r = await put(`/main/${u.url}`, u.file, undefined, { authorization: basic });
      assert.equal(r.status, 204);
    });

    test("a revoked token is refused", async () => {
      const { token, row } = await adminCreateToken(at, { cache: "main", perm: "write", expiresAt: null });
      const u = await makeUpload("revoked");
      assert.equal((await put(`/main/${u.url}`, u.file, token)).status, 204);
      await adminRevokeToken(at, row.id);
      const r = await put(`/main/${u.hash}.narinfo`, narInfoText(u.narinfo), token);
      assert.equal(r.status, 401);
      assert.match(await r.text(), /has been revoked/);
    });

    test("an expired token is refused", async () => {
      const { token } = await adminCreateToken(at, {
        cache: "main",
        perm: "write",
        expiresAt: Date.now() - 1,
      });
      const r = await put("/main/nix-cache-info", "StoreDir: /nix/store\n", token);
      assert.equal(r.status, 401);
      assert.match(await r.text(), /has expired/);
    });

    test("a private cache answers 401 to anonymous reads and serves its read tokens", async () => {
      const anon = await fetch(`${srv.url}/secret/nix-cache-info`);
      assert.equal(anon.status, 401);
      assert.match(await anon.text(), /cache secret is private/);
      const wrongCache = await fetch(`${srv.url}/secret/nix-cache-info`, {
        headers: { authorization: `Bearer ${readToken}` },
      });
      assert.equal(wrongCache.status, 401);
      const ok = await fetch(`${srv.url}/secret/nix-cache-info`, {
        headers: { authorization: `Bearer ${privReadToken}` },
      });
      assert.equal(ok.status, 200);
    });
  });

  describe("bounds", () => {
    test("URLs that try to leave the data directory are rejected", async () => {
      for (const path of [
        "/main/nar/..%2F..%2Fnixcache.db",
        "/main/nar/..%2Fblobs",
        "/main/log/..%2F..%2Fnixcache.db",
        "/..%2Fnixcache.db/nix-cache-info",
        "/main/..%2Fnixcache.db",
      ]) {
        const r = await fetch(`${srv.url}${path}`);
        // 401: an invalid cache name answers as an unknown (or private) cache does (issue 9, item 15).
        assert.ok(r.status === 400 || r.status === 404 || r.status === 401, `${path}: ${r.status}`);
        const body = Buffer.from(await r.arrayBuffer());
        assert.ok(!body.includes("SQLite format"), path);
      }
    });

    test("oversized headers are refused", async () => {
      const r = await fetch(`${srv.url}/main/nix-cache-info`, { headers: { "x-big": "a".repeat(20000) } });
      assert.equal(r.status, 431);
    });
  });

  describe("realisations", () => {
    const json = { "content-type": "application/json" };
    /** A Nix 2.8 realisation id, made up. */
    const newId = () => `sha256:${createHash("sha256").update(String(Math.random())).digest("hex")}!out`;
    const base = (u: Upload) => u.storePath.slice("/nix/store/".length);
    const get = (path: string, token?: string, method = "GET") =>
      fetch(`${srv.url}${path}`, {
        method,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });

    test("a realisation is pending until its output path is served, then served as uploaded, as JSON", async () => {
      const u = await makeUpload("ca-out");
      const id = newId();
      // As Nix 2.8 writes it, with a field Nix does not know (kept: Nix's parser ignores it).
      const text = JSON.stringify({
        dependentRealisations: {},
        id,
        outPath: base(u),
        signatures: [],
        extra: { kept: true },
      });
      const r = await put(`/main/realisations/${id}.doi`, text, writeToken, json);
      assert.equal(r.status, 204, await r.text());
      assert.equal((await get(`/main/realisations/${id}.doi`)).status, 404, "its path is not here yet");
      assert.equal((await get(`/main/realisations/${id}.doi`, undefined, "HEAD")).status, 404);
      await pushUpload("main", u);
      const served = await get(`/main/realisations/${id}.doi`);
      assert.equal(served.status, 200);
      assert.match(served.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(await served.text(), text);
      assert.equal((await get(`/main/realisations/${id}.doi`, undefined, "HEAD")).status, 200);
      // Percent-encoded as a client may send it: the same document.
      assert.equal(await (await get(`/main/realisations/${id.replace("!", "%21")}.doi`)).text(), text);
      assert.equal((await get(`/other/realisations/${id}.doi`)).status, 404, "per cache");
      // Nix 2.35's build trace entry: the key is in the name, the body is its value.
      const drv = `${u.hash}-ca-out.drv`;
      const entry = JSON.stringify({
        outPath: base(u),
        signatures: [{ keyName: "k-1", sig: "c2ln" }, "k-2:c2ln"],
      });
      assert.equal((await put(`/main/build-trace-v2/${drv}/out.doi`, entry, writeToken, json)).status, 204);
      assert.equal(await (await get(`/main/build-trace-v2/${drv}/out.doi`)).text(), entry);
      assert.equal((await get(`/main/build-trace-v2/${drv}/dev.doi`)).status, 404);
      // Listed on the path's page of the dashboard.
      const ui = await fetch(`${srv.url}/api/v1/ui/caches/main/path?q=${u.hash}`);
      const detail = (await ui.json()) as {
        realisations: Array<{ derivation: string; output: string; visible: boolean }>;
      };
      assert.deepEqual(
        detail.realisations.map((x) => [x.derivation, x.output, x.visible]),
        [
          [drv, "out", true],
          [id.slice(0, id.indexOf("!")), "out", true],
        ],
      );
    });

    test("names are checked exactly: no traversal, no other shapes", async () => {
      const id = newId();
      const hash = "1".repeat(32);
      for (const path of [
        `/main/realisations/${id}.json`,
        `/main/realisations/${id.replace("!out", "")}.doi`,
        `/main/realisations/${id.replace("sha256:", "md5:")}.doi`,
        `/main/realisations/${id.toUpperCase()}.doi`,
        `/main/realisations/${id.replace("!out", "!.out")}.doi`,
        `/main/realisations/${id.replace("!out", "!o%2F..%2Fx")}.doi`,
        "/main/realisations/..%2F..%2Fnixcache.db",
        `/main/build-trace-v2/${hash}-x/out.doi`,
        `/main/build-trace-v2/${hash}-x.drv/.out.doi`,
        `/main/build-trace-v2/${hash}-x.drv/out`,
        `/main/build-trace-v2/${hash}-x.drv/..%2F..%2Fnixcache.db`,
        "/main/build-trace-v2/..%2F..%2Fx.drv/out.doi",
        `/main/build-trace-v2/${"e".repeat(32)}-x.drv/out.doi`,
      ]) {
        const w = await put(path, "{}", writeToken, json);
        assert.equal(w.status, 400, `PUT ${path}: ${w.status}`);
        const r = await get(path);
        assert.equal(r.status, 400, `GET ${path}: ${r.status}`);
      }
    });

    test("bodies are checked: JSON with the fields Nix reads, its id the URL's, bounded", async () => {
      const u = await makeUpload("ca-body");
      const id = newId();
      const bad: Array<[string, string, RegExp]> = [
        [`realisations/${id}.doi`, "not json", /invalid realisations document/],
        [`realisations/${id}.doi`, JSON.stringify({ id, outPath: u.storePath }), /outPath/],
        [`realisations/${id}.doi`, JSON.stringify({ outPath: base(u) }), /id/],
        [`realisations/${id}.doi`, JSON.stringify({ id: newId(), outPath: base(u) }), /does not match/],
        [
          `realisations/${id}.doi`,
          JSON.stringify({ id, outPath: base(u), dependentRealisations: { x: base(u) } }),
          /dependentRealisations/,
        ],
        [
          `realisations/${id}.doi`,
          JSON.stringify({ id, outPath: base(u), signatures: "k:sig" }),
          /signatures/,
        ],
        [`realisations/${id}.doi`, JSON.stringify([{ id, outPath: base(u) }]), /invalid realisation/],
        [`build-trace-v2/${u.hash}-x.drv/out.doi`, JSON.stringify({ outPath: 1 }), /outPath/],
        [
          `build-trace-v2/${u.hash}-x.drv/out.doi`,
          JSON.stringify({ outPath: base(u), signatures: [{ keyName: "k" }] }),
          /signatures/,
        ],
      ];
      for (const [path, body, message] of bad) {
        const r = await put(`/main/${path}`, body, writeToken, json);
        assert.equal(r.status, 400, `${path} ${body}`);
        assert.match(await r.text(), message);
      }
      const notUtf8 = await put(
        `/main/realisations/${id}.doi`,
        Buffer.from([0x7b, 0xff, 0x7d]),
        writeToken,
        json,
      );
      assert.equal(notUtf8.status, 400);
      const huge = JSON.stringify({ id, outPath: base(u), padding: "x".repeat(2 << 20) });
      assert.equal((await put(`/main/realisations/${id}.doi`, huge, writeToken, json)).status, 413);
      assert.deepEqual(await srv.meta.realisationsOf("main", u.hash), [], "nothing was stored");
    });

    test("authorised like narinfos: write to PUT, read to GET (a private cache answers 401)", async () => {
      const u = await makeUpload("ca-auth");
      const id = newId();
      const text = JSON.stringify({ id, outPath: base(u) });
      let r = await put(`/main/realisations/${id}.doi`, text, undefined, json);
      assert.equal(r.status, 401);
      r = await put(`/main/realisations/${id}.doi`, text, readToken, json);
      assert.equal(r.status, 401);
      assert.match(await r.text(), /write is required/);
      const { token } = await adminCreateToken(at, { cache: "secret", perm: "write", expiresAt: null });
      await pushUpload("secret", u, token);
      assert.equal((await put(`/secret/realisations/${id}.doi`, text, token, json)).status, 204);
      assert.equal((await get(`/secret/realisations/${id}.doi`)).status, 401);
      assert.equal(
        (await get(`/secret/realisations/${id}.doi`, readToken)).status,
        401,
        "another cache's token",
      );
      const ok = await get(`/secret/realisations/${id}.doi`, privReadToken);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), text);
    });

    test("counted in the cache's quota: refused with 413 when it would pass it", async () => {
      await adminCreateCache(at, { name: "ca-quota", isPublic: true, priority: 41 });
      const { token } = await adminCreateToken(at, { cache: "ca-quota", perm: "write", expiresAt: null });
      const u = await makeUpload("ca-quota");
      await pushUpload("ca-quota", u, token);
      const used = await srv.meta.cacheUsage("ca-quota");
      const id = newId();
      const text = JSON.stringify({ id, outPath: base(u) });
      assert.equal((await put(`/ca-quota/realisations/${id}.doi`, text, token, json)).status, 204);
      assert.equal(await srv.meta.cacheUsage("ca-quota"), used + Buffer.byteLength(text));
      await srv.meta.setCacheLimits("ca-quota", { quotaBytes: used + Buffer.byteLength(text) + 10 });
      const other = newId();
      const r = await put(
        `/ca-quota/realisations/${other}.doi`,
        JSON.stringify({ id: other, outPath: base(u) }),
        token,
        json,
      );
      assert.equal(r.status, 413);
      assert.match(await r.text(), /over its quota/);
      assert.equal((await get(`/ca-quota/realisations/${other}.doi`)).status, 404);
      assert.equal((await get(`/ca-quota/realisations/${id}.doi`)).status, 200);
    });
  });

  describe("logs", () => {
    test("one JSON line per request, without query strings or tokens", async () => {
      logs.length = 0;
      await fetch(`${srv.url}/main/nix-cache-info?token=${writeToken}`, {
        headers: { authorization: `Bearer ${writeToken}` },
      });
      const line = JSON.parse(logs.at(-1) ?? "{}") as Record<string, unknown>;
      assert.equal(line.method, "GET");
      assert.equal(line.url, "/main/nix-cache-info");
      assert.equal(line.status, 200);
      assert.equal(line.cache, "main");
      assert.equal(typeof line.ms, "number");
      assert.ok(Number(line.bytes) > 0);
      assert.ok(!logs.join("\n").includes(writeToken));
    });
  });

  describe("shutdown", () => {
    test("close() lets an in-flight upload finish and commit", async () => {
      const dir = await mkdtemp(join(tmpdir(), "nixcache-shutdown-"));
      try {
        const here = await backend.stores(dir);
        await adminCreateCache(here, { name: "c", isPublic: true, priority: 41 });
        const tok = (await adminCreateToken(here, { cache: "c", perm: "write", expiresAt: null })).token;
        const s = await startServer({ ...here, port: 0 });
        const nar = await makeNar("slow", 300_000);
        // Named by its content, as every NAR must be (issue 9, item 8).
        const name = `nar/${nix32Encode(createHash("sha256").update(nar).digest())}.nar`;
        const url = `/c/${name}`;
        const status = new Promise<number>((resolve, reject) => {
          const req = httpRequest(`${s.url}${url}`, {
            method: "PUT",
            headers: { authorization: `Bearer ${tok}`, "content-length": String(nar.length) },
          });
          req.on("response", (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on("error", reject);
          req.write(nar.subarray(0, 1000));
          // Once the server is receiving (its temporary file exists), ask it to stop, then finish sending.
          const waitForUpload = async () => {
            await waitFor(async () => (await s.storage.listStaged()).length > 0);
            void s.close();
            // The rest is sent once the server has stopped accepting: the upload is in flight at shutdown.
            await waitFor(() => !s.app.server.listening);
            req.end(nar.subarray(1000));
          };
          waitForUpload().catch(reject);
        });
        assert.equal(await status, 204);
        await s.close();
        const again = await startServer({ ...here, port: 0 });
        try {
          const up = await again.meta.getNar("c", name);
          assert.equal(up?.narSize, nar.length);
          assert.equal(
            up?.narHash,
            formatHashNix32({ algo: "sha256", digest: createHash("sha256").update(nar).digest() }),
          );
        } finally {
          await again.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
