// The Cachix-compatible API of `nixcache serve` at the HTTP level: auth like Cachix, the
// multipart upload and what it refuses (corrupt parts, wrong hashes, aborts, replays, expiry),
// cSig handling, and the cachix:// backend's wording for refusals.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { CachixCache } from "../../../src/caches/cachix/cache.js";
import { formatHashNix32 } from "../../../src/nix/hash.js";
import { narInfoFingerprint, parseNarInfo, verifyNarInfo } from "../../../src/nix/narinfo.js";
import { generateSecretKey, parsePublicKey, signRaw } from "../../../src/nix/signing.js";
import { adminCreateCache, adminCreatePersonalToken, adminCreateToken } from "../../../src/server/admin.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import type { StateLocation } from "../../../src/server/state-location.js";
import { forEachBackend, storedBlobs } from "../../helpers/backends.js";
import { apiClient } from "../../helpers/cachix.js";
import { tempDir } from "../../helpers/nix.js";
import { makeUpload, narInfoCreateFor, narInfoText, type Upload } from "../../helpers/uploads.js";

forEachBackend((backend) => {
  let dir: { path: string; cleanup: () => void };
  let at: StateLocation;
  let srv: RunningServer;
  let api: string;
  let personal: string;
  let write: string;
  let read: string;
  let otherWrite: string;

  before(async () => {
    dir = tempDir("nixcache-cachix-api-");
    at = await backend.stores(dir.path);
    srv = await startServer({ ...at, port: 0 });
    api = `${srv.url}/api/v1`;
    personal = (await adminCreatePersonalToken(at, { account: "alice", expiresAt: null })).token;
    const r = await call("POST", "/cache/team", personal, {
      isPublic: false,
      generateSigningKey: true,
      accountID: null,
    });
    assert.equal(r.status, 200, r.text);
    write = (await adminCreateToken(at, { cache: "team", perm: "write", expiresAt: null })).token;
    read = (await adminCreateToken(at, { cache: "team", perm: "read", expiresAt: null })).token;
    await adminCreateCache(at, { name: "other", isPublic: true, priority: 41 });
    otherWrite = (await adminCreateToken(at, { cache: "other", perm: "write", expiresAt: null })).token;
  });

  after(async () => {
    await srv.close();
    dir.cleanup();
  });

  const client = () => apiClient(api);
  const call: ReturnType<typeof apiClient>["call"] = (...a) => client().call(...a);
  const startUpload = (u: Upload, token = write, parts: Buffer[] = [u.file], cache = "team") =>
    client().startUpload(u, token, parts, cache);

  async function blobCount(): Promise<number> {
    return (await storedBlobs(at)).length;
  }

  async function narinfoStatus(hash: string, cache = "team"): Promise<number> {
    const r = await fetch(`${srv.url}/${cache}/${hash}.narinfo`, {
      headers: { authorization: `Bearer ${read}` },
    });
    await r.arrayBuffer();
    return r.status;
  }

  test("auth like Cachix: anonymous, 404 vs 401, JSON errors, personal-only calls", async () => {
    // Unknown and private caches answer alike to callers without access (issue 9, item 15); only a
    // personal token, which may create caches, hears Cachix's "does not exist".
    const unknown = await call("GET", "/cache/nope", undefined);
    assert.equal(unknown.status, 401);
    assert.match(unknown.type ?? "", /^application\/json/);
    assert.deepEqual(unknown.json, {
      error: "cache nope is private or does not exist: a token with read access to it is required",
    });
    const unknownPersonal = await call("GET", "/cache/nope", personal);
    assert.equal(unknownPersonal.status, 404);
    assert.deepEqual(unknownPersonal.json, { error: "Binary cache nope does not exist." });

    const anon = await call("GET", "/cache/team", "");
    assert.equal(anon.status, 401, "a private cache refuses an empty Bearer token");
    assert.equal(typeof (anon.json as { error: string }).error, "string");
    const pub = await call("GET", "/cache/other", "");
    assert.equal(pub.status, 200);
    assert.equal((pub.json as { permission: string }).permission, "Read");
    assert.equal((pub.json as { githubUsername: unknown }).githubUsername, null, "optional fields are null");

    const asWriter = (await call("GET", "/cache/team", write)).json as Record<string, unknown>;
    assert.equal(asWriter.permission, "Write");
    assert.equal(asWriter.uri, `${srv.url}/team`);
    assert.equal(asWriter.preferredCompressionMethod, "ZSTD");
    assert.equal(
      ((await call("GET", "/cache/team", personal)).json as { permission: string }).permission,
      "Admin",
    );
    assert.equal(
      ((await call("GET", "/cache/team", read)).json as { permission: string }).permission,
      "Read",
    );
    assert.equal((await call("GET", "/cache/team", otherWrite)).status, 401, "a token for another cache");
    assert.equal(
      (await call("GET", "/cache/other", "nxc_bogus")).status,
      401,
      "an unknown token is refused, not anonymous",
    );

    for (const [method, path, body] of [
      ["GET", "/user", undefined],
      ["POST", "/cache/newone", { isPublic: true, generateSigningKey: true, accountID: null }],
      ["POST", "/token", { cacheName: "team", permission: "Read" }],
      ["GET", "/token", undefined],
    ] as const) {
      const r = await call(method, path, write, body);
      assert.equal(r.status, 401, `${method} ${path} with a cache token`);
      assert.match((r.json as { error: string }).error, /personal token/);
    }
    assert.equal((await call("GET", "/cache/newone", personal)).status, 404, "nothing was created");

    const user = (await call("GET", "/user", personal)).json as Record<string, unknown>;
    assert.deepEqual(Object.keys(user).sort(), ["email", "fullname", "githubUsername", "id", "slug"]);
    assert.equal(user.slug, "alice");
    assert.equal(user.email, null);
    const dup = await call("POST", "/cache/team", personal, { isPublic: true, generateSigningKey: true });
    assert.equal(dup.status, 409);
    const bad = await call("POST", "/cache/Bad Name", personal, { isPublic: true, generateSigningKey: true });
    assert.equal(bad.status, 400);
    const badBody = await call("POST", "/cache/fine", personal, { isPublic: "yes" });
    assert.equal(badBody.status, 400);
    assert.match((badBody.json as { error: string }).error, /isPublic/);

    const minted = await call("POST", "/token", personal, {
      cacheName: "team",
      permission: "Read",
      description: "ci",
    });
    assert.equal(minted.status, 200, minted.text);
    const t = (minted.json as { token: string }).token;
    assert.equal(((await call("GET", "/cache/team", t)).json as { permission: string }).permission, "Read");
    const list = (await call("GET", "/token", personal)).json as Array<Record<string, unknown>>;
    assert.ok(list.some((x) => x.kind === "personal"));
    assert.ok(list.some((x) => x.cacheName === "team" && x.permission === "Read" && x.description === "ci"));
    assert.ok(!JSON.stringify(list).includes(t), "tokens are never listed");
    const notOwner = await call("POST", "/token", personal, { cacheName: "other", permission: "Write" });
    assert.equal(notOwner.status, 401, "alice does not own a cache made offline");

    const settings = await call("PUT", "/cache/team/settings", write, { isPublic: true });
    assert.equal(settings.status, 401, "settings need Admin");
  });

  test("bulk narinfo query, HEAD/GET narinfo through the API", async () => {
    const u = await makeUpload("bulk");
    const up = await startUpload(u);
    const done = await call("POST", `${up.base}/complete?uploadId=${up.uploadId}`, write, {
      parts: up.parts,
      narInfoCreate: narInfoCreateFor(u),
    });
    assert.equal(done.status, 200, done.text);
    const absent = "0".repeat(32);
    const missing = await call("POST", "/cache/team/narinfo", read, [u.hash, absent]);
    assert.deepEqual(missing.json, [absent]);
    const tooMany = await call("POST", "/cache/team/narinfo", read, Array(32769).fill(absent));
    assert.equal(tooMany.status, 400);
    const notHashes = await call("POST", "/cache/team/narinfo", read, ["../etc"]);
    assert.equal(notHashes.status, 400);
    const head = await fetch(`${api}/cache/team/${u.hash}.narinfo`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${read}` },
    });
    assert.equal(head.status, 200);
    const head404 = await fetch(`${api}/cache/team/${absent}.narinfo`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${read}` },
    });
    assert.equal(head404.status, 404);
    const anonHead = await fetch(`${api}/cache/team/${u.hash}.narinfo`, {
      method: "HEAD",
      headers: { authorization: "Bearer " },
    });
    assert.equal(anonHead.status, 401);
    // The Nix side serves the same narinfo, signed by the cache's managed key.
    const text = await (
      await fetch(`${srv.url}/team/${u.hash}.narinfo`, { headers: { authorization: `Bearer ${read}` } })
    ).text();
    const ni = parseNarInfo(text);
    const key = parsePublicKey(
      ((await call("GET", "/cache/team", read)).json as { publicSigningKeys: string[] })
        .publicSigningKeys[0] ?? "",
    );
    assert.deepEqual(verifyNarInfo(ni, [key]), [key.name]);
    assert.equal(ni.fileSize, u.file.length);
  });

  test("multipart refusals: corrupt parts, wrong hashes, abort, replay, expiry; nothing stored", async () => {
    const blobsBefore = await blobCount();

    // A part whose body does not match its Content-MD5 is refused and not kept.
    const u1 = await makeUpload("corrupt-part");
    const up1 = await startUpload(u1);
    const md5 = createHash("md5").update(u1.file).digest("base64");
    const flipped = Buffer.from(u1.file);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    const urlRes = await call("POST", `${up1.base}?uploadId=${up1.uploadId}&partNumber=2`, write, {
      contentMD5: md5,
    });
    const url2 = (urlRes.json as { uploadUrl: string }).uploadUrl;
    const corrupt = await fetch(url2, { method: "PUT", headers: { "content-md5": md5 }, body: flipped });
    assert.equal(corrupt.status, 400);
    // Our part URLs say so in words; S3 (direct uploads) says BadDigest.
    assert.match(await corrupt.text(), /Content-MD5|BadDigest/);
    // A URL whose signature was tampered with, or a different Content-MD5, is refused (both kinds
    // of part URL end with the signature's hex).
    const last = url2.slice(-1);
    const tampered = await fetch(`${url2.slice(0, -1)}${last === "0" ? "1" : "0"}`, {
      method: "PUT",
      headers: { "content-md5": md5 },
      body: new Uint8Array(u1.file),
    });
    assert.equal(tampered.status, 403);
    const otherMd5 = await fetch(url2, {
      method: "PUT",
      headers: { "content-md5": createHash("md5").update("x").digest("base64") },
      body: "x",
    });
    assert.equal(otherMd5.status, 403);
    // complete with a part that was never uploaded, or a wrong ETag.
    const gap = await call("POST", `${up1.base}/complete?uploadId=${up1.uploadId}`, write, {
      parts: [...up1.parts, { partNumber: 2, eTag: '"00"' }],
      narInfoCreate: narInfoCreateFor(u1),
    });
    assert.equal(gap.status, 400);
    assert.match((gap.json as { error: string }).error, /part 2 was never uploaded/);
    const wrongEtag = await call("POST", `${up1.base}/complete?uploadId=${up1.uploadId}`, write, {
      parts: [{ partNumber: 1, eTag: '"0123456789abcdef0123456789abcdef"' }],
      narInfoCreate: narInfoCreateFor(u1),
    });
    assert.equal(wrongEtag.status, 400);
    assert.match((wrongEtag.json as { error: string }).error, /ETag/);

    // Wrong cNarHash / cFileHash / cNarSize: the NAR is read, found different, and dropped.
    const other = await makeUpload("other-nar");
    for (const [field, value, pattern] of [
      ["cNarHash", formatHashNix32(other.narinfo.narHash), /cNarHash/],
      ["cFileHash", "a".repeat(64), /cFileHash/],
      ["cNarSize", u1.nar.length + 8, /cNarSize/],
    ] as const) {
      // Direct-to-S3 uploads are assembled by the first complete, and a mismatch deletes the object:
      // each wrong claim needs an upload of its own there.
      const upX = backend.onS3 ? await startUpload(u1) : up1;
      const r = await call("POST", `${upX.base}/complete?uploadId=${upX.uploadId}`, write, {
        parts: upX.parts,
        narInfoCreate: narInfoCreateFor(u1, { [field]: value }),
      });
      assert.equal(r.status, 400, `${field}: ${r.text}`);
      assert.match((r.json as { error: string }).error, pattern);
    }
    const badShape = await call("POST", `${up1.base}/complete?uploadId=${up1.uploadId}`, write, {
      parts: up1.parts,
      narInfoCreate: narInfoCreateFor(u1, { cFileHash: "A".repeat(64), cStoreSuffix: "-dash" }),
    });
    assert.equal(badShape.status, 400);
    assert.match((badShape.json as { error: string }).error, /lowercase hex/);
    assert.equal(await narinfoStatus(u1.hash), 404);

    // A NAR that is not valid zstd / not a NAR is refused at complete.
    const garbage = await makeUpload("garbage");
    const junk = Buffer.from("this is not zstd at all");
    const upG = await startUpload(garbage, write, [junk]);
    const rG = await call("POST", `${upG.base}/complete?uploadId=${upG.uploadId}`, write, {
      parts: upG.parts,
      narInfoCreate: narInfoCreateFor(garbage, {
        cFileHash: createHash("sha256").update(junk).digest("hex"),
        cFileSize: junk.length,
      }),
    });
    assert.equal(rG.status, 400);
    assert.match((rG.json as { error: string }).error, /zstd/);

    // Abort: the upload and its part URLs are dead.
    const ab = await call("POST", `${up1.base}/abort?uploadId=${up1.uploadId}`, write);
    assert.equal(ab.status, 200);
    const afterAbort = await fetch(up1.urls[0] as string, {
      method: "PUT",
      headers: { "content-md5": md5 },
      body: new Uint8Array(u1.file),
    });
    assert.equal(afterAbort.status, 404);
    const completeAfterAbort = await call("POST", `${up1.base}/complete?uploadId=${up1.uploadId}`, write, {
      parts: up1.parts,
      narInfoCreate: narInfoCreateFor(u1),
    });
    assert.equal(completeAfterAbort.status, 409);
    assert.match((completeAfterAbort.json as { error: string }).error, /aborted/);
    assert.equal(await narinfoStatus(u1.hash), 404);
    assert.equal(await blobCount(), blobsBefore, "no blob was stored by any refused upload");

    // Read tokens cannot upload; a wrong uploadId is unknown.
    assert.equal((await call("POST", "/cache/team/multipart-nar?compression=zst", read)).status, 401);
    assert.equal((await call("POST", "/cache/team/multipart-nar?compression=br", write)).status, 400);
    assert.equal((await call("POST", `${upG.base}/abort?uploadId=wrong`, write)).status, 404);

    // Replay of a part URL after complete: refused, the published NAR is untouched.
    // S3 takes parts of at least 5 MiB (all but the last).
    const u2 = await makeUpload("replay", "zstd", backend.onS3 ? 6 << 20 : 1000);
    const half = backend.onS3 ? 5 << 20 : Math.floor(u2.file.length / 2);
    const up2 = await startUpload(u2, write, [u2.file.subarray(0, half), u2.file.subarray(half)]);
    const ok = await call("POST", `${up2.base}/complete?uploadId=${up2.uploadId}`, write, {
      parts: up2.parts,
      narInfoCreate: narInfoCreateFor(u2),
    });
    assert.equal(ok.status, 200, ok.text);
    const replay = await fetch(up2.urls[0] as string, {
      method: "PUT",
      headers: { "content-md5": createHash("md5").update(u2.file.subarray(0, half)).digest("base64") },
      body: new Uint8Array(u2.file.subarray(0, half)),
    });
    assert.equal(replay.status, 404);
    const again = await call("POST", `${up2.base}/complete?uploadId=${up2.uploadId}`, write, {
      parts: up2.parts,
      narInfoCreate: narInfoCreateFor(u2),
    });
    assert.equal(again.status, 409, "a second complete loses (issue 9, item 7)");
    assert.equal(await narinfoStatus(u2.hash), 200);
    assert.deepEqual(
      (await srv.storage.listPartUploads()).filter((x) => x === up2.narId),
      [],
      "its parts are gone",
    );

    // Expired part URLs (a server whose URLs live 0 ms).
    const d2 = tempDir("nixcache-cachix-ttl-");
    const at2 = await backend.stores(d2.path);
    const s2 = await startServer({ ...at2, port: 0, cachixPartUrlTtlMs: 0 });
    try {
      await adminCreateCache(at2, { name: "c", isPublic: true, priority: 41 });
      const w = (await adminCreateToken(at2, { cache: "c", perm: "write", expiresAt: null })).token;
      const c = (await (
        await fetch(`${s2.url}/api/v1/cache/c/multipart-nar`, {
          method: "POST",
          headers: { authorization: `Bearer ${w}` },
        })
      ).json()) as { narId: string; uploadId: string };
      const m = createHash("md5").update("x").digest("base64");
      const { uploadUrl } = (await (
        await fetch(`${s2.url}/api/v1/cache/c/multipart-nar/${c.narId}?uploadId=${c.uploadId}&partNumber=1`, {
          method: "POST",
          headers: { authorization: `Bearer ${w}`, "content-type": "application/json" },
          body: JSON.stringify({ contentMD5: m }),
        })
      ).json()) as { uploadUrl: string };
      // S3 presigned URLs live whole seconds (at least one): outlive it.
      if (backend.onS3) await new Promise((r) => setTimeout(r, 2100));
      const expired = await fetch(uploadUrl, { method: "PUT", headers: { "content-md5": m }, body: "x" });
      assert.equal(expired.status, 403);
      assert.match(await expired.text(), /expired/);
    } finally {
      await s2.close();
      d2.cleanup();
    }
  });

  test("cSig: a client key registered with POST key signs; a bad cSig is refused", async () => {
    const key = generateSecretKey("ignored");
    const noKey = await makeUpload("csig-nokey");
    const upN = await startUpload(noKey);
    const fp = (u: Upload) =>
      narInfoFingerprint({
        storePath: u.storePath,
        narHash: u.narinfo.narHash,
        narSize: u.nar.length,
        references: [],
      });
    const refused = await call("POST", `${upN.base}/complete?uploadId=${upN.uploadId}`, write, {
      parts: upN.parts,
      narInfoCreate: narInfoCreateFor(noKey, { cSig: signRaw(key, fp(noKey)).toString("base64") }),
    });
    assert.equal(refused.status, 400);
    assert.match((refused.json as { error: string }).error, /no signing key registered/);

    assert.equal(
      (await call("POST", "/cache/team/key", write, { publicKey: key.publicKey.toString("base64") })).status,
      401,
    );
    assert.equal((await call("POST", "/cache/team/key", personal, { publicKey: "AAAA" })).status, 400);
    const added = await call("POST", "/cache/team/key", personal, {
      publicKey: key.publicKey.toString("base64"),
    });
    assert.equal(added.status, 200, added.text);
    const keys = (
      (await call("GET", "/cache/team", read)).json as { publicSigningKeys: string[] }
    ).publicSigningKeys.map((k) => parsePublicKey(k));
    assert.equal(keys.length, 2);

    const wrong = await call("POST", `${upN.base}/complete?uploadId=${upN.uploadId}`, write, {
      parts: upN.parts,
      narInfoCreate: narInfoCreateFor(noKey, {
        cSig: signRaw(generateSecretKey("x"), fp(noKey)).toString("base64"),
      }),
    });
    assert.equal(wrong.status, 400);
    assert.match((wrong.json as { error: string }).error, /does not verify/);
    const good = await call("POST", `${upN.base}/complete?uploadId=${upN.uploadId}`, write, {
      parts: upN.parts,
      narInfoCreate: narInfoCreateFor(noKey, { cSig: signRaw(key, fp(noKey)).toString("base64") }),
    });
    assert.equal(good.status, 200, good.text);
    const text = await (
      await fetch(`${srv.url}/team/${noKey.hash}.narinfo`, { headers: { authorization: `Bearer ${read}` } })
    ).text();
    assert.deepEqual(
      verifyNarInfo(parseNarInfo(text), keys).sort(),
      keys.map((k) => k.name).sort(),
      "client and managed signatures",
    );
  });

  test("cachix:// backend: Cachix's wording for unknown and private caches", async () => {
    const unknown = new CachixCache("nope", { apiUrl: api, token: personal });
    await assert.rejects(unknown.cacheInfo(), /^Error: Binary cache nope does not exist\.$/);
    await unknown.close();
    const anon = new CachixCache("team", { apiUrl: api });
    await assert.rejects(
      anon.missing(["0".repeat(32)]),
      /Binary cache team doesn't exist or it's private and you need a token/,
    );
    await anon.close();
    const other = new CachixCache("team", { apiUrl: api, token: otherWrite });
    await assert.rejects(
      other.cacheInfo(),
      /Binary cache team doesn't exist or you don't have access\. Error: /,
    );
    await other.close();
    const reader = new CachixCache("team", { apiUrl: api, token: read });
    await assert.rejects(reader.ensureCacheInfo(), /only Read permission.*Write token/);
    await reader.close();
    assert.throws(
      () => new CachixCache("team", { apiUrl: api, signingKey: "AAAA" }),
      /CACHIX_SIGNING_KEY holds 3 bytes/,
    );
  });

  test("item 18: a new cache may not be named after a route of the server (ui); an existing one keeps working", async () => {
    const body = { isPublic: true, generateSigningKey: true };
    for (const name of ["ui", "api", "metrics", "healthz", "static"]) {
      await assert.rejects(
        adminCreateCache(at, { name, isPublic: true, priority: 41 }),
        (e: Error) => /reserved/.test(e.message) && e.message.includes(name),
        name,
      );
      const r = await call("POST", `/cache/${name}`, personal, body);
      assert.equal(r.status, 400, `${name}: ${r.text}`);
      assert.match((r.json as { error: string }).error, /reserved/, name);
    }
    const ui = await call("POST", "/cache/ui", personal, body);
    assert.match((ui.json as { error: string }).error, /the dashboard's path/);
    // One made before names were checked (here straight in the store) is served as before.
    await srv.meta.createCache({ name: "ui", isPublic: true, priority: 41 });
    const info = await fetch(`${srv.url}/ui/nix-cache-info`);
    assert.equal(info.status, 200);
    assert.match(await info.text(), /^StoreDir: \/nix\/store$/m);
    const token = (await adminCreateToken(at, { cache: "ui", perm: "write", expiresAt: null })).token;
    const u = await makeUpload("cache-named-ui");
    const auth = { authorization: `Bearer ${token}` };
    const nar = await fetch(`${srv.url}/ui/${u.url}`, {
      method: "PUT",
      body: new Uint8Array(u.file),
      headers: auth,
    });
    assert.equal(nar.status, 204, await nar.text());
    const ni = await fetch(`${srv.url}/ui/${u.hash}.narinfo`, {
      method: "PUT",
      body: narInfoText(u.narinfo),
      headers: auth,
    });
    assert.equal(ni.status, 204, await ni.text());
    assert.equal((await fetch(`${srv.url}/ui/${u.hash}.narinfo`)).status, 200);
    assert.equal((await fetch(`${srv.url}/ui/`)).status, 200, "the dashboard is still there");
  });
});
