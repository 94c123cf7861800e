// The closure rule with upstream caches: a narinfo whose references an upstream serves (signed
// by the upstream's trusted key) is released once the server has asked the upstream; one whose
// upstream signature does not verify, or whose upstream cannot be reached, stays hidden.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { formatPublicKey, generateSecretKey, publicKeyOf } from "../src/nix/signing.js";
import { adminCreateCache, adminCreateToken } from "../src/server/admin.js";
import { type RunningServer, type ServerOptions, startServer } from "../src/server/server.js";
import { makeUpload, narInfoText, type Upload, waitFor } from "./server-fixtures.js";

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
