// Issue 30 ("nothing unbounded, nothing served broken"), items 1, 4 and 13, through the server's
// HTTP interface on every backend (forEachBackend): a re-push never breaks a served
// path; logs and listings count in the quota; refused uploads leave no blob behind.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { parseNarInfo } from "../../src/nix/narinfo.js";
import { nix32Encode } from "../../src/nix/nix32.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { collectGarbage } from "../../src/server/gc.js";
import { ingestNar } from "../../src/server/ingest/nar.js";
import { sweep } from "../../src/server/ingest/sweep.js";
import { MAX_REFERENCES } from "../../src/server/metadata/limits.js";
import type { MetadataStore } from "../../src/server/metadata/store.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import type { StateLocation } from "../../src/server/state-location.js";
import { forEachBackend, storedBlobs } from "../helpers/backends.js";
import { apiClient } from "../helpers/cachix.js";
import { testClock } from "../helpers/clock.js";
import { makeUpload, narInfoCreateFor, narInfoText, type Upload } from "../helpers/uploads.js";

forEachBackend((backend) => {
  let data: string;
  let at: StateLocation;
  let srv: RunningServer;
  const tokens = new Map<string, string>();
  const logs: string[] = [];
  const clock = testClock();

  /** A fresh cache for a test, and a write token of it (put finds it by the path's cache). */
  async function cache(
    name: string,
    limits: { quotaBytes?: number; retentionMs?: number } = {},
  ): Promise<string> {
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
    at = await backend.stores(data);
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
      const third = await put(
        `/${c}/${y.hash}.narinfo`,
        narInfoText({ ...y.narinfo, references: [refPath] }),
      );
      assert.equal(third.status, 204, await third.text());
      assert.deepEqual(parseNarInfo((await get(`/${c}/${y.hash}.narinfo`)).text).references, [refPath]);
    });
  });

  /** A base name of a store path nobody has. */
  function absent(label: string): string {
    return `${nix32Encode(Buffer.from(label.padEnd(20, "-").slice(0, 20)))}-${label}`;
  }

  /** A stream of `text` without a Content-Length (chunked): what a client streaming a log sends. */
  function streamed(text: string): RequestInit {
    return {
      body: new ReadableStream({
        start(ctl) {
          ctl.enqueue(new TextEncoder().encode(text));
          ctl.close();
        },
      }),
      duplex: "half",
    } as RequestInit;
  }

  describe("item 4: storage inside the quota", () => {
    test("(a) references per narinfo are capped (413 through the Cachix API, before the NAR is read)", async () => {
      const c = await cache("refs-cap");
      const u = await makeUpload("many-refs");
      const { call, startUpload } = apiClient(`${srv.url}/api/v1`);
      const token = tokens.get(c) ?? "";
      const up = await startUpload(u, token, [u.file], c);
      const refs = Array.from({ length: MAX_REFERENCES + 1 }, (_, i) => absent(`r${i}`));
      const done = await call("POST", `${up.base}/complete?uploadId=${up.uploadId}`, token, {
        parts: up.parts,
        narInfoCreate: narInfoCreateFor(u, { cReferences: refs }),
      });
      assert.equal(done.status, 413, done.text);
      assert.match(
        done.text,
        new RegExp(`names ${MAX_REFERENCES + 1} references, more than the ${MAX_REFERENCES}`),
      );
      assert.equal(await srv.meta.getNar(c, u.url), undefined, "the NAR was not even recorded");
      assert.equal(await srv.meta.pendingCount(c), 0);
    });

    test("(a) a pending narinfo expires: the sweep deletes it after the pending expiry, with its NAR and blob", async () => {
      const c = await cache("expiry");
      const u = await makeUpload("waits-forever");
      await pushNar(c, u);
      const blobs = await storedBlobs(at);
      const r = await put(
        `/${c}/${u.hash}.narinfo`,
        narInfoText({ ...u.narinfo, references: [absent("gone")] }),
      );
      assert.equal(r.status, 204, await r.text());
      assert.equal(await srv.meta.pendingCount(c), 1);
      const early = await sweep(srv.meta, srv.storage, {}, Date.now() + 23 * 3600_000);
      assert.equal(early.pending, 0, "not yet: the default expiry is 24 hours");
      const late = await sweep(srv.meta, srv.storage, {}, Date.now() + 25 * 3600_000);
      assert.equal(late.pending, 1);
      assert.equal(await srv.meta.pendingCount(c), 0);
      assert.deepEqual(await srv.meta.pathRecord(c, u.hash), await srv.meta.pathRecord(c, "0".repeat(32)));
      assert.equal(await srv.meta.getNar(c, u.url), undefined);
      assert.equal(await srv.meta.cacheUsage(c), 0);
      const after = await storedBlobs(at);
      assert.equal(after.length, blobs.length - 1, "its blob is deleted");
    });

    test("(b) a cache over its quota refuses a 10 MB log and a 60 KB listing (413) as it refuses NARs; nothing is stored", async () => {
      const u = await makeUpload("full");
      const c = await cache("full", { quotaBytes: u.file.length });
      await pushNar(c, u);
      assert.equal((await put(`/${c}/${u.hash}.narinfo`, narInfoText(u.narinfo))).status, 204);
      const blobs = await storedBlobs(at);
      const drv = `${u.hash}-full.drv`;
      const log = await put(`/${c}/log/${drv}`, "x".repeat(10 * 1024 * 1024));
      const logText = await log.text();
      assert.equal(log.status, 413, logText);
      assert.match(logText, new RegExp(`cache "${c}" is over its quota`));
      const ls = await put(`/${c}/${u.hash}.ls`, JSON.stringify({ version: 1, pad: "x".repeat(60_000) }));
      const lsText = await ls.text();
      assert.equal(ls.status, 413, lsText);
      assert.match(lsText, /over its quota/);
      assert.equal((await get(`/${c}/log/${drv}`)).status, 404);
      assert.equal((await get(`/${c}/${u.hash}.ls`)).status, 404);
      assert.deepEqual(await storedBlobs(at), blobs);
      assert.equal(await srv.meta.cacheUsage(c), u.file.length);
    });

    test("(b) logs and listings count in the usage; a streamed log the quota refuses once received leaves no blob", async () => {
      const u = await makeUpload("counted");
      const c = await cache("counted", { quotaBytes: u.file.length + 1000 });
      await pushNar(c, u);
      const ls = JSON.stringify({ version: 1, root: { type: "regular", size: 1 } });
      assert.equal((await put(`/${c}/${u.hash}.ls`, ls)).status, 204);
      assert.equal((await put(`/${c}/log/${u.hash}-counted.drv`, "built\n")).status, 204);
      const used = u.file.length + Buffer.byteLength(ls) + 6;
      assert.equal(await srv.meta.cacheUsage(c), used);
      const blobs = await storedBlobs(at);
      // No Content-Length: the cache is not full, so the body is read; then it does not fit.
      const r = await fetch(`${srv.url}/${c}/log/${u.hash}-big.drv`, {
        method: "PUT",
        headers: { authorization: `Bearer ${tokens.get(c)}` },
        ...streamed("y".repeat(5000)),
      });
      const text = await r.text();
      assert.equal(r.status, 413, text);
      assert.match(text, /this build log of/);
      assert.deepEqual(await storedBlobs(at), blobs, "its blob was deleted");
      assert.equal(await srv.meta.cacheUsage(c), used);
    });

    test("(b) the GC deletes a path's build log with the path, and its blob", async () => {
      const c = await cache("logs-gc", { retentionMs: 60_000 });
      const u = await makeUpload("logged");
      const drv = `${nix32Encode(Buffer.alloc(20, 3))}-logged.drv`;
      await pushNar(c, u);
      const r = await put(`/${c}/${u.hash}.narinfo`, narInfoText({ ...u.narinfo, deriver: drv }));
      assert.equal(r.status, 204, await r.text());
      assert.equal((await put(`/${c}/log/${drv}`, "the build log\n")).status, 204);
      assert.equal((await get(`/${c}/log/${drv}`)).text, "the build log\n");
      const blobs = await storedBlobs(at);
      const report = await collectGarbage(srv.meta, srv.storage, {
        cache: c,
        graceMs: 0,
        lingerMs: 0,
        now: Date.now() + 120_000,
      });
      assert.equal(report.caches[c]?.deletedPaths, 1);
      assert.equal((await get(`/${c}/log/${drv}`)).status, 404);
      assert.equal((await get(`/${c}/${u.hash}.narinfo`)).status, 404);
      assert.equal((await storedBlobs(at)).length, blobs.length - 2, "the NAR's blob and the log's are gone");
      assert.equal(await srv.meta.cacheUsage(c), 0);
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
});
