// Pushing through an unreliable server: retries, exact failure reports, interruption, and a
// second run that finishes the job. The cache must be consistent after every run.
import assert from "node:assert/strict";
import { access, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Faults, startCacheServer } from "../../../bench/push/http-cache-server.js";
import { openCache } from "../../../src/caches/open.js";
import { queryPathInfos } from "../../../src/local-nix/path-info.js";
import { parseNarInfo } from "../../../src/nix/narinfo.js";
import { nix32Encode } from "../../../src/nix/nix32.js";
import { parseSecretKey } from "../../../src/nix/signing.js";
import { type PushSummary, push } from "../../../src/push/push.js";
import {
  buildClosure,
  deletePaths,
  generateKey,
  isValid,
  substitute,
  type TestClosure,
  tempDir,
} from "../../helpers/closures.js";

const FAST_RETRY = { baseMs: 5, capMs: 50, attempts: 6 };

/** Every narinfo's NAR is stored and every reference has a narinfo: what a reader relies on. */
async function assertConsistent(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith(".narinfo"));
  const have = new Set(names.map((n) => n.slice(0, 32)));
  for (const n of names) {
    const ni = parseNarInfo(await readFile(join(dir, n), "utf8"));
    await access(join(dir, ni.url));
    for (const r of ni.references)
      assert.ok(have.has(r.slice(0, 32)), `${n} refers to ${r}, which is missing`);
  }
  return names.map((n) => n.slice(0, 32)).sort();
}

const hashes = (paths: readonly string[]) => paths.map((p) => p.slice(11, 43)).sort();

describe("push through faults", () => {
  let c: TestClosure;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let key: { secretFile: string; publicKey: string };
  let n = 0;
  before(async () => {
    tmp = await tempDir("nixcache-faults-");
    key = await generateKey(tmp.dir, "faults-1");
    c = await buildClosure();
  });
  after(async () => {
    await deletePaths(c.all);
    await tmp.cleanup();
  });

  async function pushVia(
    faults: Faults,
    opts: { signal?: AbortSignal; onPushed?: () => void; dir?: string } = {},
  ): Promise<{ summary: PushSummary; dir: string; url: string; close: () => Promise<void> }> {
    const dir = opts.dir ?? join(tmp.dir, `cache-${n++}`);
    const server = await startCacheServer({ dir, faults });
    const cache = await openCache(server.url, { retry: FAST_RETRY });
    const signingKey = parseSecretKey(await readFile(key.secretFile, "utf8"));
    try {
      const summary = await push(cache, [c.top, c.lone], {
        jobs: 3,
        signingKey,
        signal: opts.signal,
        onEvent: (e) => {
          if (e.type === "pushed") opts.onPushed?.();
        },
      });
      return { summary, dir, url: server.url, close: () => server.close() };
    } finally {
      await cache.close();
      if (!opts.signal) await server.close();
    }
  }

  test("every third request failing with 500: completes, and Nix substitutes the result", async () => {
    const dir = join(tmp.dir, "flaky");
    const { summary } = await pushVia({ failEvery: 3 }, { dir });
    assert.deepEqual(summary.failed, []);
    assert.equal(summary.pushed.length, 5);
    assert.deepEqual(await assertConsistent(dir), hashes(c.all));
    // Serve it healthy and let Nix fetch it.
    const server = await startCacheServer({ dir });
    try {
      await deletePaths(c.all);
      await substitute(c.top, server.url, key.publicKey);
      await substitute(c.lone, server.url, key.publicKey);
      for (const p of c.all) assert.equal(await isValid(p), true, p);
    } finally {
      await server.close();
    }
  });

  test("connections dropped mid-upload: completes", async () => {
    const r = await pushVia({ dropUploadEvery: 2 });
    assert.deepEqual(r.summary.failed, []);
    assert.equal(r.summary.pushed.length, 5);
    assert.deepEqual(await assertConsistent(r.dir), hashes(c.all));
  });

  test("429 with Retry-After: completes", async () => {
    const r = await pushVia({ rateLimitEvery: 4, retryAfterSeconds: 1 });
    assert.deepEqual(r.summary.failed, []);
    assert.deepEqual(await assertConsistent(r.dir), hashes(c.all));
  });

  test("a NAR the server always refuses: exactly that path and its dependents fail; a second run finishes", async () => {
    const [leafInfo] = await queryPathInfos([c.leaf]);
    const leafNar = `nar/${nix32Encode(leafInfo?.narHash.digest ?? Buffer.alloc(32))}`;
    const dir = join(tmp.dir, "refusing");
    const first = await pushVia({ failPuts: (rel) => rel.startsWith(leafNar) }, { dir });
    const failed = new Map(first.summary.failed.map((f) => [f.path, f.error]));
    assert.deepEqual([...failed.keys()].sort(), [c.leaf, c.mid, c.top].sort());
    assert.match(failed.get(c.leaf) ?? "", /HTTP 500: injected failure/);
    assert.match(failed.get(c.mid) ?? "", /reference .*-leaf failed/);
    assert.match(failed.get(c.top) ?? "", /reference .*-mid failed/);
    assert.deepEqual(first.summary.pushed.sort(), [c.tree, c.lone].sort());
    assert.deepEqual(await assertConsistent(dir), hashes([c.tree, c.lone]));

    const second = await pushVia({}, { dir });
    assert.deepEqual(second.summary.failed, []);
    assert.deepEqual(second.summary.pushed.sort(), [c.leaf, c.mid, c.top].sort());
    assert.deepEqual(second.summary.skipped.sort(), [c.tree, c.lone].sort());
    assert.deepEqual(await assertConsistent(dir), hashes(c.all));
  });

  test("interrupted after the first path: consistent, and the next run uploads only the rest", async () => {
    const ac = new AbortController();
    const dir = join(tmp.dir, "interrupted");
    const first = await pushVia(
      {},
      { dir, signal: ac.signal, onPushed: () => ac.abort(new Error("interrupted")) },
    );
    await first.close();
    assert.ok(first.summary.failed.length > 0, "something was left for the second run");
    assert.ok(first.summary.failed.every((f) => f.error === "interrupted"));
    const present = await assertConsistent(dir);
    assert.deepEqual(present, hashes(first.summary.pushed));

    const second = await pushVia({}, { dir });
    assert.deepEqual(second.summary.failed, []);
    assert.deepEqual(second.summary.skipped.sort(), first.summary.pushed.sort());
    assert.deepEqual([...second.summary.pushed, ...first.summary.pushed].sort(), [...c.all].sort());
    assert.deepEqual(await assertConsistent(dir), hashes(c.all));
  });
});
