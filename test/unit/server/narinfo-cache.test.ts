// Unit tests of the in-memory narinfo cache in front of the metadata store (a real SQLite store
// in a temporary data directory; a second store on the same directory plays another process).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { NarInfoCache } from "../../../src/server/metadata/narinfo-cache.js";
import type { MetadataStore } from "../../../src/server/metadata/store.js";
import { openMetadata } from "../../../src/server/state-location.js";
import { tempDir } from "../../helpers/nix.js";

const dir = tempDir("nixcache-narinfo-cache-");
let here: MetadataStore;
let elsewhere: MetadataStore;
const HASH = "0".repeat(32);

async function commit(meta: MetadataStore, hash: string, text: string): Promise<void> {
  await meta.recordNar({
    cache: "c",
    url: `nar/${hash}.nar`,
    blob: "a".repeat(64),
    compression: "none",
    narHash: "sha256:x",
    narSize: 1,
    fileHash: "sha256:x",
    fileSize: 1,
  });
  await meta.commitNarInfo({
    cache: "c",
    hash,
    storePath: `/nix/store/${hash}-x`,
    url: `nar/${hash}.nar`,
    text,
    references: [],
  });
}

before(async () => {
  here = await openMetadata({ dataDir: dir.path });
  elsewhere = await openMetadata({ dataDir: dir.path });
  await here.createCache({ name: "c", isPublic: true, priority: 41 });
});

after(async () => {
  await here.close();
  await elsewhere.close();
  dir.cleanup();
});

test("hits are answered from memory without a promise; misses are not remembered", async () => {
  let clock = 0;
  const cache = new NarInfoCache(here, { now: () => clock });
  assert.equal(await cache.get("c", HASH), undefined);
  await commit(elsewhere, HASH, "one");
  // A miss is not kept: a path pushed through another process is visible at once.
  assert.equal((await cache.get("c", HASH))?.toString(), "one");
  const hit = cache.get("c", HASH);
  assert.ok(Buffer.isBuffer(hit), "a hit is the buffer itself");
  clock += 10;
  assert.ok(Buffer.isBuffer(cache.get("c", HASH)));
});

test("a write through this store empties the cache at once", async () => {
  const cache = new NarInfoCache(here, { now: () => 0 });
  const hash = "1".repeat(32);
  await commit(here, hash, "first");
  assert.equal((await cache.get("c", hash))?.toString(), "first");
  await commit(here, hash, "second");
  assert.equal((await cache.get("c", hash))?.toString(), "second");
});

test("another process's replacement is seen after the recheck interval", async () => {
  let clock = 0;
  const cache = new NarInfoCache(here, { now: () => clock, recheckMs: 1000 });
  const hash = "2".repeat(32);
  await commit(elsewhere, hash, "old");
  assert.equal((await cache.get("c", hash))?.toString(), "old");
  await commit(elsewhere, hash, "new");
  clock = 999;
  assert.equal((await cache.get("c", hash))?.toString(), "old", "within the interval");
  clock = 1000;
  assert.equal((await cache.get("c", hash))?.toString(), "new");
});

test("the oldest entries go first beyond maxBytes", async () => {
  const cache = new NarInfoCache(here, { now: () => 0, maxBytes: 10 });
  const [a, b] = ["3".repeat(32), "4".repeat(32)];
  await commit(here, a, "aaaaaa");
  await commit(here, b, "bbbbbb");
  await cache.get("c", a);
  await cache.get("c", b);
  assert.ok(Buffer.isBuffer(cache.get("c", b)), "the newest is kept");
  assert.ok(!Buffer.isBuffer(cache.get("c", a)), "the oldest was dropped");
});
