// The MetadataStore contract, continued (test/contract/metadata-store.test.ts has the rest), on both
// engines: what keeps a cache's storage bounded (issue 30, item 4). Listings and logs count in the
// usage and the quota refuses them; a build log goes with its path in the GC, and one of no path
// with the retention; pending narinfos expire; branches with reports are bounded per cache.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DbError } from "../../src/server/errors.js";
import type { NewReport } from "../../src/server/metadata/dashboard-store.js";
import { openPostgresStore } from "../../src/server/metadata/postgres/open.js";
import { DB_FILE, openSqliteStore } from "../../src/server/metadata/sqlite/open.js";
import { BRANCHES_KEPT_PER_CACHE, type MetadataStore } from "../../src/server/metadata/store.js";
import { tempDir } from "../helpers/nix.js";
import { freshDatabase } from "../helpers/postgres.js";

const BACKENDS: Array<{
  name: string;
  fresh(): Promise<{ open(): Promise<MetadataStore>; cleanup(): void }>;
}> = [
  {
    name: "sqlite",
    async fresh() {
      const dir = tempDir("nixcache-meta-bounds-");
      return { open: async () => openSqliteStore(join(dir.path, DB_FILE)), cleanup: dir.cleanup };
    },
  },
  {
    name: "postgres",
    async fresh() {
      const url = await freshDatabase();
      return { open: () => openPostgresStore(url, { poolSize: 4 }), cleanup() {} };
    },
  },
];

/** A store path hash part: 32 characters of Nix's base-32 alphabet, distinct per label. */
function h(label: string): string {
  const alphabet = "0123456789abcdfghijklmnpqrsvwxyz";
  const d = createHash("sha256").update(label).digest();
  return Array.from(d.subarray(0, 32), (b) => alphabet[b % 32]).join("");
}

const blobOf = (label: string) => createHash("sha256").update(label).digest("hex");

/** Receives a NAR (of 100 bytes) for `hash` and commits its narinfo, as ingest does. */
async function push(
  meta: MetadataStore,
  hash: string,
  o: { references?: string[]; deriver?: string; url?: string } = {},
) {
  const url = o.url ?? `nar/${hash}.nar`;
  await meta.recordNar({
    cache: "c",
    url,
    blob: blobOf(url),
    compression: "none",
    narHash: `sha256:${hash}`,
    narSize: 100,
    fileHash: `sha256:${hash}`,
    fileSize: 100,
  });
  const references = o.references ?? [];
  return meta.commitNarInfo({
    cache: "c",
    hash,
    storePath: `/nix/store/${hash}-p`,
    url,
    text: `StorePath: /nix/store/${hash}-p\nReferences: ${references.map((r) => `${r}-p`).join(" ")}\n`,
    references,
    deriver: o.deriver ?? null,
  });
}

/** A build log of `bytes` bytes stored as a blob (the blob's name from the label). */
function log(label: string, bytes: number) {
  return {
    body: Buffer.alloc(0),
    blob: blobOf(`log ${label}`),
    blobSize: bytes,
    contentType: "text/plain; charset=utf-8",
    contentEncoding: null,
  };
}

function listing(bytes: number) {
  return {
    body: Buffer.alloc(bytes, 0x20),
    blob: null,
    contentType: "application/json",
    contentEncoding: null,
  };
}

const quotaRefusal = (what: string) => (e: unknown) => {
  assert.ok(e instanceof DbError && e.code === "tooLarge", String(e));
  assert.match(e.message, new RegExp(`cache "c" is over its quota: .* this ${what} of`));
  return true;
};

for (const backend of BACKENDS) {
  describe(`MetadataStore bounds on ${backend.name}`, () => {
    async function withStore(f: (meta: MetadataStore) => Promise<void>): Promise<void> {
      const db = await backend.fresh();
      const meta = await db.open();
      try {
        await meta.createCache({ name: "c", isPublic: true, priority: 40 });
        await f(meta);
      } finally {
        await meta.close();
        db.cleanup();
      }
    }

    test("usage: listings and logs count; a cache over its quota refuses them and keeps what it had", () =>
      withStore(async (a) => {
        const x = h("x");
        await push(a, x);
        assert.equal(await a.cacheUsage("c"), 100);
        await a.putSideFile("c", "ls", x, listing(60));
        await a.putSideFile("c", "log", "drv-1", log("1", 1000));
        assert.equal(await a.cacheUsage("c"), 1160);
        // Replaced: only the difference counts.
        await a.putSideFile("c", "ls", x, listing(40));
        await a.putSideFile("c", "log", "drv-1", log("1b", 500));
        assert.equal(await a.cacheUsage("c"), 640);
        assert.equal((await a.listCaches())[0]?.bytes, 640);

        await a.setCacheLimits("c", { quotaBytes: 600 });
        await assert.rejects(
          a.putSideFile("c", "log", "drv-2", log("2", 10_000_000)),
          quotaRefusal("build log"),
        );
        await assert.rejects(a.putSideFile("c", "ls", h("y"), listing(60_000)), quotaRefusal("listing"));
        await assert.rejects(a.putSideFile("c", "ls", x, listing(41)), quotaRefusal("listing"));
        assert.equal(await a.getSideFile("c", "log", "drv-2"), undefined, "nothing stored");
        assert.equal(await a.getSideFile("c", "ls", h("y")), undefined);
        assert.equal((await a.getSideFile("c", "ls", x))?.body.length, 40, "the old listing stays");
        assert.deepEqual(await a.unnamedBlobs([blobOf("log 2")]), [blobOf("log 2")]);
        assert.equal(await a.cacheUsage("c"), 640);
        // What frees bytes is never refused.
        await a.putSideFile("c", "ls", x, listing(10));
        assert.equal(await a.cacheUsage("c"), 610);
      }));

    test("GC: a build log goes with the last narinfo naming its derivation; one of no path with the retention", () =>
      withStore(async (a) => {
        // A retention short enough that every access below is written (ACCESS_SLACK_DIVISOR).
        await a.setCacheLimits("c", { retentionMs: 8 });
        // One derivation's two outputs (out, dev), and a path built by another.
        const [out, dev, other] = [h("out"), h("dev"), h("other")];
        const [drv, otherDrv, failed] = [`${h("drv")}-p.drv`, `${h("drv2")}-q.drv`, `${h("drv3")}-r.drv`];
        await push(a, out, { deriver: drv });
        await push(a, dev, { deriver: drv, references: [out] });
        await push(a, other, { deriver: otherDrv });
        await a.putSideFile("c", "log", drv, log("drv", 300));
        await a.putSideFile("c", "log", otherDrv, log("other", 200));
        await a.putSideFile("c", "log", failed, log("failed", 50));
        const usage = await a.cacheUsage("c");
        assert.equal(usage, 3 * 100 + 300 + 200 + 50);

        const start = Date.now();
        /** A GC run at `now` (ms after the start) that finds `keep` fetched just after it. */
        const gc = async (keep: string[], after: number) => {
          const now = start + after;
          await a.recordAccess(keep.map((k) => ({ cache: "c", hash: k, at: now + 1 })));
          const t = { run: `r-${keep.join()}`, now, cutoff: now, markedBefore: now + 1, lingerMs: 0 };
          await a.gcMark("c", t);
          await a.gcPlan("c", t);
          const blobs: string[] = [];
          for (let b = await a.gcDeleteBatch("c", { ...t, limit: 10 }); b; ) {
            blobs.push(...b.nars.map((n) => n.blob));
            b = await a.gcDeleteBatch("c", { ...t, limit: 10, dropNars: b.narUrls });
          }
          await a.gcFinish();
          return blobs;
        };
        // dev goes (nothing keeps it), out stays (fetched): the log stays with out.
        assert.deepEqual(await gc([out, other], 1000), [blobOf(`nar/${dev}.nar`)], "dev's NAR only");
        assert.equal(await a.getNarInfo("c", dev), undefined);
        assert.notEqual(await a.getSideFile("c", "log", drv), undefined, "out still names the derivation");
        // Then out goes too: the log with it, its blob handed back for deletion; other's stays.
        const blobs = await gc([other], 5000);
        assert.ok(blobs.includes(blobOf("log drv")), `the log's blob is returned: ${blobs}`);
        assert.equal(await a.getSideFile("c", "log", drv), undefined);
        assert.notEqual(await a.getSideFile("c", "log", otherDrv), undefined);
        assert.equal(await a.cacheUsage("c"), usage - 2 * 100 - 300, "out's and dev's NARs and the log went");

        // A log no narinfo names goes once older than the cutoff; one of a path never.
        assert.deepEqual(await a.gcDropLogs("c", Date.now() - 60_000, 10), [], "too recent");
        assert.deepEqual(await a.gcDropLogs("c", Date.now() + 1, 10), [
          { blob: blobOf("log failed"), size: 50 },
        ]);
        assert.equal(await a.getSideFile("c", "log", failed), undefined);
        assert.notEqual(await a.getSideFile("c", "log", otherDrv), undefined);
      }));

    test("pending narinfos expire: those last pushed before the time go, with what only they named", () =>
      withStore(async (a) => {
        const [waiting, missing, recent, served, dependent] = [
          h("waiting"),
          h("missing"),
          h("recent"),
          h("served"),
          h("dependent"),
        ];
        const drv = `${h("waiting-drv")}-w.drv`;
        await push(a, served);
        assert.equal(
          (await push(a, waiting, { references: [missing, served], deriver: drv })).visible,
          false,
        );
        // Waits for `waiting`, which is pending itself.
        assert.equal((await push(a, dependent, { references: [waiting] })).visible, false);
        await a.putSideFile("c", "ls", waiting, listing(30));
        await a.putSideFile("c", "log", drv, log("waiting", 70));
        const cutoff = Date.now() + 1;
        await new Promise((r) => setTimeout(r, 5));
        assert.equal((await push(a, recent, { references: [missing] })).visible, false);
        assert.equal(await a.pendingCount("c"), 3);
        assert.equal(await a.cacheUsage("c"), 4 * 100 + 30 + 70);

        const r = await a.expirePending(cutoff, 1);
        assert.equal(r.paths, 1, "a batch at most");
        const rest = await a.expirePending(cutoff, 10);
        assert.equal(r.paths + rest.paths, 2);
        const blobs = [...r.blobs, ...rest.blobs].map((b) => b.blob).sort();
        assert.deepEqual(
          blobs,
          [blobOf(`nar/${waiting}.nar`), blobOf(`nar/${dependent}.nar`), blobOf("log waiting")].sort(),
        );
        assert.equal(await a.pendingCount("c"), 1, "the recent one stays");
        assert.deepEqual(await a.missingNarInfos("c", [served, recent]), [recent]);
        assert.equal(await a.getSideFile("c", "ls", waiting), undefined);
        assert.equal(await a.getSideFile("c", "log", drv), undefined);
        assert.equal(await a.getNar("c", `nar/${waiting}.nar`), undefined, "its NAR record went");
        assert.notEqual(await a.getNar("c", `nar/${served}.nar`), undefined);
        assert.equal(await a.cacheUsage("c"), 2 * 100);
        assert.deepEqual(await a.pendingReferences("c", 10), [{ cache: "c", hash: missing }]);
        assert.deepEqual(await a.expirePending(cutoff, 10), { paths: 0, blobs: [] });
        // Pushed again, it waits again, like a first push, and is released like one.
        assert.equal((await push(a, waiting, { references: [missing] })).visible, false);
        assert.deepEqual((await a.markUpstream("c", [missing])).sort(), [waiting, recent].sort());
      }));

    test("dashboard: branches with reports are bounded per cache; the one reported least recently goes", () =>
      withStore(async (a) => {
        const report = (branch: string | null): NewReport => ({
          cache: "c",
          kind: "build",
          commit: "abc",
          branch,
          runId: null,
          runUrl: null,
          tokenId: null,
          ok: true,
          counts: "{}",
          targets: "[]",
        });
        await a.insertReport(report("first"));
        await a.insertReport(report(null));
        for (let i = 1; i < BRANCHES_KEPT_PER_CACHE; i++) await a.insertReport(report(`b-${i}`));
        // "first" reported again: the least recently reported is b-1 now.
        await a.insertReport(report("first"));
        assert.equal(
          (await a.latestReports("c", { limit: 1000 })).length,
          BRANCHES_KEPT_PER_CACHE + 1,
          "and the branchless",
        );
        await a.insertReport(report("new"));
        const branches = (await a.latestReports("c", { limit: 1000 })).map((r) => r.branch);
        assert.equal(branches.length, BRANCHES_KEPT_PER_CACHE + 1);
        assert.ok(!branches.includes("b-1"), "the branch reported least recently went");
        assert.ok(branches.includes("first") && branches.includes("new") && branches.includes(null));
        assert.deepEqual(await a.listReports("c", { branch: "b-1", limit: 10 }), []);
      }));
  });
}
