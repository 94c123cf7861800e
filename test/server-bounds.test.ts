// Issue 30 ("nothing unbounded, nothing served broken"), items 1, 4 and 13, through the server's
// HTTP interface on the chosen backend (NIXCACHE_TEST_BACKEND): a re-push never breaks a served
// path; logs and listings count in the quota; refused uploads leave no blob behind.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { parseNarInfo } from "../src/nix/narinfo.js";
import { nix32Encode } from "../src/nix/nix32.js";
import { adminCreateCache, adminCreateToken } from "../src/server/admin.js";
import { ingestNar } from "../src/server/ingest/nar.js";
import type { MetadataStore } from "../src/server/metadata/store.js";
import { type RunningServer, startServer } from "../src/server/server.js";
import type { StoreLocation } from "../src/server/stores.js";
import { storedBlobs, testStores } from "./helpers/backends.js";
import { testClock } from "./helpers/clock.js";
import { makeUpload, narInfoText, type Upload } from "./server-fixtures.js";

let data: string;
let at: StoreLocation;
let srv: RunningServer;
const tokens = new Map<string, string>();
const logs: string[] = [];
const clock = testClock();

/** A fresh cache for a test, and a write token of it (put finds it by the path's cache). */
async function cache(name: string, limits: { quotaBytes?: number } = {}): Promise<string> {
  await adminCreateCache(at, { name, isPublic: true, priority: 41, ...limits });
  tokens.set(name, (await adminCreateToken(at, { cache: name, perm: "write", expiresAt: null })).token);
  return name;
}

function put(path: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  const token = tokens.get(path.split("/")[1] ?? "");
  return fetch(`${srv.url}${path}`, {
    method: "PUT",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
}

async function pushNar(c: string, u: Upload): Promise<void> {
  const r = await put(`/${c}/${u.url}`, u.file);
  assert.equal(r.status, 204, await r.text());
}

async function get(path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${srv.url}${path}`);
  return { status: r.status, text: await r.text() };
}

before(async () => {
  data = await mkdtemp(join(tmpdir(), "nixcache-bounds-"));
  at = await testStores(data);
  srv = await startServer({
    ...at,
    port: 0,
    cacheRows: { now: clock.now },
    upstreams: [],
    gcIntervalMs: 0,
    log: (l) => logs.push(l),
  });
});

after(async () => {
  await srv?.close();
  await rm(data, { recursive: true, force: true });
});

describe("item 1: a re-push never breaks a served path", () => {
  test("a visible narinfo pushed again naming a path the cache lacks is refused (409, logged); the served one stays", async () => {
    const c = await cache("repush");
    const y = await makeUpload("y");
    await pushNar(c, y);
    const first = await put(`/${c}/${y.hash}.narinfo`, narInfoText(y.narinfo));
    assert.equal(first.status, 204, await first.text());
    const served = await get(`/${c}/${y.hash}.narinfo`);
    assert.equal(served.status, 200);

    const never = `${nix32Encode(Buffer.alloc(20, 7))}-never`;
    const again = await put(`/${c}/${y.hash}.narinfo`, narInfoText({ ...y.narinfo, references: [never] }));
    const message = await again.text();
    assert.equal(again.status, 409, message);
    assert.ok(message.includes(never), message);
    assert.ok(message.includes(y.storePath), message);
    assert.match(message, /served narinfo is kept/);
    const now = await get(`/${c}/${y.hash}.narinfo`);
    assert.equal(now.status, 200);
    assert.equal(now.text, served.text, "the served narinfo is the first one, byte for byte");
    assert.deepEqual(parseNarInfo(now.text).references, []);
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.event === "narinfo-refused");
    assert.deepEqual(
      line && { cache: line.cache, storePath: line.storePath, missing: line.missingReferences },
      { cache: c, storePath: y.storePath, missing: [never] },
    );

    // Once the reference is pushed, the same narinfo replaces the served one.
    const ref = await makeUpload("never");
    const refPath = ref.storePath.slice("/nix/store/".length);
    await pushNar(c, ref);
    assert.equal((await put(`/${c}/${ref.hash}.narinfo`, narInfoText(ref.narinfo))).status, 204);
    const third = await put(`/${c}/${y.hash}.narinfo`, narInfoText({ ...y.narinfo, references: [refPath] }));
    assert.equal(third.status, 204, await third.text());
    assert.deepEqual(parseNarInfo((await get(`/${c}/${y.hash}.narinfo`)).text).references, [refPath]);
  });
});

describe("item 13: a NAR refused by the quota in a race leaves no blob behind", () => {
  /**
   * The store, with the race made to happen every time: between an upload's quota check (it fits)
   * and its record, another NAR of the cache is recorded and fills the quota.
   */
  function racing(): { meta: MetadataStore; raced: Set<string> } {
    const raced = new Set<string>();
    const meta = new Proxy(srv.meta, {
      get(target, key) {
        if (key === "recordNar")
          return async (nar: Parameters<MetadataStore["recordNar"]>[0]) => {
            if (!raced.has(nar.cache)) {
              raced.add(nar.cache);
              await target.recordNar({ ...nar, url: "nar/other.nar", blob: "0".repeat(64), fileSize: 20 });
            }
            return target.recordNar(nar);
          };
        const v = Reflect.get(target, key);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    return { meta, raced };
  }
  const limits = { maxBytes: 1 << 20, maxNarBytes: 1 << 20 };
  const refused = (e: unknown) =>
    e instanceof Error && (e as { status?: number }).status === 413 && /over its quota/.test(e.message);

  test("the quota check passes, another upload fills the quota before the record: 413, and the blob is deleted at once", async () => {
    const u = await makeUpload("raced", "zstd", 2000);
    const c = await cache("raced", { quotaBytes: u.file.length + 10 });
    const blobs = await storedBlobs(at);
    const { meta, raced } = racing();
    await assert.rejects(
      ingestNar(
        { meta, storage: srv.storage },
        { cache: c, url: u.url, body: Readable.from([u.file]), limits },
      ),
      refused,
    );
    assert.ok(raced.has(c));
    assert.deepEqual(await storedBlobs(at), blobs, "the refused NAR's blob is not in storage");
    assert.equal(await srv.meta.getNar(c, u.url), undefined);
  });

  test("a blob something else names stays: the same content recorded in another cache", async () => {
    const u = await makeUpload("raced-shared", "zstd", 2000);
    const c = await cache("raced-shared", { quotaBytes: u.file.length + 10 });
    const other = await cache("raced-shared-other");
    await pushNar(other, u);
    const blobs = await storedBlobs(at);
    const { meta, raced } = racing();
    await assert.rejects(
      ingestNar(
        { meta, storage: srv.storage },
        { cache: c, url: u.url, body: Readable.from([u.file]), limits },
      ),
      refused,
    );
    assert.ok(raced.has(c));
    assert.deepEqual(await storedBlobs(at), blobs, "the other cache's NAR keeps its blob");
    assert.ok(await srv.meta.getNar(other, u.url));
  });
});
