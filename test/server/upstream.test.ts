// The closure rule with upstream caches: a narinfo whose references an upstream serves (signed
// by the upstream's trusted key) is released once the server has asked the upstream; one whose
// upstream signature does not verify, or whose upstream cannot be reached, stays hidden.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { nix32Encode } from "../../src/nix/nix32.js";
import { formatPublicKey, generateSecretKey, publicKeyOf } from "../../src/nix/signing.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/server.js";
import { UpstreamResolver } from "../../src/server/upstreams.js";
import { makeUpload, narInfoText, type Upload, waitFor } from "../helpers/uploads.js";

let dir: string;
let upstream: { url: string; token: string; key: string };
const upstreamLog: string[] = [];
const servers: RunningServer[] = [];

const base = (u: Upload) => u.storePath.slice("/nix/store/".length);

async function put(url: string, body: Buffer | string, token: string): Promise<void> {
  const r = await fetch(url, {
    method: "PUT",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 204, await r.text());
}

async function pushTo(s: { url: string; token: string }, u: Upload): Promise<void> {
  await put(`${s.url}/main/${u.url}`, u.file, s.token);
  await put(`${s.url}/main/${u.hash}.narinfo`, narInfoText(u.narinfo), s.token);
}

/** A server with cache `main` and a write token for it. */
async function server(tag: string, opts: Partial<ServerOptions> = {}) {
  const data = join(dir, tag);
  const key = (await adminCreateCache(data, { name: "main", isPublic: true, priority: 30 })).publicKey;
  const token = (await adminCreateToken(data, { cache: "main", perm: "write", expiresAt: null })).token;
  const srv = await startServer({ dataDir: data, port: 0, ...opts });
  servers.push(srv);
  return { srv, url: srv.url, token, key };
}

const status = async (url: string) => (await fetch(url)).status;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "nixcache-upstream-"));
  upstream = await server("upstream", { upstreams: [], log: (l) => upstreamLog.push(l) });
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

test("references an upstream serves (signed by its key) release the narinfo that waits for them", async () => {
  const lib = await makeUpload("up-lib");
  await pushTo(upstream, lib);
  const down = await server("down", { upstreams: [{ url: `${upstream.url}/main`, keys: [upstream.key] }] });
  const app = await makeUpload("down-app");
  app.narinfo.references = [base(lib), base(app)];
  await pushTo(down, app);
  await waitFor(async () => (await status(`${down.url}/main/${app.hash}.narinfo`)) === 200);
  // The upstream's path itself is not served here: only counted as present.
  assert.equal(await status(`${down.url}/main/${lib.hash}.narinfo`), 404);
});

test("an upstream narinfo signed by a key not trusted, or an unreachable upstream, releases nothing", async () => {
  const lib = await makeUpload("up-lib-2");
  await pushTo(upstream, lib);
  const other = formatPublicKey(publicKeyOf(generateSecretKey("someone-else-1")));
  const wrongKey = await server("wrong-key", { upstreams: [{ url: `${upstream.url}/main`, keys: [other] }] });
  const unreachable = await server("unreachable", {
    upstreams: [{ url: "http://127.0.0.1:1/main", keys: [upstream.key] }],
  });
  for (const s of [wrongKey, unreachable]) {
    const app = await makeUpload("app-2");
    app.narinfo.references = [base(lib)];
    await pushTo(s, app);
    // Asked, answered, and still hidden.
    if (s === wrongKey)
      await waitFor(() =>
        upstreamLog.some((l) => l.includes(`${lib.hash}.narinfo`) && l.includes('"status":200')),
      );
    else await waitFor(async () => (await s.srv.meta.pendingReferences("main", 10)).length === 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await status(`${s.url}/main/${app.hash}.narinfo`), 404);
    // Pushing the reference itself releases it, whatever the upstream says.
    await pushTo(s, lib);
    assert.equal(await status(`${s.url}/main/${app.hash}.narinfo`), 200);
  }
});

/**
 * An upstream in front of `upstream` that answers at once about `fast` hashes and after `slowMs`
 * (404) about any other: a slow cache.nixos.org, as seen by a flood of references it lacks.
 */
async function slowUpstream(slowMs: number, fast: Set<string>) {
  let asked = 0;
  const server = createServer((req, res) => {
    asked++;
    const hash = /\/([0-9a-z]{32})\.narinfo$/.exec(req.url ?? "")?.[1] ?? "";
    if (fast.has(hash))
      void fetch(`${upstream.url}${req.url}`).then(async (r) => {
        res.writeHead(r.status, { "content-type": "text/x-nix-narinfo" });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    else
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(404).end();
      }, slowMs).unref();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    asked: () => asked,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A made-up store path base name (a hash no cache has). */
const madeUp = () => `${nix32Encode(randomBytes(20))}-flood`;

test("item 3: a backlog of upstream lookups neither hides a fresh narinfo nor holds up shutdown", {
  timeout: 120_000,
}, async () => {
  const lib = await makeUpload("up-lib-3");
  await pushTo(upstream, lib);
  const slow = await slowUpstream(2000, new Set([lib.hash]));
  const down = await server("backlog", {
    upstreams: [{ url: `${slow.url}/main`, keys: [upstream.key] }],
  });
  servers.splice(servers.indexOf(down.srv), 1);
  try {
    // 10 narinfos of 100 references no upstream has: 1,000 lookups of 2 s, 8 at a time (250 s).
    for (let i = 0; i < 10; i++) {
      const flood = await makeUpload(`flood-${i}`);
      flood.narinfo.references = Array.from({ length: 100 }, madeUp);
      await pushTo(down, flood);
    }
    await waitFor(() => slow.asked() >= 8);
    // An honest narinfo pushed after them is released as soon as its own reference is asked about.
    const app = await makeUpload("honest-app");
    app.narinfo.references = [base(lib)];
    await pushTo(down, app);
    await waitFor(async () => (await status(`${down.url}/main/${app.hash}.narinfo`)) === 200, 15_000);

    // Shutdown does not wait for the backlog: what is asked is aborted, what is queued dropped
    // (the flood's references stay pending in the database, for the next start's recheck).
    const closed = down.srv.close().then(() => "closed");
    const outcome = await Promise.race([
      closed,
      new Promise((r) => setTimeout(() => r("still open"), 10_000)),
    ]);
    assert.equal(outcome, "closed", "close() returned while 1,000 lookups of 2 s were queued");
    const asked = slow.asked();
    assert.ok(asked < 100, `only what the time allowed was asked (${asked} of 1,000)`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(slow.asked(), asked, "nothing is asked after close");
  } finally {
    await slow.close();
    await down.srv.close();
  }
});

test("item 3: the lookup queue is de-duplicated and bounded; the oldest overflow is left to the recheck", async () => {
  // An upstream that never answers: every lookup hangs until the resolver closes.
  const hung = createServer(() => {});
  await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
  const marked: string[] = [];
  const resolver = new UpstreamResolver(
    {
      markUpstream: async (_cache: string, hashes: string[]) => {
        marked.push(...hashes);
        return 0;
      },
      pendingReferences: async () => [],
    } as unknown as ConstructorParameters<typeof UpstreamResolver>[0],
    [{ url: `http://127.0.0.1:${(hung.address() as AddressInfo).port}/main`, keys: [upstream.key] }],
    { maxQueued: 1000 },
  );
  try {
    let n = 0;
    const hash = () => (n++).toString(32).padStart(32, "0");
    const shared = Array.from({ length: 200 }, hash);
    resolver.enqueue("a", shared);
    resolver.enqueue("b", shared);
    // 8 are being asked about; the rest wait, once each whatever the caches asking.
    assert.equal(resolver.queued, 192);
    // 1,000 narinfos of 200 references: the queue keeps the newest 1,000.
    for (let i = 0; i < 1000; i++) resolver.enqueue("a", Array.from({ length: 200 }, hash));
    assert.equal(resolver.queued, 1000);
    assert.equal(resolver.dropped, 192 + 200_000 - 1000);
  } finally {
    const closed = resolver.close().then(() => "closed");
    const outcome = await Promise.race([
      closed,
      new Promise((r) => setTimeout(() => r("still open"), 10_000)),
    ]);
    hung.closeAllConnections();
    hung.close();
    assert.equal(outcome, "closed", "close() aborts the hung lookups");
  }
  assert.deepEqual(marked, []);
});
