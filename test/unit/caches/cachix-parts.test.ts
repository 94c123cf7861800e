// The cachix:// backend's multipart upload with many parts per NAR and several NARs in flight:
// every byte arrives (the server verifies each NAR before it commits, and real Nix substitutes
// what was pushed), while the part buffers held at once stay within the shared budget.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { CachixCache } from "../../../src/caches/cachix/cache.js";
import { push } from "../../../src/push/push.js";
import { adminCreatePersonalToken } from "../../../src/server/admin.js";
import { startServer } from "../../../src/server/server.js";
import { buildTrivial, nixSync, requireNix, tempDir } from "../../helpers/nix.js";

test("multipart push: many parts per NAR, 6 NARs at once, part memory within its budget", async () => {
  requireNix();
  const dir = tempDir("nixcache-cachix-parts-");
  const srv = await startServer({ dataDir: dir.path, port: 0 });
  const token = (await adminCreatePersonalToken(dir.path, { account: "parts", expiresAt: null })).token;
  const partSize = 64 * 1024;
  const budget = 3 * partSize;
  const cache = new CachixCache("parts", {
    apiUrl: `${srv.url}/api/v1`,
    token,
    partSize,
    partMemory: budget,
  });
  try {
    await cache.api.createCache("parts", { isPublic: true, generateSigningKey: true });
    // Incompressible NARs of ~0.5 MiB (8+ parts each), plus an empty-ish one.
    const tag = `${process.pid}-${Date.now()}`;
    const paths = Array.from({ length: 6 }, (_, i) =>
      buildTrivial(`parts-${i}-${tag}`, "head -c 500000 /dev/urandom > $out"),
    );
    paths.push(buildTrivial(`parts-small-${tag}`, "echo small > $out"));

    let peak = 0;
    let sampling = true;
    const sample = () => {
      peak = Math.max(peak, cache.buffers.reserved);
      if (sampling) setImmediate(sample);
    };
    sample();
    const summary = await push(cache, paths, { jobs: 6 });
    sampling = false;
    assert.deepEqual(summary.failed, []);
    assert.equal(summary.pushed.length, paths.length);
    assert.ok(peak > 0, "part buffers were used");
    assert.ok(peak <= budget, `part buffers held at once: ${peak} bytes, budget ${budget}`);
    assert.equal(cache.buffers.reserved, 0, "every part buffer was given back");

    // Real Nix substitutes them from the server (the narinfos are signed by the cache's key).
    const key = (await cache.describe()).publicSigningKeys[0] ?? "";
    for (const p of paths) nixSync("nix-store", ["--delete", p]);
    // Not execFileSync: the server answering Nix runs in this process.
    await promisify(execFile)("nix-store", [
      "-r",
      ...paths,
      "--option",
      "substituters",
      `${srv.url}/parts`,
      "--option",
      "trusted-public-keys",
      key,
      "--option",
      "narinfo-cache-negative-ttl",
      "0",
    ]);
  } finally {
    await cache.close();
    await srv.close();
    dir.cleanup();
  }
});
