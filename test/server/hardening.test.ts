// Issue 9, items 4-6 and 8-16, through the server's HTTP interface (and real Nix where it reads):
// stalled connections and per-client caps, logs as bounded blobs with fixed types, strict xz,
// content-named NARs, normalised narinfos, escaped listings, periodic sweeps and the per-token
// upload limit, 100-continue after authorization, --public-url, no enumeration of private caches,
// invalid ranges ignored, and `parts: null` accepted.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { formatNarInfo, parseNarInfo, verifyNarInfo } from "../../src/nix/narinfo.js";
import { nix32Encode } from "../../src/nix/nix32.js";
import { parsePublicKey } from "../../src/nix/signing.js";
import { adminCreateCache, adminCreateToken, adminRevokeToken } from "../../src/server/admin.js";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/server.js";
import { isControl } from "../../src/util/terminal.js";
import { apiClient } from "../helpers/cachix.js";
import { runCli } from "../helpers/cli.js";
import { nixAsync, nixSync, requireNix } from "../helpers/nix.js";
import { serve, until } from "../helpers/serve.js";
import { makeUpload, narInfoCreateFor, narInfoText, type Upload } from "../helpers/uploads.js";

let dir: string;
const servers: RunningServer[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "nixcache-hardening-"));
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(dir, { recursive: true, force: true });
});

interface Setup {
  data: string;
  srv: RunningServer;
  write: string;
  read: string;
  key: string;
}

/** A data directory with a public cache `main` and a private `secret`, and a server on it. */
async function setUp(tag: string, opts: Partial<ServerOptions> = {}): Promise<Setup> {
  const data = join(dir, tag);
  const key = (await adminCreateCache(data, { name: "main", isPublic: true, priority: 41 })).publicKey;
  await adminCreateCache(data, { name: "secret", isPublic: false, priority: 41 });
  const write = (await adminCreateToken(data, { cache: "main", perm: "write", expiresAt: null })).token;
  const read = (await adminCreateToken(data, { cache: "main", perm: "read", expiresAt: null })).token;
  const srv = await startServer({ dataDir: data, port: 0, ...opts });
  servers.push(srv);
  return { data, srv, write, read, key };
}

function put(s: Setup, path: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  return fetch(`${s.srv.url}${path}`, {
    method: "PUT",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${s.write}`, ...headers },
  });
}

async function push(s: Setup, u: Upload, text = narInfoText(u.narinfo)): Promise<Response> {
  const r = await put(s, `/main/${u.url}`, u.file);
  assert.equal(r.status, 204, await r.text());
  return put(s, `/main/${u.hash}.narinfo`, text);
}

/** Sends raw bytes on a fresh connection; resolves with the socket and what arrives on it. */
function raw(url: string, text: string): Promise<{ socket: Socket; received: () => string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    let got = "";
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(text);
      resolve({ socket, received: () => got });
    });
    socket.on("data", (d: Buffer) => {
      got += d.toString("latin1");
    });
    socket.on("error", reject);
  });
}

function connections(srv: RunningServer): Promise<number> {
  return new Promise((resolve, reject) =>
    (srv.app.server as Server).getConnections((e, n) => (e ? reject(e) : resolve(n))),
  );
}

describe("item 4: stalled downloads are cut; connections per client are capped", () => {
  test("a download whose client stops reading is dropped after the no-progress timeout", async () => {
    const s = await setUp("stall", { noProgressTimeoutMs: 500 });
    const u = await makeUpload("stall", "none", 8 << 20);
    assert.equal((await push(s, u)).status, 204);
    await until("idle connections are gone", async () => (await connections(s.srv)) === 0);
    const stalled = await Promise.all(
      [1, 2].map(() => raw(s.srv.url, `GET /main/${u.url} HTTP/1.1\r\nHost: x\r\n\r\n`)),
    );
    for (const c of stalled) c.socket.pause();
    await until("both downloads are open", async () => (await connections(s.srv)) === 2);
    await until("both stalled downloads were dropped", async () => (await connections(s.srv)) === 0);
    for (const c of stalled) c.socket.destroy();
  });

  test("connections beyond --max-connections-per-client are answered 429", async () => {
    const s = await setUp("cap", { maxConnectionsPerClient: 3 });
    const holders = await Promise.all([1, 2, 3].map(() => raw(s.srv.url, "")));
    await until("three connections are held", async () => (await connections(s.srv)) === 3);
    const extra = await raw(s.srv.url, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await until("the fourth is answered", () => extra.received().includes("\r\n\r\n"));
    assert.match(extra.received(), /^HTTP\/1\.1 429 /);
    assert.match(extra.received(), /too many connections from 127\.0\.0\.1: at most 3 at once/);
    extra.socket.destroy();
    (holders[0] as { socket: Socket }).socket.destroy();
    await until("a connection was freed", async () => (await connections(s.srv)) <= 2);
    const ok = await raw(s.srv.url, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await until("answered", () => ok.received().includes("{"));
    assert.match(ok.received(), /^HTTP\/1\.1 200 /);
    for (const h of holders) h.socket.destroy();
    ok.socket.destroy();
  });
});

describe("items 5 and 10: logs are blobs, bounded; logs and listings have fixed types", () => {
  test("a log is streamed into a blob and served back as text/plain with nosniff; one over --max-log-size is 413", async () => {
    const s = await setUp("logs", { maxLogBytes: 1 << 20 });
    const name = `${"a".repeat(32)}-hello.drv`;
    const log = Buffer.alloc(600_000, "build output line\n");
    const r = await put(s, `/main/log/${name}`, log, { "content-type": "text/html" });
    assert.equal(r.status, 204, await r.text());
    const blob = createHash("sha256").update(log).digest("hex");
    assert.ok(existsSync(join(s.data, "blobs", blob.slice(0, 2), blob)), "the log is a blob");
    const got = await fetch(`${s.srv.url}/main/log/${name}`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(got.headers.get("x-content-type-options"), "nosniff");
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(log));

    const big = `${"b".repeat(32)}-big.drv`;
    const tooBig = await put(s, `/main/log/${big}`, Buffer.alloc(2 << 20, "x"));
    assert.equal(tooBig.status, 413);
    assert.match(await tooBig.text(), /build log exceeds the limit of 1048576 bytes/);
    assert.equal((await fetch(`${s.srv.url}/main/log/${big}`)).status, 404);
    assert.equal(readdirSync(join(s.data, "tmp")).length, 0, "nothing of it is kept");

    const u = await makeUpload("listed");
    assert.equal((await push(s, u)).status, 204);
    const ls = await put(s, `/main/${u.hash}.ls`, '{"version":1,"root":{"type":"directory","entries":{}}}', {
      "content-type": "text/html",
    });
    assert.equal(ls.status, 204);
    const gotLs = await fetch(`${s.srv.url}/main/${u.hash}.ls`);
    assert.equal(gotLs.headers.get("content-type"), "application/json");
    assert.equal(gotLs.headers.get("x-content-type-options"), "nosniff");
  });
});

describe("item 6: xz is validated as Nix decodes it", () => {
  test("invalid stream padding is refused (as xz -t refuses it); valid padding is accepted and Nix unpacks it", async () => {
    requireNix();
    const s = await setUp("xz");
    const u = await makeUpload("xzpad", "xz");
    const xzTest = (b: Buffer) => {
      try {
        nixSync("xz", ["-t"], b);
        return true;
      } catch {
        return false;
      }
    };
    const variants = [
      { what: "3 bytes of padding", file: Buffer.concat([u.file, Buffer.alloc(3)]), valid: false },
      { what: "garbage after the stream", file: Buffer.concat([u.file, Buffer.from("junk")]), valid: false },
      { what: "4 bytes of padding", file: Buffer.concat([u.file, Buffer.alloc(4)]), valid: true },
    ];
    for (const v of variants) {
      assert.equal(xzTest(v.file), v.valid, `xz -t on ${v.what}`);
      const digest = createHash("sha256").update(v.file).digest();
      const url = `nar/${nix32Encode(digest)}.nar.xz`;
      const r = await put(s, `/main/${url}`, v.file);
      assert.equal(r.status, v.valid ? 204 : 400, `${v.what}: ${await r.text()}`);
      if (!v.valid) continue;
      const ni = {
        ...u.narinfo,
        url,
        fileHash: { algo: "sha256" as const, digest },
        fileSize: v.file.length,
      };
      assert.equal((await put(s, `/main/${u.hash}.narinfo`, formatNarInfo(ni))).status, 204);
      // Nix itself downloads and decompresses the NAR (its own xz decoder) to read a file of it.
      await nixAsync("nix", ["store", "cat", "--store", `${s.srv.url}/main`, `${u.storePath}/bin/hello`]);
    }
  });
});

describe("items 8, 9: content-named NARs; normalised narinfos", () => {
  test("a NAR under a URL that is not its content's is refused; the honest upload then works", async () => {
    const s = await setUp("squat");
    const honest = await makeUpload("honest");
    const squatter = await makeUpload("squatter");
    const r = await put(s, `/main/${honest.url}`, squatter.file);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /is not named by its content: a NAR with this content belongs at nar\//);
    assert.equal((await push(s, honest)).status, 204);
  });

  test("References are sorted and de-duplicated before signing; a bad CA and invalid UTF-8 are refused", async () => {
    const s = await setUp("narinfo");
    const a = `${"a".repeat(32)}-a`;
    const b = `${"b".repeat(32)}-b`;
    const u = await makeUpload("refs");
    // Present for the closure rule without being pushed: served by an upstream.
    await s.srv.meta.markUpstream("main", [a.slice(0, 32), b.slice(0, 32)]);
    const text = narInfoText(u.narinfo).replace(/^References: .*$/m, `References: ${b} ${a} ${b}`);
    const r = await push(s, u, text);
    assert.equal(r.status, 204, await r.text());
    const served = await (await fetch(`${s.srv.url}/main/${u.hash}.narinfo`)).text();
    assert.match(served, new RegExp(`^References: ${a} ${b}$`, "m"));
    assert.deepEqual(verifyNarInfo(parseNarInfo(served), [parsePublicKey(s.key)]), ["main-1"]);

    const u2 = await makeUpload("ca");
    const badCa = `${narInfoText(u2.narinfo)}CA: fixed:sha256:nothash\n`;
    const rCa = await push(s, u2, badCa);
    assert.equal(rCa.status, 400);
    assert.match(await rCa.text(), /invalid content address "fixed:sha256:nothash"/);
    const bytes = Buffer.concat([
      Buffer.from(narInfoText(u2.narinfo)),
      Buffer.from([0x58, 0x3a, 0x20, 0xff, 0x0a]),
    ]);
    const rUtf = await put(s, `/main/${u2.hash}.narinfo`, bytes);
    assert.equal(rUtf.status, 400);
    assert.match(await rUtf.text(), /narinfo is not valid UTF-8/);
    assert.equal((await fetch(`${s.srv.url}/main/${u2.hash}.narinfo`)).status, 404);
  });
});

describe("item 11: listings escape control characters", () => {
  test("token list shows a description's ESC and CR/LF escaped", async () => {
    const data = join(dir, "listing");
    await adminCreateCache(data, { name: "main", isPublic: true, priority: 41 });
    await adminCreateToken(data, {
      cache: "main",
      perm: "read",
      expiresAt: null,
      description: "nice\u001b[2J\u001b[31mred\r\nforged line\u009b",
    });
    const r = await runCli(["token", "list", "--data", data]);
    assert.equal(r.code, 0, r.stderr);
    const controls = [...r.stdout].filter((c) => c !== "\t" && c !== "\n" && isControl(c.charCodeAt(0)));
    assert.deepEqual(controls, [], JSON.stringify(r.stdout));
    assert.equal(r.stdout.split("\n").length, 2, "one line per token");
    assert.match(r.stdout, /nice\\x1b\[2J\\x1b\[31mred\\x0d\\x0aforged line\\x9b$/m);
  });
});

describe("item 12: periodic sweeps and the per-token limit on open uploads", () => {
  test("while the server runs, stale uploads, NARs without narinfo and unnamed blobs are swept; open uploads per token are limited", async () => {
    const s = await setUp("sweep", {
      sweepIntervalMs: 100,
      orphanGraceMs: 1000,
      staleUploadMs: 1500,
      maxOpenUploads: 2,
    });
    const api = apiClient(`${s.srv.url}/api/v1`);
    const blobs = () =>
      readdirSync(join(s.data, "blobs")).flatMap((d) => readdirSync(join(s.data, "blobs", d)));
    const orphan = await makeUpload("orphan");
    assert.equal((await put(s, `/main/${orphan.url}`, orphan.file)).status, 204);
    assert.equal(blobs().length, 1);
    const up = await api.startUpload(orphan, s.write, [orphan.file], "main");
    const second = await api.call("POST", "/cache/main/multipart-nar?compression=zst", s.write);
    assert.equal(second.status, 200);
    const third = await api.call("POST", "/cache/main/multipart-nar?compression=zst", s.write);
    assert.equal(third.status, 429);
    assert.match((third.json as { error: string }).error, /this token has 2 multipart uploads open/);
    assert.doesNotMatch(third.text, /tok_/);
    await until("the NAR no narinfo named and its blob are swept", () => blobs().length === 0);
    await until(
      "the stale upload is aborted and its parts removed",
      () => !existsSync(join(s.data, "multipart", up.narId)),
    );
    const done = await api.call("POST", `${up.base}/complete?uploadId=${up.uploadId}`, s.write, {
      parts: up.parts,
      narInfoCreate: narInfoCreateFor(orphan),
    });
    assert.equal(done.status, 409);
    const fourth = await api.call("POST", "/cache/main/multipart-nar?compression=zst", s.write);
    assert.equal(fourth.status, 200, "swept uploads no longer count");
  });
});

describe("items 13-16: 100-continue, --public-url, no enumeration, ranges, parts: null", () => {
  test("Expect: 100-continue is answered only after authorization", async () => {
    const s = await setUp("continue");
    const u = await makeUpload("continue");
    const head = (auth: string) =>
      `PUT /main/${u.url} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${u.file.length}\r\nExpect: 100-continue\r\n\r\n`;
    const anon = await raw(s.srv.url, head(""));
    await until("answered", () => anon.received().includes("\r\n\r\n"));
    assert.match(anon.received(), /^HTTP\/1\.1 401 /, "401 first, no 100 Continue");
    assert.match(anon.received(), /connection: close/i);
    anon.socket.destroy();
    const ok = await raw(s.srv.url, head(`Authorization: Bearer ${s.write}\r\n`));
    await until("continued", () => ok.received().includes("\r\n\r\n"));
    assert.match(ok.received(), /^HTTP\/1\.1 100 Continue\r\n/);
    ok.socket.write(u.file);
    await until("stored", () => /HTTP\/1\.1 204/.test(ok.received()));
    ok.socket.destroy();
  });

  test("URLs handed out come from --public-url (default the listen address), never from Host", async () => {
    const getWithHost = (url: string, token: string) =>
      new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          url,
          { headers: { host: "evil.example", authorization: `Bearer ${token}` } },
          (res) => {
            let b = "";
            res.on("data", (d) => {
              b += d;
            });
            res.on("end", () => resolve(b));
          },
        );
        req.on("error", reject);
        req.end();
      });
    const plain = await setUp("public-default");
    const dflt = JSON.parse(await getWithHost(`${plain.srv.url}/api/v1/cache/main`, plain.read));
    assert.equal(dflt.uri, `${plain.srv.url}/main`);
    const s = await setUp("public-url", { publicUrl: "https://cache.example.org" });
    const info = JSON.parse(await getWithHost(`${s.srv.url}/api/v1/cache/main`, s.read));
    assert.equal(info.uri, "https://cache.example.org/main");
    const api = apiClient(`${s.srv.url}/api/v1`);
    const created = await api.call("POST", "/cache/main/multipart-nar?compression=zst", s.write);
    const { narId, uploadId } = created.json as { narId: string; uploadId: string };
    const part = await api.call(
      "POST",
      `/cache/main/multipart-nar/${narId}?uploadId=${uploadId}&partNumber=1`,
      s.write,
      {
        contentMD5: createHash("md5").update("x").digest("base64"),
      },
    );
    assert.match(
      (part.json as { uploadUrl: string }).uploadUrl,
      /^https:\/\/cache\.example\.org\/api\/v1\/upload\//,
    );
  });

  test("a private cache and an unknown one answer alike to callers without access; errors name no token id; bytes=9-3 is ignored", async () => {
    const s = await setUp("enum");
    const text = async (r: Response) => ({
      status: r.status,
      body: (await r.text()).replace(/secret|nope/g, "X"),
    });
    for (const headers of [{}, { authorization: `Bearer ${s.read}` }] as Array<Record<string, string>>) {
      const priv = await text(await fetch(`${s.srv.url}/secret/nix-cache-info`, { headers }));
      const unknown = await text(await fetch(`${s.srv.url}/nope/nix-cache-info`, { headers }));
      assert.deepEqual(priv, unknown);
      assert.equal(priv.status, 401);
      const apiPriv = await text(await fetch(`${s.srv.url}/api/v1/cache/secret`, { headers }));
      const apiUnknown = await text(await fetch(`${s.srv.url}/api/v1/cache/nope`, { headers }));
      assert.deepEqual(apiPriv, apiUnknown);
    }
    const revoked = await adminCreateToken(s.data, { cache: "main", perm: "write", expiresAt: null });
    await adminRevokeToken(s.data, revoked.row.id);
    const r = await fetch(`${s.srv.url}/main/nix-cache-info`, {
      headers: { authorization: `Bearer ${revoked.token}` },
    });
    assert.equal(r.status, 401);
    const body = await r.text();
    assert.match(body, /revoked/);
    assert.ok(!body.includes(revoked.row.id), body);
    const wrongPerm = await fetch(`${s.srv.url}/main/nix-cache-info`, {
      method: "PUT",
      body: "StoreDir: /nix/store\n",
      headers: { authorization: `Bearer ${s.read}` },
    });
    assert.doesNotMatch(await wrongPerm.text(), /tok_/);

    const u = await makeUpload("range", "none", 100);
    assert.equal((await push(s, u)).status, 204);
    const ranged = await fetch(`${s.srv.url}/main/${u.url}`, { headers: { range: "bytes=9-3" } });
    assert.equal(ranged.status, 200);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(u.file));
  });

  test("complete with parts: null assembles the parts the server stored", async () => {
    const s = await setUp("nullparts");
    const api = apiClient(`${s.srv.url}/api/v1`);
    const u = await makeUpload("null-parts", "zstd", 300_000);
    const pieces = [u.file.subarray(0, 100_000), u.file.subarray(100_000)];
    const up = await api.startUpload(u, s.write, pieces, "main");
    const done = await api.call("POST", `${up.base}/complete?uploadId=${up.uploadId}`, s.write, {
      parts: null,
      narInfoCreate: narInfoCreateFor(u),
    });
    assert.equal(done.status, 200, done.text);
    const ni = await fetch(`${s.srv.url}/main/${u.hash}.narinfo`);
    assert.equal(ni.status, 200);
    assert.equal(parseNarInfo(await ni.text()).narSize, u.nar.length);
  });
});

describe("issue 30, item 16: a stalled download is cut at --stall-timeout, not up to twice it", () => {
  test("item 16: a client that stops reading is cut after the timeout, well before twice it", async () => {
    // Node's own idle timer lets a write the kernel took part of count as activity at the first
    // expiry, which doubled the wait; the no-progress timeout is now the server's own.
    const timeoutMs = 2000;
    const s = await setUp("stall-once", { noProgressTimeoutMs: timeoutMs });
    const u = await makeUpload("stall-once", "none", 8 << 20);
    assert.equal((await push(s, u)).status, 204);
    await until("idle connections are gone", async () => (await connections(s.srv)) === 0);
    const c = await raw(s.srv.url, `GET /main/${u.url} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until("the download has started", () => c.received().length > 0);
    c.socket.pause();
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, timeoutMs / 2));
    assert.equal(await connections(s.srv), 1, "not cut before the timeout");
    await until(
      "the stalled download was cut",
      async () => (await connections(s.srv)) === 0,
      Math.ceil((3 * timeoutMs) / 50),
    );
    const after = Date.now() - stoppedAt;
    // The kernel's buffers fill within milliseconds on loopback; the margin is for a busy machine.
    assert.ok(
      after < 1.75 * timeoutMs,
      `cut ${after} ms after the client stopped reading (timeout ${timeoutMs} ms)`,
    );
    c.socket.destroy();
  });
});

describe("issue 30, item 6: a cap on connections of all clients together", () => {
  test("item 6: at --max-connections the longest-idle connection is closed for a new client; all busy, a new one is answered 503", async () => {
    const s = await setUp("global-cap", { maxConnections: 4, maxConnectionsPerClient: 0 });
    // Four idle connections, opened one after the other: the first is the longest idle.
    const idle: Array<{ socket: Socket; received: () => string; closed: () => boolean }> = [];
    for (let i = 0; i < 4; i++) {
      const c = await raw(s.srv.url, "");
      let closed = false;
      c.socket.on("close", () => {
        closed = true;
      });
      idle.push({ ...c, closed: () => closed });
      await until(`connection ${i + 1} is held`, async () => (await connections(s.srv)) === i + 1);
    }
    const fresh = await raw(s.srv.url, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await until("the new client is answered", () => fresh.received().includes("\r\n\r\n"));
    assert.match(fresh.received(), /^HTTP\/1\.1 200 /);
    await until("the longest-idle connection was closed", () => idle[0]?.closed() === true);
    assert.deepEqual(
      idle.map((c) => c.closed()),
      [true, false, false, false],
      "only the longest idle went",
    );
    assert.ok((await connections(s.srv)) <= 4);
    for (const c of idle) c.socket.destroy();
    fresh.socket.destroy();
    await until("all closed", async () => (await connections(s.srv)) === 0);

    // Four connections each in a request (an upload whose body is awaited): none is idle.
    const u = await makeUpload("global-cap", "none", 1000);
    const busy = await Promise.all(
      [1, 2, 3, 4].map(() =>
        raw(
          s.srv.url,
          `PUT /main/${u.url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.write}\r\n` +
            `Content-Length: ${u.file.length}\r\n\r\n`,
        ),
      ),
    );
    await until("four uploads are held", async () => (await connections(s.srv)) === 4);
    await new Promise((r) => setTimeout(r, 100));
    const refused = await raw(s.srv.url, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await until("the new client is answered", () => refused.received().includes("\r\n\r\n"));
    assert.match(refused.received(), /^HTTP\/1\.1 503 /);
    assert.match(refused.received(), /\r\nretry-after: 1\r\n/i);
    assert.match(refused.received(), /at its limit of 4 connections/);
    for (const b of busy) assert.equal(b.received(), "", "the busy uploads are untouched");
    for (const b of busy) b.socket.destroy();
    refused.socket.destroy();
  });
});

/** A system error as node:fs gives it when the disk is full. */
function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error("ENOSPC: no space left on device, write"), {
    code: "ENOSPC",
    errno: -28,
    syscall: "write",
  });
}

/** A real SQLITE_FULL, from SQLite itself: a database held to one page more than it has. */
function sqliteFull(): Error {
  const db = new Database(":memory:");
  try {
    db.exec("CREATE TABLE t (x BLOB)");
    db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true })}`);
    db.prepare("INSERT INTO t VALUES (?)").run(Buffer.alloc(64 * 1024));
  } catch (e) {
    return e as Error;
  } finally {
    db.close();
  }
  throw new Error("SQLite did not fill up");
}

describe("issue 30, item 8: a full disk is the server's condition, said to client and operator", () => {
  test("item 8: blob storage or database full answers 507 with Retry-After, logs it, and recovers once there is room", async () => {
    const events: string[] = [];
    const s = await setUp("full", { eventLog: (l) => events.push(l) });
    // The real fs backend, whose writes fail as a full disk's do until space is "freed".
    let diskFull = true;
    const stage = s.srv.storage.stageBlob.bind(s.srv.storage);
    s.srv.storage.stageBlob = async () => {
      const staged = await stage();
      const write = staged.write.bind(staged);
      staged.write = async (chunk) => {
        if (diskFull) throw enospc();
        return write(chunk);
      };
      return staged;
    };
    const u = await makeUpload("full", "zstd", 100_000);
    const nar = await put(s, `/main/${u.url}`, u.file);
    assert.equal(nar.status, 507, await nar.clone().text());
    assert.equal(nar.headers.get("retry-after"), "30");
    assert.match(await nar.text(), /the server's storage is out of space: try again later/);
    assert.ok(
      events.some((l) => /"level":"error"/.test(l) && /ENOSPC/.test(l)),
      `the operator is told: ${events.join("\n")}`,
    );
    const log = await put(s, `/main/log/${"c".repeat(32)}-full.drv`, "build output\n");
    assert.equal(log.status, 507, "a build log too");

    // The database full (SQLite's own error) while a NAR is recorded.
    diskFull = false;
    const recordNar = s.srv.meta.recordNar.bind(s.srv.meta);
    s.srv.meta.recordNar = async () => {
      throw sqliteFull();
    };
    const dbFull = await put(s, `/main/${u.url}`, u.file);
    assert.equal(dbFull.status, 507, await dbFull.clone().text());
    assert.equal(dbFull.headers.get("retry-after"), "30");
    assert.match(await dbFull.text(), /the server's database is out of space/);
    assert.ok(events.some((l) => /database or disk is full/.test(l)));

    // Space freed: the same push goes through, no restart.
    s.srv.meta.recordNar = recordNar;
    assert.equal((await push(s, u)).status, 204);
    assert.equal((await fetch(`${s.srv.url}/main/${u.hash}.narinfo`)).status, 200);
  });

  test("item 8: serve --quiet drops request lines, never errors", async () => {
    const data = join(dir, "quiet");
    const key = (await adminCreateCache(data, { name: "main", isPublic: true, priority: 41 })).publicKey;
    const write = (await adminCreateToken(data, { cache: "main", perm: "write", expiresAt: null })).token;
    // An upstream nobody listens on: asking it about a missing reference is an error to log.
    const server = await serve(data, [
      "--quiet",
      "--upstream",
      "http://127.0.0.1:1/main",
      "--upstream-key",
      key,
    ]);
    try {
      const lib = await makeUpload("quiet-lib");
      const app = await makeUpload("quiet-app");
      app.narinfo.references = [lib.storePath.slice("/nix/store/".length)];
      for (const [path, body] of [
        [`/main/${app.url}`, app.file],
        [`/main/${app.hash}.narinfo`, narInfoText(app.narinfo)],
      ] as const) {
        const r = await fetch(`${server.url}${path}`, {
          method: "PUT",
          body: typeof body === "string" ? body : new Uint8Array(body),
          headers: { authorization: `Bearer ${write}` },
        });
        assert.equal(r.status, 204, await r.text());
      }
      await until("the error is logged under --quiet", () =>
        /"level":"error".*upstream http:\/\/127\.0\.0\.1:1\/main could not be asked/.test(server.stderr()),
      );
      assert.doesNotMatch(server.stderr(), /"method":/, "no request lines");
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });
});
