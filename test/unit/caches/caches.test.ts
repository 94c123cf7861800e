// The cache backends against what real Nix writes, and the HTTP client's auth and retries.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { startCacheServer } from "../../../bench/push/http-cache-server.js";
import { FileCache } from "../../../src/caches/file-cache.js";
import { HttpCache } from "../../../src/caches/http-cache.js";
import { openCache } from "../../../src/caches/open.js";
import { decompressor, parseCompression } from "../../../src/codec/compression.js";
import { parseNetrc } from "../../../src/http/netrc.js";
import { parsePathInfoJson, queryPathInfos } from "../../../src/local-nix/path-info.js";
import { formatHashNix32, hashEquals } from "../../../src/nix/hash.js";
import { validateNar } from "../../../src/nix/nar-decode.js";
import { verifyNarInfo } from "../../../src/nix/narinfo.js";
import { parsePublicKey } from "../../../src/nix/signing.js";
import {
  buildClosure,
  deletePaths,
  generateKey,
  sh,
  type TestClosure,
  tempDir,
} from "../../helpers/closures.js";

const fixture = (name: string) => readFile(new URL(`../../fixtures/${name}`, import.meta.url), "utf8");

describe("nix path-info JSON", () => {
  test("the old array shape (Nix 2.8) and the new object shape parse to the same infos", async () => {
    const a = parsePathInfoJson(await fixture("path-info-old-shape.json"));
    const b = parsePathInfoJson(await fixture("path-info-new-shape.json"));
    const norm = (x: typeof a) =>
      x.infos
        .map((i) => ({ ...i, narHash: formatHashNix32(i.narHash) }))
        .sort((p, q) => (p.path < q.path ? -1 : 1));
    assert.deepEqual(norm(a), norm(b));
    assert.deepEqual(a.invalid, ["/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x"]);
    assert.deepEqual(b.invalid, a.invalid);
    const bInfo = norm(a).find((i) => i.path.endsWith("-b"));
    assert.deepEqual(bInfo?.references, ["/nix/store/34fjjmpy392nx9kxf70xa6v9s4yq8p7l-a"]);
    assert.equal(bInfo?.deriver, "/nix/store/7n5wvq51n00830wmwsc63z5ks4mv35mg-b.drv");
    assert.equal(bInfo?.signatures.length, 1);
    assert.match(norm(a).find((i) => i.path.endsWith("package.json"))?.ca ?? "", /^fixed:r:sha256:/);
  });

  test("malformed output is an error naming what is wrong", () => {
    assert.throws(() => parsePathInfoJson("{oops"), /invalid JSON/);
    assert.throws(
      () =>
        parsePathInfoJson(
          '[{"path":"/nix/store/34fjjmpy392nx9kxf70xa6v9s4yq8p7l-a","narHash":"sha256-xx","narSize":1}]',
        ),
      /34fjjmpy392nx9kxf70xa6v9s4yq8p7l-a.*hash/,
    );
    assert.throws(
      () => parsePathInfoJson('[{"path":"/etc/passwd","narHash":"x","narSize":1}]'),
      /\/etc\/passwd/,
    );
  });
});

describe("netrc", () => {
  test("machine, default and macdef entries", () => {
    const e = parseNetrc(
      "machine cache.example.org login nix password s3cret\n\nmacdef init\nmachine ignored password no\n\ndefault password fallback\n",
    );
    assert.deepEqual(e, [
      { machine: "cache.example.org", login: "nix", password: "s3cret" },
      { machine: null, password: "fallback" },
    ]);
  });
});

describe("reading what `nix copy` wrote", () => {
  let c: TestClosure;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let cacheDir: string;
  let publicKey: string;
  before(async () => {
    tmp = await tempDir("nixcache-caches-");
    c = await buildClosure();
    cacheDir = join(tmp.dir, "copied");
    const key = await generateKey(tmp.dir, "copy-test-1");
    publicKey = key.publicKey;
    await sh("nix", [
      "copy",
      "--to",
      `file://${cacheDir}?compression=zstd&secret-key=${key.secretFile}`,
      c.top,
    ]);
  });
  after(async () => {
    await deletePaths(c.all);
    await tmp.cleanup();
  });

  async function checkBackend(cache: FileCache | HttpCache) {
    const info = await cache.cacheInfo();
    assert.equal(info.storeDir, "/nix/store");
    const hashes = c.all.map((p) => p.slice(11, 43));
    const missing = await cache.missing(hashes);
    assert.deepEqual([...missing], [c.lone.slice(11, 43)]);
    const local = await queryPathInfos([c.top], { recursive: true });
    for (const li of local) {
      const ni = await cache.getNarInfo(li.path.slice(11, 43));
      assert.ok(ni, li.path);
      assert.equal(ni.storePath, li.path);
      assert.ok(hashEquals(ni.narHash, li.narHash));
      assert.equal(ni.narSize, li.narSize);
      assert.deepEqual(ni.references, li.references.map((r) => r.slice(11)).sort());
      assert.deepEqual(verifyNarInfo(ni, [parsePublicKey(publicKey)]), ["copy-test-1"]);
      // The NAR it points at decompresses to the registered NAR.
      const file = await cache.readFile(ni.url);
      const nar = Readable.from([file]).pipe(decompressor(parseCompression(ni.compression)));
      const v = await validateNar(nar);
      assert.equal(v.narSize, li.narSize);
      assert.ok(hashEquals(v.narHash, li.narHash));
    }
    assert.equal(await cache.getNarInfo(c.lone.slice(11, 43)), null);
  }

  test("by the file:// backend", async () => {
    const cache = await openCache(`file://${cacheDir}`);
    assert.ok(cache instanceof FileCache);
    await checkBackend(cache);
  });

  test("by the HTTP backend, through a server over the same directory", async () => {
    const server = await startCacheServer({ dir: cacheDir });
    const cache = new HttpCache(`${server.url}/`);
    try {
      assert.equal(cache.url, server.url);
      await checkBackend(cache);
    } finally {
      await cache.close();
      await server.close();
    }
  });

  test("a corrupt narinfo is an error naming the line; bad hashes are refused", async () => {
    const cache = new FileCache(cacheDir);
    const h = c.leaf.slice(11, 43);
    const file = join(cacheDir, `${h}.narinfo`);
    const good = await readFile(file, "utf8");
    try {
      await writeFile(file, good.replace(/^NarSize: .*$/m, "NarSize: lots"));
      await assert.rejects(cache.getNarInfo(h), /line \d+ \(NarSize\)/);
    } finally {
      await writeFile(file, good);
    }
    await assert.rejects(cache.missing(["not-a-hash"]), /not a store path hash/);
  });
});

describe("HTTP client", () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir("nixcache-http-");
    await writeFile(join(tmp.dir, "nix-cache-info"), "StoreDir: /nix/store\nWantMassQuery: 1\n");
  });
  after(() => tmp.cleanup());

  test("Bearer token, netrc Basic, and a clear 401 that does not show the token", async () => {
    const token = "tok-7f3a9c-secret";
    const server = await startCacheServer({ dir: tmp.dir, token });
    try {
      const bearer = await openCache(server.url, { token });
      assert.equal((await bearer.cacheInfo()).storeDir, "/nix/store");
      await bearer.close();

      const netrc = join(tmp.dir, "netrc");
      await writeFile(netrc, `machine 127.0.0.1 login nix password ${token}\n`, { mode: 0o600 });
      const basic = await openCache(`${server.url}/`, { netrcFile: netrc });
      assert.equal((await basic.missing(["34fjjmpy392nx9kxf70xa6v9s4yq8p7l"])).size, 1);
      await basic.close();

      const wrong = await openCache(server.url, { token: "not-it-0000", netrcFile: "/nonexistent" });
      const before = server.stats.requests;
      await assert.rejects(wrong.cacheInfo(), (e: Error) => {
        assert.match(e.message, /HTTP 401.*check the token/s);
        assert.doesNotMatch(e.message, /not-it-0000|tok-7f3a9c/);
        return true;
      });
      // Other 4xx fail at once: no retries.
      assert.equal(server.stats.requests - before, 1);
      await wrong.close();
    } finally {
      await server.close();
    }
  });

  test("429 with Retry-After and 500s are retried until they succeed", async () => {
    const server = await startCacheServer({
      dir: tmp.dir,
      faults: { rateLimitEvery: 3, retryAfterSeconds: 1, failEvery: 4 },
    });
    const cache = await openCache(server.url, { retry: { baseMs: 5, attempts: 6 } });
    try {
      const hashes = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, "0")}${"a".repeat(30)}`);
      const missing = await cache.missing(hashes);
      assert.equal(missing.size, 12);
      assert.ok(server.stats.rateLimited > 0 && server.stats.failed > 0);
    } finally {
      await cache.close();
      await server.close();
    }
  });

  test("unsupported and malformed cache URLs are refused clearly", async () => {
    await assert.rejects(openCache("s3://bucket"), /unsupported cache URL scheme s3:/);
    await assert.rejects(openCache("not a url"), /invalid cache URL/);
  });
});
