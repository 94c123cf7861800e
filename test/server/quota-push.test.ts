// Quotas as `nixcache push` and `nixcache build` meet them, with real Nix: a cache over its quota
// refuses every NAR (413, the message naming cache, usage and quota), that cache's push fails with
// the server's reason, and another cache of the same push gets everything.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { adminCreatePersonalToken, adminListCaches, adminUpdateCache } from "../../src/server/admin.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { writeFlake } from "../fixtures/flakes/make-flake.js";
import { runCli } from "../helpers/cli.js";
import { testClock } from "../helpers/clock.js";
import { buildTrivial, requireNix, tempDir } from "../helpers/nix.js";

let dir: { path: string; cleanup(): void };
let srv: RunningServer;
let personal: string;
const clock = testClock();

const QUOTA = /cache "small" is over its quota: it uses 0 B \(0 bytes\) of 0 B \(0 bytes\)/;

before(async () => {
  requireNix();
  dir = tempDir("nixcache-quota-push-");
  const data = path.join(dir.path, "data");
  // One personal token administers both caches, so one NIXCACHE_TOKEN pushes to both.
  personal = (await adminCreatePersonalToken(data, { account: "alice", expiresAt: null })).token;
  srv = await startServer({
    dataDir: data,
    cacheRows: { now: clock.now },
    port: 0,
    upstreams: [],
    gcIntervalMs: 0,
  });
  for (const name of ["big", "small"]) {
    const r = await fetch(`${srv.url}/api/v1/cache/${name}`, {
      method: "POST",
      headers: { authorization: `Bearer ${personal}`, "content-type": "application/json" },
      body: JSON.stringify({ isPublic: true, generateSigningKey: true }),
    });
    assert.equal(r.status, 200, await r.text());
  }
  await adminUpdateCache(data, "small", { quotaBytes: 0 });
  clock.advance(1100); // the server's cache rows live a second
});

after(async () => {
  await srv?.close();
  dir?.cleanup();
});

test("nixcache push: the cache over its quota fails with the server's reason; the other gets the closure", async () => {
  const p = buildTrivial(`quota-push-${Date.now()}`);
  const env = { NIXCACHE_TOKEN: personal };
  const small = await runCli(["push", `${srv.url}/small`, p, "--json"], { env });
  assert.equal(small.code, 1, small.stderr);
  const summary = JSON.parse(small.stdout) as { failed: Array<{ path: string; error: string }> };
  assert.equal(summary.failed[0]?.path, p);
  assert.match(summary.failed[0]?.error ?? "", /HTTP 413/);
  assert.match(summary.failed[0]?.error ?? "", QUOTA);
  assert.ok(!small.stdout.includes(personal) && !small.stderr.includes(personal), "the token is never shown");
  const big = await runCli(["push", `${srv.url}/big`, p], { env });
  assert.equal(big.code, 0, big.stderr);
  const bytes = Object.fromEntries(
    (await adminListCaches(path.join(dir.path, "data"))).map((c) => [c.name, c.bytes]),
  );
  assert.equal(bytes.small, 0, "nothing stored for the cache over its quota");
  assert.ok((bytes.big ?? 0) > 0);
});

test("nixcache build: that cache's push fails, the other cache's succeeds, the build does not fail", async () => {
  const flake = path.join(dir.path, "flake");
  await writeFlake(
    flake,
    `{ packages.x86_64-linux = { one = leaf "x86_64-linux" "q-one"; two = mk "x86_64-linux" "q-two" "echo \${leaf "x86_64-linux" "q-dep"} > $out"; }; }`,
  );
  const [big, small] = [`${srv.url}/big`, `${srv.url}/small`];
  const res = await runCli(["build", "--flake", flake, "--push", big, "--push", small, "--json"], {
    env: { NIXCACHE_TOKEN: personal },
  });
  assert.equal(res.code, 0, res.stderr);
  const r = JSON.parse(res.stdout) as {
    targets: Array<{ attr: string; status: string; push: Record<string, string> }>;
    summary: { caches: Array<{ url: string; status: string; reason?: string }> };
  };
  assert.equal(r.targets.length, 2);
  for (const t of r.targets) {
    assert.equal(t.push[big], "pushed", `${t.attr} reached big`);
    assert.match(t.push[small] ?? "", /^failed: /);
    assert.match(t.push[small] ?? "", /over its quota/);
  }
  assert.equal(r.summary.caches.find((c) => c.url === big)?.status, "ok");
  assert.equal(r.summary.caches.find((c) => c.url === small)?.status, "failed");
  const strict = await runCli(["build", "--flake", flake, "--push", big, "--push", small, "--require-push"], {
    env: { NIXCACHE_TOKEN: personal },
  });
  assert.equal(strict.code, 1, "--require-push makes it fatal");
});
