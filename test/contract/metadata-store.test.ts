// The MetadataStore contract, run against both implementations: SQLite (a temporary data
// directory) and PostgreSQL (a fresh database on a real server, test/helpers/postgres.ts). A
// second store object on the same database plays another process or replica.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import BetterSqlite from "better-sqlite3";
import pg from "pg";
import { DbError } from "../../src/server/errors.js";
import {
  accessShift,
  BLOB_CLAIM_TTL_MS,
  gcCutoff,
  MAX_REFERENCES,
  ReferencesMissingError,
} from "../../src/server/metadata/limits.js";
import { bulkPlan } from "../../src/server/metadata/postgres/bulk-plan.js";
import { MergedLookups } from "../../src/server/metadata/postgres/lookups.js";
import {
  MIGRATIONS as PG_MIGRATIONS,
  SCHEMA_VERSION as PG_SCHEMA_VERSION,
} from "../../src/server/metadata/postgres/migrations.js";
import { openPostgresStore } from "../../src/server/metadata/postgres/open.js";
import { DB_FILE, openSqliteStore } from "../../src/server/metadata/sqlite/open.js";
import { type MetadataStore, REPORTS_KEPT_PER_BRANCH } from "../../src/server/metadata/store.js";
import { tempDir } from "../helpers/nix.js";
import { freshDatabase, type LocalPostgres, startPostgres } from "../helpers/postgres.js";

interface Database {
  /** Another store object on the same database. */
  open(): Promise<MetadataStore>;
  /** Runs SQL on the database behind the stores' backs (to age a row). */
  exec(text: string): Promise<void>;
  cleanup(): void;
}

const BACKENDS: Array<{ name: string; fresh(): Promise<Database> }> = [
  {
    name: "sqlite",
    async fresh() {
      const dir = tempDir("nixcache-meta-");
      const file = join(dir.path, DB_FILE);
      return {
        open: async () => openSqliteStore(file),
        async exec(text) {
          const db = new BetterSqlite(file);
          try {
            db.exec(text);
          } finally {
            db.close();
          }
        },
        cleanup: dir.cleanup,
      };
    },
  },
  {
    name: "postgres",
    async fresh() {
      const url = await freshDatabase();
      return {
        open: () => openPostgresStore(url, { poolSize: 4 }),
        exec: async (text) => void (await sql(url, text)),
        cleanup() {},
      };
    },
  },
];

/** A store path hash part: 32 characters of Nix's base-32 alphabet, distinct per label. */
function h(label: string): string {
  const alphabet = "0123456789abcdfghijklmnpqrsvwxyz";
  const d = createHash("sha256").update(label).digest();
  return Array.from(d.subarray(0, 32), (b) => alphabet[b % 32]).join("");
}

/** Receives a NAR for `hash` and commits its narinfo, as ingest does. */
async function push(meta: MetadataStore, cache: string, hash: string, references: string[] = []) {
  const url = `nar/${hash}.nar`;
  assert.ok(
    await meta.recordNar({
      cache,
      url,
      blob: createHash("sha256").update(hash).digest("hex"),
      compression: "none",
      narHash: `sha256:${hash}`,
      narSize: 100,
      fileHash: `sha256:${hash}`,
      fileSize: 100,
    }),
  );
  return meta.commitNarInfo({
    cache,
    hash,
    storePath: `/nix/store/${hash}-p`,
    url,
    text: `StorePath: /nix/store/${hash}-p\nReferences: ${references.join(" ")}\n`,
    references,
  });
}

/** A Nix 2.8 realisation id (`sha256:<hex>!out`) made up for a path. */
function realisationOf(hash: string): string {
  return `sha256:${createHash("sha256").update(hash).digest("hex")}!out`;
}

async function visible(meta: MetadataStore, cache: string, hashes: string[]): Promise<boolean[]> {
  const missing = new Set(await meta.missingNarInfos(cache, hashes));
  const texts = await Promise.all(hashes.map((x) => meta.getNarInfo(cache, x)));
  return hashes.map((x, i) => {
    assert.equal(texts[i] !== undefined, !missing.has(x), `getNarInfo and missingNarInfos agree on ${x}`);
    return !missing.has(x);
  });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function shuffled<T>(xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

for (const backend of BACKENDS) {
  describe(`MetadataStore on ${backend.name}`, () => {
    /** Runs `f` with `n` store objects on one fresh database, each with a cache "c". */
    async function withStores(n: number, f: (...stores: MetadataStore[]) => Promise<void>): Promise<void> {
      return withDatabase(n, (_db, ...stores) => f(...stores));
    }
    /** withStores, with the database itself too. */
    async function withDatabase(
      n: number,
      f: (db: Database, ...stores: MetadataStore[]) => Promise<void>,
    ): Promise<void> {
      const db = await backend.fresh();
      const stores: MetadataStore[] = [];
      try {
        for (let i = 0; i < n; i++) stores.push(await db.open());
        await stores[0]?.createCache({ name: "c", isPublic: true, priority: 40 });
        await f(db, ...stores);
      } finally {
        for (const s of stores) await s.close();
        db.cleanup();
      }
    }

    test("caches: create, conflict, read, list, update, keys", () =>
      withStores(2, async (a, b) => {
        const made = await a.createCache({ name: "d", isPublic: false, priority: 30, keyName: "d-key" });
        assert.match(made.publicKey, /^d-key:/);
        await assert.rejects(
          b.createCache({ name: "d", isPublic: true, priority: 1 }),
          (e: unknown) => e instanceof DbError && e.code === "conflict",
        );
        assert.deepEqual(await b.getCache("d"), made);
        assert.equal(await b.getCache("nope"), undefined);
        await b.updateCache("d", { isPublic: true, compression: "XZ" });
        const d = await b.getCache("d");
        assert.equal(d?.isPublic, true);
        assert.equal(d?.compression, "XZ");
        assert.equal(d?.priority, 30);
        assert.deepEqual(
          (await a.listCaches()).map((x) => [x.name, x.narinfos]),
          [
            ["c", 0],
            ["d", 0],
          ],
        );
        const key = await a.signingKey("d");
        assert.deepEqual(await b.signingKey("d"), key);
        await assert.rejects(
          a.signingKey("nope"),
          (e: unknown) => e instanceof DbError && e.code === "notFound",
        );
        const [first, again] = await Promise.all([
          a.addClientKey("d", "ci-1", "QUJD"),
          b.addClientKey("d", "ci-1", "QUJD"),
        ]);
        assert.equal(Number(first) + Number(again), 1, "one of two racing adds stores the key");
        assert.equal(await a.addClientKey("d", "ci-2", "REVG"), true);
        assert.deepEqual(await b.clientKeys("d"), ["ci-1:QUJD", "ci-2:REVG"]);
      }));

    test("tokens and accounts", () =>
      withStores(2, async (a, b) => {
        const cacheToken = await a.insertToken({
          kind: "cache",
          cache: "c",
          perm: "write",
          hash: "h1",
          id: "tok_1",
          expiresAt: 5_000_000_000_000,
          description: "ci",
        });
        assert.equal(cacheToken.perm, "write");
        assert.equal(cacheToken.expiresAt, 5_000_000_000_000);
        assert.equal(cacheToken.revokedAt, null);
        assert.deepEqual(await b.tokenByHash("h1"), cacheToken);
        assert.deepEqual(await b.tokenById("tok_1"), cacheToken);
        assert.equal(await b.tokenByHash("nope"), undefined);

        const accounts = await Promise.all([
          a.ensureAccount("alice", { email: "a@example.org" }),
          b.ensureAccount("alice"),
          a.ensureAccount("alice"),
          b.ensureAccount("alice"),
        ]);
        assert.equal(new Set(accounts.map((x) => x.id)).size, 1, "racing ensureAccount makes one account");
        assert.equal((await a.account("alice"))?.slug, "alice");
        assert.equal(await a.account("bob"), undefined);
        await a.createCache({ name: "owned", isPublic: true, priority: 40, owner: "alice" });
        const personal = await a.insertToken({
          kind: "personal",
          account: "alice",
          hash: "h2",
          id: "tok_2",
          expiresAt: null,
        });
        assert.equal(personal.kind, "personal");
        assert.equal(personal.account, "alice");
        const ownedToken = await a.insertToken({
          kind: "cache",
          cache: "owned",
          perm: "read",
          hash: "h3",
          id: "tok_3",
          expiresAt: null,
        });
        assert.deepEqual(
          (await b.tokensOfAccount("alice")).map((t) => t.id),
          [personal.id, ownedToken.id],
        );
        assert.deepEqual(
          (await b.listTokens()).map((t) => t.id),
          ["tok_1", "tok_2", "tok_3"],
        );
        assert.equal(await b.revokeToken("tok_1"), true);
        assert.equal(await a.revokeToken("tok_1"), false);
        assert.equal(typeof (await a.tokenById("tok_1"))?.revokedAt, "number");
      }));

    test("NARs: recorded invisible, visible once a narinfo names them, swept when abandoned", () =>
      withStores(1, async (a) => {
        const nar = {
          cache: "c",
          url: "nar/x.nar",
          blob: "b".repeat(64),
          compression: "none",
          narHash: "sha256:n",
          narSize: 5_000_000_000,
          fileHash: "sha256:f",
          fileSize: 4_000_000_000,
        };
        assert.equal(await a.recordNar(nar), true);
        assert.deepEqual(await a.getNar("c", nar.url), { ...nar, visible: false });
        assert.equal(await a.visibleNar("c", nar.url), undefined);
        assert.equal(
          await a.recordNar({ ...nar, blob: "c".repeat(64) }),
          true,
          "an invisible URL takes a new blob",
        );
        assert.equal(await a.recordNar(nar), true);
        assert.deepEqual(await a.unnamedBlobs(["b".repeat(64), "c".repeat(64), "c".repeat(64)]), [
          "c".repeat(64),
        ]);
        assert.equal(await a.blobReferenced("b".repeat(64)), true);
        assert.equal(await a.blobReferenced("c".repeat(64)), false);
        const hash = h("x");
        assert.deepEqual(
          await a.commitNarInfo({
            cache: "c",
            hash,
            storePath: `/nix/store/${hash}-x`,
            url: nar.url,
            text: "x",
            references: [],
          }),
          { visible: true, missing: [] },
        );
        assert.deepEqual(await a.visibleNar("c", nar.url), { blob: "b".repeat(64), fileSize: 4_000_000_000 });
        assert.equal(
          await a.recordNar({ ...nar, blob: "c".repeat(64) }),
          false,
          "a served URL keeps its blob",
        );
        assert.equal(await a.recordNar(nar), true, "the same blob again is fine");
        assert.deepEqual(await a.narInfoBlobs(), [{ cache: "c", hash, url: nar.url, blob: "b".repeat(64) }]);

        await a.recordNar({ ...nar, url: "nar/abandoned.nar", blob: "d".repeat(64) });
        const later = Date.now() + 1000;
        assert.deepEqual(await a.invisibleNarsBefore(later), [
          { cache: "c", url: "nar/abandoned.nar", blob: "d".repeat(64) },
        ]);
        assert.equal(await a.deleteInvisibleNar("c", nar.url, later), false, "a visible NAR stays");
        assert.equal(await a.deleteInvisibleNar("c", "nar/abandoned.nar", later), true);
        assert.equal(await a.getNar("c", "nar/abandoned.nar"), undefined);
      }));

    test("side files", () =>
      withStores(1, async (a) => {
        const body = Buffer.from([0, 1, 2, 255]);
        await a.putSideFile("c", "ls", h("x"), {
          body,
          blob: null,
          contentType: "application/json",
          contentEncoding: "br",
        });
        assert.deepEqual(await a.getSideFile("c", "ls", h("x")), {
          body,
          blob: null,
          contentType: "application/json",
          contentEncoding: "br",
        });
        await a.putSideFile("c", "log", "drv", {
          body: Buffer.alloc(0),
          blob: "e".repeat(64),
          contentType: "text/plain",
          contentEncoding: null,
        });
        assert.equal((await a.getSideFile("c", "log", "drv"))?.blob, "e".repeat(64));
        assert.equal(await a.getSideFile("c", "log", h("x")), undefined);
        assert.equal(await a.blobReferenced("e".repeat(64)), true);
        assert.deepEqual(await a.unnamedBlobs(["e".repeat(64)]), [], "a side file names it");
      }));

    test("realisations: pending until their output path is present, then served; counted in the usage; quota", () =>
      withStores(2, async (a, b) => {
        const [out, dep, up] = [h("ca-out"), h("ca-dep"), h("ca-upstream")];
        const id = `sha256:${"ab".repeat(32)}!out`;
        const text = JSON.stringify({ id, outPath: `${out}-ca`, signatures: [], dependentRealisations: {} });
        const before = await a.cacheUsage("c");
        // Stored before the path: pending (not served), but listed and counted.
        assert.deepEqual(
          await a.putRealisation({ cache: "c", kind: "realisations", key: id, outPath: `${out}-ca`, text }),
          { visible: false },
        );
        assert.equal(await b.getRealisation("c", "realisations", id), undefined);
        assert.equal(await a.cacheUsage("c"), before + Buffer.byteLength(text));
        const listed = await b.realisationsOf("c", out);
        assert.equal(listed.length, 1);
        assert.deepEqual(
          { ...listed[0], createdAt: 0 },
          {
            kind: "realisations",
            key: id,
            outPath: `${out}-ca`,
            visible: false,
            size: Buffer.byteLength(text),
            createdAt: 0,
          },
        );
        // A narinfo of the path that is itself pending does not serve it yet …
        assert.equal((await push(b, "c", out, [dep])).visible, false);
        assert.equal(await a.getRealisation("c", "realisations", id), undefined);
        // … until its closure completes: the realisation is served in the same transaction.
        await push(b, "c", dep);
        assert.equal(await a.getRealisation("c", "realisations", id), text);
        assert.equal((await a.realisationsOf("c", out))[0]?.visible, true);
        // A build trace entry (2.35) of a path already present is served at once.
        const key = `${h("drv")}-ca.drv/out`;
        const entry = JSON.stringify({ outPath: `${out}-ca`, signatures: [] });
        assert.deepEqual(
          await b.putRealisation({
            cache: "c",
            kind: "build-trace-v2",
            key,
            outPath: `${out}-ca`,
            text: entry,
          }),
          { visible: true },
        );
        assert.equal(await a.getRealisation("c", "build-trace-v2", key), entry);
        assert.equal(await a.getRealisation("c", "realisations", key), undefined, "kinds are apart");
        assert.deepEqual(
          (await a.realisationsOf("c", out)).map((r) => r.kind),
          ["build-trace-v2", "realisations"],
        );
        // Replaced: the usage follows the new size; an upstream path counts as present.
        const moved = JSON.stringify({ id, outPath: `${up}-ca` });
        const usage = await a.cacheUsage("c");
        assert.deepEqual(
          await a.putRealisation({
            cache: "c",
            kind: "realisations",
            key: id,
            outPath: `${up}-ca`,
            text: moved,
          }),
          { visible: false },
        );
        assert.equal(await a.cacheUsage("c"), usage - Buffer.byteLength(text) + Buffer.byteLength(moved));
        assert.deepEqual(await b.realisationsOf("c", out).then((r) => r.length), 1);
        await b.markUpstream("c", [up]);
        assert.equal(await a.getRealisation("c", "realisations", id), moved);
        // Over the quota: refused, nothing stored.
        await a.setCacheLimits("c", { quotaBytes: (await a.cacheUsage("c")) + 10 });
        const other = `sha256:${"cd".repeat(32)}!out`;
        await assert.rejects(
          () =>
            b.putRealisation({
              cache: "c",
              kind: "realisations",
              key: other,
              outPath: `${out}-ca`,
              text: JSON.stringify({ id: other, outPath: `${out}-ca` }),
            }),
          (e: unknown) => e instanceof DbError && e.code === "tooLarge" && /realisation/.test(e.message),
        );
        assert.equal(await a.realisationsOf("c", out).then((r) => r.length), 1, "only the build trace entry");
        // Records: exported and imported like the rest.
        const page = await a.exportRecords("realisations", null, 10);
        assert.equal(page.records.length, 2);
        assert.ok(page.records.every((r) => r.cache === "c" && typeof r.visible === "boolean"));
        assert.equal(await b.importRecords("realisations", page.records), 0, "kept, not written again");
      }));

    test("missingNarInfos keeps order and duplicates, and answers for 32768 hashes", () =>
      withStores(1, async (a) => {
        const [x, y, z] = [h("x"), h("y"), h("z")];
        await push(a, "c", y);
        assert.deepEqual(await a.missingNarInfos("c", [z, y, x, z]), [z, x, z]);
        assert.deepEqual(await a.missingNarInfos("c", []), []);
        const many = Array.from({ length: 32_768 }, (_, i) => h(`many-${i}`));
        const missing = await a.missingNarInfos("c", [...many, y]);
        assert.equal(missing.length, many.length);
        assert.equal(missing[0], many[0]);
      }));

    test("missingNarInfos answers alike by probes (a few hashes, a large cache) and by one ordered pass (many, a small one)", () =>
      withDatabase(1, async (db, a) => {
        const here = Array.from({ length: 60 }, (_, i) => h(`bulk-${i}`));
        for (const x of here) await push(a, "c", x);
        const pending = h("bulk-pending");
        assert.equal((await push(a, "c", pending, [h("bulk-absent")])).visible, false);
        // PostgreSQL chooses by its statistics' estimate of the cache's narinfos; SQLite always probes.
        if (backend.name === "postgres") await db.exec("ANALYZE narinfos");
        const few = [here[3], pending, h("bulk-nowhere"), here[3]] as string[];
        assert.equal(bulkPlan(61, 3), "probes");
        assert.deepEqual(await a.missingNarInfos("c", few), few.slice(1, 3));
        const many = [...here, pending, ...Array.from({ length: 100 }, (_, i) => h(`bulk-nowhere-${i}`))];
        assert.equal(bulkPlan(61, many.length), "merge");
        assert.deepEqual(
          await a.missingNarInfos("c", shuffled(many)).then((m) => m.sort()),
          many.slice(60).sort(),
        );
        // Hashes before and after every one the cache has, and between.
        const edges = [
          "00000000000000000000000000000000",
          "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
          ...here.slice(0, 30),
        ];
        assert.deepEqual(await a.missingNarInfos("c", [...edges, ...many.slice(100)]), [
          ...edges.slice(0, 2),
          ...many.slice(100),
        ]);
      }));

    test("getNarInfo: many at once (merged on PostgreSQL) each answer for their own cache and hash", () =>
      withStores(1, async (a) => {
        await a.createCache({ name: "d", isPublic: true, priority: 40 });
        const here = Array.from({ length: 40 }, (_, i) => h(`here-${i}`));
        for (const x of here) await push(a, "c", x);
        const pending = h("pending");
        assert.equal((await push(a, "c", pending, [h("absent")])).visible, false);
        const asked = [...here, pending, h("nowhere"), ...here.slice(0, 5)].flatMap((x) => [
          ["c", x],
          ["d", x],
        ]) as Array<[string, string]>;
        const texts = await Promise.all(asked.map(([cache, x]) => a.getNarInfo(cache, x)));
        asked.forEach(([cache, x], i) => {
          const expected = cache === "c" && here.includes(x);
          assert.equal(texts[i] !== undefined, expected, `${cache}/${x}`);
          if (expected) assert.match(texts[i] ?? "", new RegExp(`^StorePath: /nix/store/${x}-`));
        });
      }));

    test("closure: references pushed first (as Nix does) are visible at each commit", () =>
      withStores(1, async (a) => {
        const [lib, app] = [h("lib"), h("app")];
        assert.deepEqual(await push(a, "c", lib), { visible: true, missing: [] });
        assert.deepEqual(await push(a, "c", app, [lib]), { visible: true, missing: [] });
        assert.deepEqual(await visible(a, "c", [lib, app]), [true, true]);
        assert.equal(await a.pendingCount("c"), 0);
        assert.equal((await a.listCaches())[0]?.narinfos, 2);
      }));

    test("closure: dependents pushed first stay missing until the last reference, then all appear", () =>
      withStores(2, async (a, b) => {
        // app → lib → libc
        const [app, lib, libc] = [h("app"), h("lib"), h("libc")];
        assert.deepEqual(await push(a, "c", app, [lib]), { visible: false, missing: [lib] });
        assert.equal(await b.getNarInfo("c", app), undefined);
        assert.deepEqual(await b.missingNarInfos("c", [app]), [app]);
        assert.equal(await b.pendingCount("c"), 1);
        assert.deepEqual(await b.pendingReferences("c", 10), [{ cache: "c", hash: lib }]);
        assert.deepEqual(await b.pendingReferences(undefined, 10), [{ cache: "c", hash: lib }]);
        assert.equal((await b.listCaches())[0]?.narinfos, 0, "counts shown to users are of visible narinfos");
        assert.equal((await b.narInfoBlobs()).length, 1, "a pending narinfo still holds its NAR");
        assert.equal((await b.invisibleNarsBefore(Date.now() + 1000)).length, 0, "nor is its NAR swept");

        assert.deepEqual(await push(b, "c", lib, [libc]), { visible: false, missing: [libc] });
        assert.deepEqual(await visible(a, "c", [app, lib]), [false, false]);
        // lib has a (pending) narinfo: only libc is left to look for upstream.
        assert.deepEqual(await a.pendingReferences("c", 10), [{ cache: "c", hash: libc }]);
        assert.equal(await a.pendingCount("c"), 2);

        assert.deepEqual(await push(a, "c", libc), { visible: true, missing: [] });
        assert.deepEqual(await visible(b, "c", [app, lib, libc]), [true, true, true]);
        assert.equal(await b.pendingCount("c"), 0);
        assert.deepEqual(await b.pendingReferences("c", 10), []);
        assert.equal((await b.listCaches())[0]?.narinfos, 3);
      }));

    test("closure: a diamond appears at once when its bottom arrives", () =>
      withStores(1, async (a) => {
        // top → left, right; left, right → bottom
        const [top, left, right, bottom] = [h("top"), h("left"), h("right"), h("bottom")];
        assert.deepEqual((await push(a, "c", top, [left, right])).missing.sort(), [left, right].sort());
        assert.deepEqual(await push(a, "c", left, [bottom]), { visible: false, missing: [bottom] });
        assert.deepEqual(await visible(a, "c", [top, left]), [false, false]);
        assert.deepEqual(await push(a, "c", right, [bottom]), { visible: false, missing: [bottom] });
        assert.equal(await a.pendingCount("c"), 3);
        assert.deepEqual(await push(a, "c", bottom), { visible: true, missing: [] });
        assert.deepEqual(await visible(a, "c", [top, left, right, bottom]), [true, true, true, true]);
      }));

    test("closure: a self-reference never blocks", () =>
      withStores(1, async (a) => {
        const self = h("self");
        assert.deepEqual(await push(a, "c", self, [self]), { visible: true, missing: [] });
        assert.notEqual(await a.getNarInfo("c", self), undefined);
      }));

    test("closure: the narinfos naming NARs and every one whose closure holds them (what a copy leaves out)", () =>
      withStores(2, async (a, b) => {
        // top → left, right → bottom (a diamond), pending → bottom and a path never pushed; other
        // apart; the same graph in cache "d" must not count.
        const [top, left, right, bottom, pending, other] = [
          "top",
          "left",
          "right",
          "bottom",
          "pending",
          "other",
        ].map(h);
        await b.createCache({ name: "d", isPublic: true, priority: 40 });
        for (const cache of ["c", "d"]) {
          await push(a, cache, bottom as string);
          await push(a, cache, left as string, [bottom as string]);
          await push(a, cache, right as string, [bottom as string]);
          await push(a, cache, top as string, [left as string, right as string, top as string]);
          await push(a, cache, pending as string, [bottom as string, h("never")]);
          await push(a, cache, other as string);
        }
        const url = (x: string | undefined) => `nar/${x}.nar`;
        const found = await b.dependentNarInfos("c", [url(bottom)]);
        assert.deepEqual(
          found,
          [bottom, left, right, top, pending]
            .map((x) => ({
              hash: x as string,
              storePath: `/nix/store/${x}-p`,
              url: url(x),
              root: bottom as string,
            }))
            .sort((x, y) => (x.hash < y.hash ? -1 : 1)),
          "each once, pending ones too, ordered by hash",
        );
        const two = await b.dependentNarInfos("c", [url(left), url(other), "nar/unknown.nar"]);
        assert.deepEqual(
          two.map((x) => [x.hash, x.root]),
          [
            [left, left],
            [other, other],
            [top, left],
          ].sort((x, y) => ((x[0] as string) < (y[0] as string) ? -1 : 1)),
        );
        assert.deepEqual(await b.dependentNarInfos("c", []), []);
      }));

    test("closure: paths marked upstream count as present, and release what waits on them", () =>
      withStores(2, async (a, b) => {
        const [app, glibc, bash] = [h("app"), h("glibc"), h("bash")];
        await a.markUpstream("c", [bash]);
        assert.deepEqual(await push(a, "c", app, [glibc, bash]), { visible: false, missing: [glibc] });
        assert.deepEqual(await b.pendingReferences("c", 10), [{ cache: "c", hash: glibc }]);
        assert.deepEqual(await b.markUpstream("c", [glibc]), [app]);
        assert.deepEqual(await visible(a, "c", [app, glibc, bash]), [true, false, false]);
        assert.deepEqual(await b.markUpstream("c", [glibc]), [], "marking again releases nothing");
        assert.deepEqual(await b.markUpstream("c", []), []);
      }));

    test("closure: committing again replaces the text; pending ones are recomputed, visible ones stay whole", () =>
      withStores(1, async (a) => {
        const [x, y, gone] = [h("x"), h("y"), h("gone")];
        assert.equal((await push(a, "c", x, [gone])).visible, false);
        // The same path committed again with the references it really has (none missing).
        assert.deepEqual(
          await a.commitNarInfo({
            cache: "c",
            hash: x,
            storePath: `/nix/store/${x}-p`,
            url: `nar/${x}.nar`,
            text: "second",
            references: [],
          }),
          { visible: true, missing: [] },
        );
        assert.equal(await a.getNarInfo("c", x), "second");
        assert.deepEqual(await a.pendingReferences("c", 10), []);
        // A visible narinfo stays visible (its dependents rely on it), and is replaced only by a
        // text whose references are all present: one naming a missing path is refused (issue 30,
        // item 1), and what is served, its references and NAR records stay as they were.
        await push(a, "c", y, [x]);
        const refs = async () =>
          (await a.exportRecords("narinfos", null, 10)).records.map((r) => r.references);
        const before = { refs: await refs(), nars: await a.narInfoBlobs() };
        await a.recordNar({
          cache: "c",
          url: `nar/${x}-other.nar`,
          blob: "b".repeat(64),
          compression: "none",
          narHash: "sha256:x",
          narSize: 1,
          fileHash: "sha256:x",
          fileSize: 1,
        });
        await assert.rejects(
          a.commitNarInfo({
            cache: "c",
            hash: x,
            storePath: `/nix/store/${x}-p`,
            url: `nar/${x}-other.nar`,
            text: "third",
            references: [gone],
          }),
          (e: unknown) =>
            e instanceof ReferencesMissingError &&
            e.code === "conflict" &&
            e.missing.join() === gone &&
            e.message.includes(gone) &&
            /served by cache "c" already/.test(e.message),
        );
        assert.equal(await a.getNarInfo("c", x), "second");
        assert.deepEqual(await visible(a, "c", [x, y]), [true, true]);
        assert.deepEqual(await a.pendingReferences("c", 10), []);
        assert.equal(await a.pendingCount("c"), 0);
        assert.deepEqual(await refs(), before.refs);
        assert.deepEqual(await a.narInfoBlobs(), before.nars);
        assert.equal((await a.getNar("c", `nar/${x}-other.nar`))?.visible, false, "its NAR stays unserved");
        // Once what it names is present (here, upstream), it replaces the served one.
        await a.markUpstream("c", [gone]);
        assert.deepEqual(
          await a.commitNarInfo({
            cache: "c",
            hash: x,
            storePath: `/nix/store/${x}-p`,
            url: `nar/${x}.nar`,
            text: "fourth",
            references: [gone],
          }),
          { visible: true, missing: [] },
        );
        assert.equal(await a.getNarInfo("c", x), "fourth");
      }));

    test("closure: a commit releasing 5,000 waiters, or naming 1,400 references, lets the event loop run; readers see all or nothing", () =>
      withStores(1, async (a) => {
        /** Runs `f`, counting the event-loop turns (setImmediate) taken while it runs. */
        async function turnsDuring<T>(
          f: () => Promise<T>,
          during?: (turn: number) => void,
        ): Promise<[T, number]> {
          let turns = 0;
          let running = true;
          const tick = () => {
            if (!running) return;
            turns++;
            during?.(turns);
            setImmediate(tick);
          };
          setImmediate(tick);
          try {
            return [await f(), turns];
          } finally {
            running = false;
          }
        }
        const base = h("release-base");
        const waiters = Array.from({ length: 5000 }, (_, i) => h(`release-${i}`));
        // Loaded in bulk, as a data copy writes them: each waits for `base`.
        await a.importRecords(
          "narinfos",
          waiters.map((w) => ({
            cache: "c",
            hash: w,
            storePath: `/nix/store/${w}-p`,
            url: `nar/${w}.nar`,
            text: `StorePath: /nix/store/${w}-p\nReferences: ${base}-p\n`,
            createdAt: Date.now(),
            visible: false,
            waitsFor: [base],
            references: [base],
          })),
        );
        assert.equal(await a.pendingCount("c"), 5000);
        let seen: Promise<string[]> | undefined;
        const [committed, turns] = await turnsDuring(
          () => push(a, "c", base),
          (turn) => {
            // A reader mid-commit: it sees the release whole or not at all.
            if (turn === 3) seen = a.missingNarInfos("c", waiters);
          },
        );
        assert.deepEqual(committed, { visible: true, missing: [] });
        assert.ok(turns >= 10, `the event loop turned ${turns} times during the release`);
        assert.ok([0, 5000].includes((await seen)?.length ?? -1), "a reader saw all waiters or none");
        assert.deepEqual(await a.missingNarInfos("c", waiters), []);
        assert.equal(await a.pendingCount("c"), 0);

        const many = Array.from({ length: 1400 }, (_, i) => h(`many-refs-${i}`));
        const [big, bigTurns] = await turnsDuring(() => push(a, "c", h("many-refs"), many));
        assert.equal(big.missing.length, 1400);
        assert.ok(bigTurns >= 5, `the event loop turned ${bigTurns} times during the commit`);
      }));

    test("closure: a narinfo naming more than MAX_REFERENCES references is refused; as many is stored", () =>
      withStores(1, async (a) => {
        const refs = Array.from({ length: MAX_REFERENCES + 1 }, (_, i) => h(`cap-${i}`));
        const over = h("cap-over");
        await assert.rejects(push(a, "c", over, refs), (e: unknown) => {
          assert.ok(e instanceof DbError && e.code === "tooLarge", String(e));
          assert.ok(e.message.includes(`${MAX_REFERENCES + 1} references`), e.message);
          assert.ok(e.message.includes(String(MAX_REFERENCES)), e.message);
          return true;
        });
        assert.equal(await a.pendingCount("c"), 0, "nothing of it is stored");
        assert.deepEqual(await a.pendingReferences("c", 10), []);
        assert.equal((await push(a, "c", h("cap-at"), refs.slice(1))).missing.length, MAX_REFERENCES);
      }));

    test("closure: concurrent commits of a graph in random order from several stores all become visible", () =>
      withStores(3, async (...stores) => {
        // A layered graph: each node references up to three of the layer below (plus diamonds).
        const layers = [6, 6, 6, 6, 6].map((n, l) => Array.from({ length: n }, (_, i) => h(`g-${l}-${i}`)));
        const refs = new Map<string, string[]>();
        layers.forEach((layer, l) => {
          const below = layers[l + 1] ?? [];
          for (const [i, node] of layer.entries())
            refs.set(
              node,
              below.length === 0
                ? []
                : [...new Set([i, i + 1, i * 2].map((k) => below[k % below.length] as string))],
            );
        });
        const nodes = shuffled([...refs.keys()]);
        await Promise.all(
          nodes.map((node, i) => push(stores[i % stores.length] as MetadataStore, "c", node, refs.get(node))),
        );
        const a = stores[0] as MetadataStore;
        assert.deepEqual(await a.missingNarInfos("c", nodes), []);
        assert.equal(await a.pendingCount("c"), 0);
      }));

    test("multipart: racing transitions have exactly one winner", () =>
      withStores(2, async (a, b) => {
        const up = await a.createMultipart({ cache: "c", compression: "zstd", tokenId: "tok_1" });
        assert.equal(up.state, "open");
        assert.deepEqual(await b.getMultipart(up.narId), up);
        assert.equal(await b.openMultipartsOf("tok_1"), 1);
        const named = await a.createMultipart({
          cache: "c",
          compression: "xz",
          narId: "n-1",
          uploadId: "u-1",
        });
        assert.equal(named.uploadId, "u-1");
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? a : b).transitionMultipart(up.narId, "open", "completing"),
          ),
        );
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await a.getMultipart(up.narId))?.state, "completing");
        assert.equal(await a.openMultipartsOf("tok_1"), 1, "completing still counts as open");
        assert.deepEqual((await a.openMultipartsBefore(Date.now() + 1000)).sort(), [up.narId, "n-1"].sort());
        await a.putPart(up.narId, { part: 2, etag: "e2", size: 10 });
        await a.putPart(up.narId, { part: 1, etag: "e1", size: 6_000_000_000 });
        await b.putPart(up.narId, { part: 2, etag: "e2b", size: 11 });
        assert.deepEqual(await b.parts(up.narId), [
          { part: 1, etag: "e1", size: 6_000_000_000 },
          { part: 2, etag: "e2b", size: 11 },
        ]);
        await a.deleteParts(up.narId);
        assert.deepEqual(await b.parts(up.narId), []);
        assert.equal(await b.transitionMultipart(up.narId, "completing", "completed"), true);
        assert.equal(await a.openMultipartsOf("tok_1"), 0);
      }));

    // Issue 30, item 14: the cap held only per process (count, then insert), 109 open against 100.
    test("multipart: the per-token cap holds for uploads opened at once from several store objects", () =>
      withStores(3, async (a, b, c) => {
        const stores = [a, b, c] as MetadataStore[];
        const open = (i: number, tokenId = "tok_cap") =>
          (stores[i % 3] as MetadataStore).createMultipart({
            cache: "c",
            compression: "zstd",
            tokenId,
            maxOpen: 3,
          });
        const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => open(i)));
        const made = results.filter((r) => r.status === "fulfilled");
        assert.equal(made.length, 3, "exactly the cap is opened");
        for (const r of results)
          if (r.status === "rejected")
            assert.ok(
              r.reason instanceof DbError &&
                r.reason.code === "tooLarge" &&
                /has 3 multipart uploads open/.test(r.reason.message),
              String(r.reason),
            );
        assert.equal(await a.openMultipartsOf("tok_cap"), 3);
        assert.deepEqual(await a.openMultipartsBefore(Date.now() + 1000).then((x) => x.length), 3);
        // Another token has its own count; no cap given, none applies.
        await open(0, "tok_other");
        await a.createMultipart({ cache: "c", compression: "zstd", tokenId: "tok_cap" });
        assert.equal(await b.openMultipartsOf("tok_cap"), 4);
        // An upload that ends frees its place.
        const first = (made[0] as PromiseFulfilledResult<{ narId: string }>).value;
        await assert.rejects(open(1), (e: unknown) => e instanceof DbError && e.code === "tooLarge");
        assert.equal(await a.transitionMultipart(first.narId, "open", "aborted"), true);
        await assert.rejects(open(2), (e: unknown) => e instanceof DbError && e.code === "tooLarge");
        await a.transitionMultipart(
          (made[1] as PromiseFulfilledResult<{ narId: string }>).value.narId,
          "open",
          "aborted",
        );
        assert.equal((await open(2)).state, "open");
      }));

    test("secrets: racing first uses agree on one value", () =>
      withStores(2, async (a, b) => {
        const all = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).secret("part-urls")),
        );
        assert.equal(all[0]?.length, 32);
        for (const s of all) assert.deepEqual(s, all[0]);
        assert.notDeepEqual(await a.secret("other"), all[0]);
      }));

    test("usage: a counter of the NARs' file sizes, kept by every change; quotas refuse what would pass them", () =>
      withStores(2, async (a, b) => {
        const nar = (url: string, blob: string, fileSize: number) => ({
          cache: "c",
          url,
          blob,
          compression: "none",
          narHash: "sha256:n",
          narSize: fileSize,
          fileHash: "sha256:f",
          fileSize,
        });
        assert.equal(await a.cacheUsage("c"), 0);
        await a.recordNar(nar("nar/1.nar", "1".repeat(64), 100));
        await b.recordNar(nar("nar/2.nar", "2".repeat(64), 50));
        assert.equal(await a.cacheUsage("c"), 150);
        // An invisible URL received again replaces its record, and its size.
        await a.recordNar(nar("nar/2.nar", "3".repeat(64), 70));
        assert.equal(await b.cacheUsage("c"), 170);
        assert.deepEqual(
          (await b.listCaches()).map((x) => [x.name, x.bytes, x.quotaBytes, x.retentionMs]),
          [["c", 170, null, null]],
        );
        await b.setCacheLimits("c", { quotaBytes: 200, retentionMs: 86_400_000 });
        const row = await a.getCache("c");
        assert.equal(row?.quotaBytes, 200);
        assert.equal(row?.retentionMs, 86_400_000);
        await assert.rejects(a.recordNar(nar("nar/4.nar", "4".repeat(64), 31)), (e: unknown) => {
          assert.ok(e instanceof DbError && e.code === "tooLarge", String(e));
          assert.match(e.message, /cache "c" is over its quota: it uses 170 B \(170 bytes\) of 200 B/);
          return true;
        });
        assert.equal(await a.getNar("c", "nar/4.nar"), undefined, "nothing recorded");
        assert.equal(
          await a.recordNar(nar("nar/4.nar", "4".repeat(64), 30)),
          true,
          "up to the quota is fine",
        );
        assert.equal(
          await a.recordNar(nar("nar/4.nar", "4".repeat(64), 30)),
          true,
          "the same NAR again adds nothing",
        );
        assert.equal(await a.cacheUsage("c"), 200);
        // Smaller than before: a replacement that frees bytes is never refused.
        assert.equal(await a.recordNar(nar("nar/2.nar", "5".repeat(64), 20)), true);
        assert.equal(await a.cacheUsage("c"), 150);
        assert.equal(await a.deleteInvisibleNar("c", "nar/2.nar", Date.now() + 1000), true);
        assert.equal(await b.cacheUsage("c"), 130);
        await a.setCacheLimits("c", { quotaBytes: null });
        assert.equal(await a.recordNar(nar("nar/6.nar", "6".repeat(64), 1000)), true);
        assert.equal(await a.cacheUsage("c"), 1130);
        await assert.rejects(
          a.setCacheLimits("nope", { quotaBytes: 1 }),
          (e: unknown) => e instanceof DbError && e.code === "notFound",
        );
      }));

    test("access times: later ones win, and they move no change counter", () =>
      withStores(1, async (a) => {
        const x = h("accessed");
        await push(a, "c", x);
        await a.setCacheLimits("c", { retentionMs: 1000 });
        const later = Date.now() + 60_000;
        const t = { run: "r", now: later + 10_000, cutoff: later, markedBefore: 0 };
        assert.equal((await a.gcMark("c", { ...t, dryRun: true })).marked, 1, "pushed before the cutoff");
        const local = a.changes.local();
        await a.recordAccess([
          { cache: "c", hash: x, at: later + 5 },
          { cache: "c", hash: x, at: later + 1 },
          { cache: "c", hash: h("no such narinfo"), at: later },
        ]);
        assert.equal(a.changes.local(), local);
        await a.recordAccess([{ cache: "c", hash: x, at: later - 1 }]);
        assert.equal((await a.gcMark("c", { ...t, cutoff: later + 5, dryRun: true })).marked, 0);
        assert.equal((await a.gcMark("c", { ...t, cutoff: later + 6, dryRun: true })).marked, 1);
      }));

    test("access times: written only past an eighth of the retention, never when kept forever; a first or shorter retention moves them", () =>
      withStores(2, async (a, b) => {
        const [x, w, old] = [h("x"), h("w"), h("old")];
        await push(a, "c", x);
        const stored = async (hash: string) => (await b.pathRecord("c", hash)).narinfo?.accessedAt ?? 0;
        const pushed = await stored(x);
        // Kept forever: no access is written, however late.
        await a.recordAccess([{ cache: "c", hash: x, at: pushed + 10 * 86_400_000 }]);
        assert.equal(await stored(x), pushed);
        // A first retention: stored times move to now (fetches were not written until then).
        const setAt = Date.now();
        await a.setCacheLimits("c", { retentionMs: 80_000 });
        const moved = await stored(x);
        assert.ok(moved >= setAt && moved <= Date.now(), "moved to when the retention was set");
        // 80 s: the slack is 10 s. A fetch within it of the stored time is not written, one past it is.
        await a.recordAccess([{ cache: "c", hash: x, at: moved + 10_000 }]);
        assert.equal(await stored(x), moved);
        await a.recordAccess([{ cache: "c", hash: x, at: moved + 10_001 }]);
        assert.equal(await stored(x), moved + 10_001);
        // The GC adds the slack to the retention: a stored time is at most that much before the last fetch.
        assert.equal(gcCutoff(1_000_000, 80_000), 1_000_000 - 80_000 - 10_000);

        // A shorter retention (slack 10 s → 5 s): times that may be recent move 5 s later, up to now.
        await push(a, "c", w);
        const wPushed = await stored(w);
        const hourAgo = Date.now() - 3_600_000;
        const record = { cache: "c", hash: old, storePath: `/nix/store/${old}-p`, url: `nar/${old}.nar` };
        await a.importRecords("narinfos", [
          {
            ...record,
            text: `StorePath: ${record.storePath}\n`,
            createdAt: hourAgo,
            accessedAt: hourAgo,
            visible: true,
            waitsFor: [],
          },
        ]);
        await new Promise((r) => setTimeout(r, 5));
        await a.setCacheLimits("c", { retentionMs: 40_000 });
        const wMoved = await stored(w);
        assert.ok(
          wMoved > wPushed && wMoved <= Math.min(wPushed + 5000, Date.now()),
          "pushed just now: moved, not past now",
        );
        assert.equal(await stored(x), moved + 10_001, "later than now: stays");
        assert.equal(await stored(old), hourAgo, "outside the new retention whatever the slack: stays");
        // A longer one moves nothing; neither does going back to forever.
        await a.setCacheLimits("c", { retentionMs: 400_000 });
        await a.setCacheLimits("c", { retentionMs: null });
        assert.deepEqual(
          [await stored(x), await stored(w), await stored(old)],
          [moved + 10_001, wMoved, hourAgo],
        );
        assert.deepEqual(accessShift(100_000, 40_000, 1_000_000), {
          by: 7500,
          from: 1_000_000 - 40_000 - 12_500,
        });
        assert.equal(accessShift(40_000, 100_000, 1_000_000), undefined);
        assert.equal(accessShift(40_000, null, 1_000_000), undefined);
        assert.deepEqual(accessShift(null, 40_000, 1_000_000), { by: 1_000_000, from: 0 });
      }));

    test("GC: roots are pins and recent narinfos; their closures stay, the rest goes after the grace", () =>
      withStores(2, async (a, b) => {
        // Set before the pushes: a first retention moves the access times of what is there to now.
        await a.setCacheLimits("c", { retentionMs: 1000 });
        // old app → lib → libc; new app → lib; unique (old); pinned → pinDep; pending → missing
        const [oldApp, lib, libc, unique, pinned, pinDep, pending] = [
          "oldApp",
          "lib",
          "libc",
          "unique",
          "pinned",
          "pinDep",
          "pending",
        ].map(h) as [string, string, string, string, string, string, string];
        await push(a, "c", libc);
        await push(a, "c", lib, [libc]);
        await push(a, "c", oldApp, [lib]);
        await push(a, "c", unique);
        await push(a, "c", pinDep);
        await push(a, "c", pinned, [pinDep]);
        assert.equal((await push(a, "c", pending, [h("missing")])).visible, false);
        await b.addPin({ cache: "c", name: "release", storePath: `/nix/store/${pinned}-p`, hash: pinned });
        await new Promise((r) => setTimeout(r, 5));
        const cutoff = Date.now();
        const newApp = h("newApp");
        await push(b, "c", newApp, [lib]);
        for (const x of [unique, lib]) {
          const key = realisationOf(x);
          const text = JSON.stringify({ id: key, outPath: `${x}-p` });
          assert.equal(
            (await a.putRealisation({ cache: "c", kind: "realisations", key, outPath: `${x}-p`, text }))
              .visible,
            true,
          );
        }
        const realisationBytes = Buffer.byteLength(
          JSON.stringify({ id: realisationOf(unique), outPath: `${unique}-p` }),
        );
        const usage = await a.cacheUsage("c");

        const first = { run: "r1", now: cutoff + 10, cutoff, markedBefore: cutoff + 10 - 5 };
        assert.deepEqual(await a.gcMark("c", first), { paths: 8, marked: 3 });
        assert.deepEqual(await a.gcPlan("c", first), { paths: 0, bytes: 0 }, "marked now: not yet");
        // A later run: marked long enough ago.
        const second = { run: "r2", now: cutoff + 20, cutoff, markedBefore: cutoff + 15 };
        assert.deepEqual(await b.gcMark("c", second), { paths: 8, marked: 3 });
        assert.deepEqual(await b.gcPlan("c", { ...second, bytes: true }), { paths: 3, bytes: 300 });
        assert.deepEqual(await b.gcPlan("c", second), { paths: 3, bytes: 0 }, "bytes only when asked");
        // Meanwhile a push references oldApp: it stays, with its closure.
        const racer = h("racer");
        await push(a, "c", racer, [oldApp]);
        const deleted: string[] = [];
        let survived = 0;
        let nars = 0;
        let dropNars: string[] = [];
        for (;;) {
          // No linger here: each batch's NAR URLs go back with the next.
          const batch = await b.gcDeleteBatch("c", { ...second, limit: 10, dropNars });
          if (!batch) break;
          dropNars = batch.narUrls;
          deleted.push(...batch.deleted);
          survived += batch.survived;
          nars += batch.nars.length;
        }
        await b.gcFinish();
        assert.deepEqual(deleted.sort(), [pending, unique].sort());
        assert.equal(survived, 1);
        assert.equal(nars, 2, "their NAR records went after them");
        assert.deepEqual(await visible(a, "c", [oldApp, lib, libc, unique, pinned, pinDep, newApp, racer]), [
          true,
          true,
          true,
          false,
          true,
          true,
          true,
          true,
        ]);
        assert.equal(await a.pendingCount("c"), 0, "the pending one went too");
        assert.deepEqual(await a.realisationsOf("c", unique), [], "its realisation went with it");
        assert.equal(await a.getRealisation("c", "realisations", realisationOf(unique)), undefined);
        assert.equal((await a.realisationsOf("c", lib))[0]?.visible, true, "one of a path that stays stays");
        assert.equal(await a.getNar("c", `nar/${unique}.nar`), undefined, "its NAR record with it");
        assert.equal(await a.cacheUsage("c"), usage + 100 - 200 - realisationBytes);
        assert.equal(await b.blobReferenced(createHash("sha256").update(unique).digest("hex")), false);
      }));

    test("GC: dependents go before their references, batch by batch; fetched ones stay with their closure", () =>
      withStores(1, async (a) => {
        // top → mid → bottom; side → bottom; kept → keptDep (fetched during the GC)
        const [top, mid, bottom, side, kept, keptDep] = [
          "top",
          "mid",
          "bottom",
          "side",
          "kept",
          "keptDep",
        ].map(h) as [string, string, string, string, string, string];
        await push(a, "c", bottom);
        await push(a, "c", mid, [bottom]);
        await push(a, "c", top, [mid]);
        await push(a, "c", side, [bottom]);
        await push(a, "c", keptDep);
        await push(a, "c", kept, [keptDep]);
        await a.setCacheLimits("c", { retentionMs: 1000 });
        const now = Date.now() + 100;
        await a.gcMark("c", { run: "d", now: now - 50, cutoff: now, markedBefore: 0 });
        const t = { run: "d", now, cutoff: now, markedBefore: now - 10 };
        assert.equal((await a.gcPlan("c", t)).paths, 6);
        const refs = new Map([
          [top, [mid]],
          [mid, [bottom]],
          [side, [bottom]],
          [kept, [keptDep]],
        ]);
        const order: string[][] = [];
        const gone = new Set<string>();
        for (;;) {
          const batch = await a.gcDeleteBatch("c", {
            ...t,
            limit: 1,
            protect: (hashes) => new Set(hashes.filter((x) => x === kept)),
          });
          if (!batch) break;
          order.push(batch.deleted);
          for (const x of batch.deleted) gone.add(x);
          // After every batch, every narinfo left has its references.
          for (const [x, xs] of refs)
            if (!gone.has(x)) for (const r of xs) assert.ok(!gone.has(r), `${r} went before ${x}`);
        }
        const flat = order.flat();
        assert.deepEqual(flat.sort(), [top, mid, bottom, side].sort());
        const at = (x: string) => order.findIndex((batch) => batch.includes(x));
        assert.ok(at(top) < at(mid) && at(mid) < at(bottom) && at(side) < at(bottom), JSON.stringify(order));
        assert.deepEqual(await visible(a, "c", [kept, keptDep, bottom]), [true, true, false]);
      }));

    test("GC: references and NAR records outlive a deleted narinfo by the linger", () =>
      withStores(1, async (a) => {
        const [top, bottom] = [h("linger-top"), h("linger-bottom")];
        await push(a, "c", bottom);
        await push(a, "c", top, [bottom]);
        const now = Date.now() + 100;
        await a.gcMark("c", { run: "l", now: now - 50, cutoff: now, markedBefore: 0 });
        const t = { run: "l", now, cutoff: now, markedBefore: now - 10, lingerMs: 300, limit: 10 };
        assert.equal((await a.gcPlan("c", t)).paths, 2);
        const first = await a.gcDeleteBatch("c", t);
        assert.deepEqual(first?.deleted, [top]);
        assert.deepEqual(first?.narUrls, [`nar/${top}.nar`], "its NAR record is left to the caller's linger");
        assert.deepEqual(first?.nars, []);
        const waiting = await a.gcDeleteBatch("c", t);
        assert.deepEqual(waiting?.deleted, []);
        assert.ok((waiting?.retryInMs ?? 0) > 100, JSON.stringify(waiting));
        assert.notEqual(await a.getNarInfo("c", bottom), undefined, "its reference is still served");
        assert.notEqual(await a.visibleNar("c", `nar/${top}.nar`), undefined, "and its NAR");
        await new Promise((r) => setTimeout(r, waiting?.retryInMs));
        const second = await a.gcDeleteBatch("c", { ...t, dropNars: first?.narUrls });
        assert.deepEqual(second?.deleted, [bottom]);
        assert.equal(second?.nars.length, 1, "the top's NAR record");
        assert.equal(await a.visibleNar("c", `nar/${top}.nar`), undefined);
        assert.notEqual(
          await a.visibleNar("c", `nar/${bottom}.nar`),
          undefined,
          "the bottom's stays for now",
        );
        // A NAR record a narinfo still names is not dropped (one pushed after the plan).
        const kept = h("linger-kept");
        await push(a, "c", kept);
        assert.deepEqual((await a.gcDeleteBatch("c", { ...t, dropNars: [`nar/${kept}.nar`] }))?.nars, []);
        assert.notEqual(await a.visibleNar("c", `nar/${kept}.nar`), undefined);
        assert.equal(
          (await a.gcDeleteBatch("c", { ...t, dropNars: second?.narUrls }))?.nars.length,
          1,
          "the bottom's",
        );
        assert.equal(await a.gcDeleteBatch("c", t), undefined);
        await a.gcFinish();
      }));

    test("GC: NAR records no narinfo names are found, and dropped only while still unnamed", () =>
      withStores(1, async (a) => {
        const [x, y] = [h("orphan-x"), h("orphan-y")];
        await push(a, "c", x);
        await push(a, "c", y);
        // x pushed again with another URL: its first NAR record is served by nothing now.
        const moved = `nar/${x}.nar.xz`;
        assert.ok(
          await a.recordNar({
            cache: "c",
            url: moved,
            blob: "d".repeat(64),
            compression: "xz",
            narHash: `sha256:${x}`,
            narSize: 100,
            fileHash: "sha256:moved",
            fileSize: 60,
          }),
        );
        assert.deepEqual(await a.orphanNarUrls("c", 10), [], "an invisible record is the sweep's");
        await a.commitNarInfo({
          cache: "c",
          hash: x,
          storePath: `/nix/store/${x}-p`,
          url: moved,
          text: `StorePath: /nix/store/${x}-p\nURL: ${moved}\n`,
          references: [],
        });
        assert.deepEqual(await a.orphanNarUrls("c", 10), [`nar/${x}.nar`]);
        assert.deepEqual(await a.orphanNarUrls("c", 0), [], "at most the limit");
        const t = { run: "o", now: Date.now(), cutoff: 0, markedBefore: 0, limit: 10 };
        const batch = await a.gcDeleteBatch("c", { ...t, dropNars: [`nar/${x}.nar`, `nar/${y}.nar`] });
        assert.deepEqual(batch?.nars, [
          { blob: createHash("sha256").update(x).digest("hex"), fileSize: 100 },
        ]);
        assert.equal(await a.getNar("c", `nar/${x}.nar`), undefined);
        assert.notEqual(await a.visibleNar("c", moved), undefined, "the one x names now stays");
        assert.notEqual(await a.visibleNar("c", `nar/${y}.nar`), undefined, "a named one stays");
        assert.deepEqual(await a.orphanNarUrls("c", 10), []);
        assert.equal(await a.cacheUsage("c"), 160);
      }));

    test("GC: dry runs count without changing anything", () =>
      withStores(1, async (a) => {
        const x = h("dry");
        await push(a, "c", x);
        const now = Date.now() + 100;
        const t = { run: "dry", now, cutoff: now, markedBefore: now + 1 };
        assert.deepEqual(await a.gcMark("c", { ...t, dryRun: true }), { paths: 1, marked: 1 });
        assert.deepEqual(await a.gcPlan("c", t), { paths: 0, bytes: 0 }, "nothing was marked");
        await a.gcFinish();
        assert.notEqual(await a.getNarInfo("c", x), undefined);
      }));

    test("pins: only visible paths, channels keep their newest N, removal", () =>
      withStores(2, async (a, b) => {
        const [p1, p2, p3] = [h("p1"), h("p2"), h("p3")];
        for (const x of [p1, p2, p3]) await push(a, "c", x);
        await push(a, "c", h("waiting"), [h("absent")]);
        const sp = (x: string) => `/nix/store/${x}-p`;
        for (const [path, hash] of [
          [sp(h("unknown")), h("unknown")],
          [sp(h("waiting")), h("waiting")],
          [`/nix/store/${p1}-other-name`, p1],
        ] as const)
          await assert.rejects(
            a.addPin({ cache: "c", name: "x", storePath: path, hash }),
            (e: unknown) => e instanceof DbError && e.code === "notFound" && e.message.includes(path),
          );
        const all = { limit: 100, revisions: 100 };
        assert.deepEqual(await a.listPins("c", all), [], "a refused pin leaves nothing");
        await a.addPin({ cache: "c", name: "main", storePath: sp(p1), hash: p1, keep: { revisions: 2 } });
        await b.addPin({ cache: "c", name: "main", storePath: sp(p2), hash: p2 });
        const third = await a.addPin({
          cache: "c",
          name: "main",
          storePath: sp(p3),
          hash: p3,
          artifacts: ["bin/x"],
        });
        assert.deepEqual(third.keep, { revisions: 2 });
        assert.deepEqual(
          third.revisions.map((r) => r.hash),
          [p3],
          "the pin with its new revision",
        );
        assert.equal(third.revisionCount, 2);
        assert.deepEqual(
          (await b.getPin("c", "main", { limit: 10 }))?.revisions.map((r) => r.hash),
          [p3, p2],
        );
        assert.deepEqual(third.revisions[0]?.artifacts, ["bin/x"]);
        // Pinned again: the newest revision.
        const again = await b.addPin({ cache: "c", name: "main", storePath: sp(p2), hash: p2 });
        assert.deepEqual(
          (await a.getPin("c", "main", { limit: 10 }))?.revisions.map((r) => r.hash),
          [p2, p3],
        );
        assert.equal(again.revisionCount, 2);
        await a.addPin({ cache: "c", name: "v1", storePath: sp(p1), hash: p1, keep: { days: 3 } });
        const pins = await b.listPins("c", all);
        assert.deepEqual(
          pins.map((p) => [p.name, p.keep, p.revisions.map((r) => r.storePath)]),
          [
            ["main", { revisions: 2 }, [sp(p2), sp(p3)]],
            ["v1", { days: 3 }, [sp(p1)]],
          ],
        );
        assert.equal(await a.removePin("c", "main"), true);
        assert.equal(await b.removePin("c", "main"), false);
        assert.deepEqual(
          (await a.listPins("c", all)).map((p) => p.name),
          ["v1"],
        );
        assert.equal(await a.getPin("c", "main", { limit: 1 }), undefined);
      }));

    test("GC: pin revisions older than their pin's days go at the mark, the newest always stays", () =>
      withStores(1, async (a) => {
        const [p1, p2, p3] = [h("d1"), h("d2"), h("d3")];
        for (const x of [p1, p2, p3]) await push(a, "c", x);
        const sp = (x: string) => `/nix/store/${x}-p`;
        for (const x of [p1, p2])
          await a.addPin({ cache: "c", name: "old", storePath: sp(x), hash: x, keep: { days: 3 } });
        await a.addPin({ cache: "c", name: "one", storePath: sp(p3), hash: p3, keep: { days: 3 } });
        const revisions = async (name: string) =>
          (await a.getPin("c", name, { limit: 10 }))?.revisions.map((r) => r.hash);
        const day = 86_400_000;
        const t = (now: number) => ({ run: `r${now}`, now, cutoff: 0, markedBefore: 0 });
        await a.gcMark("c", { ...t(Date.now() + 2 * day), dryRun: false });
        assert.deepEqual(await revisions("old"), [p2, p1], "within 3 days: both stay");
        await a.gcMark("c", { ...t(Date.now() + 4 * day), dryRun: true });
        assert.deepEqual(await revisions("old"), [p2, p1], "a dry run deletes nothing");
        await a.gcMark("c", { ...t(Date.now() + 4 * day), dryRun: false });
        assert.deepEqual(await revisions("old"), [p2], "the older revision went, the newest stays");
        assert.deepEqual(await revisions("one"), [p3], "a pin's only revision stays however old");
        await a.gcFinish();
      }));

    // Issue 30, item 2: 108 revisions of 1,000 artifacts of 4 KB each: a 447 MB pin list, and each
    // new revision re-read all of them.
    test("pins: artifacts bounded, kept by the newest revision only; pages of pins and of revisions", () =>
      withStores(2, async (a, b) => {
        const ps = Array.from({ length: 5 }, (_, i) => h(`art-${i}`));
        for (const x of ps) await push(a, "c", x);
        const sp = (x: string) => `/nix/store/${x}-p`;
        const pin = (name: string, i: number, artifacts: string[] = []) =>
          a.addPin({ cache: "c", name, storePath: sp(ps[i] as string), hash: ps[i] as string, artifacts });
        const refused = (e: unknown, re: RegExp) =>
          e instanceof DbError && e.code === "invalid" && re.test(e.message);
        await assert.rejects(
          pin(
            "main",
            0,
            Array.from({ length: 101 }, (_, i) => `bin/${i}`),
          ),
          (e: unknown) => refused(e, /at most 100 artifacts, not 101/),
        );
        await assert.rejects(pin("main", 0, ["ok", "x".repeat(1025)]), (e: unknown) =>
          refused(e, /artifact 2 is 1025 characters long, more than the 1024/),
        );
        assert.deepEqual(await b.listPins("c", { limit: 10, revisions: 10 }), [], "nothing stored");

        const full = Array.from({ length: 100 }, (_, i) => `share/${i}`);
        for (let i = 0; i < 5; i++) await pin("main", i, [...full.slice(0, 99), `bin/${i}`]);
        const [main] = await b.listPins("c", { limit: 10, revisions: 10 });
        assert.equal(main?.revisionCount, 5);
        assert.deepEqual(
          main?.revisions.map((r) => [r.hash, r.artifacts.length]),
          [
            [ps[4], 100],
            [ps[3], 0],
            [ps[2], 0],
            [ps[1], 0],
            [ps[0], 0],
          ],
          "only the newest revision keeps its artifacts",
        );
        assert.equal(main?.revisions[0]?.artifacts.at(-1), "bin/4");
        // Pinned again, an older path becomes the newest and takes the artifacts given now.
        const again = await pin("main", 1, ["bin/again"]);
        assert.deepEqual(
          again.revisions.map((r) => [r.hash, r.artifacts]),
          [[ps[1], ["bin/again"]]],
        );
        assert.equal(again.revisionCount, 5);
        const history = await b.getPin("c", "main", { limit: 2 });
        assert.deepEqual(
          history?.revisions.map((r) => [r.hash, r.artifacts.length]),
          [
            [ps[1], 1],
            [ps[4], 0],
          ],
        );
        const older = await b.getPin("c", "main", { limit: 2, before: history?.revisions[1]?.hash });
        assert.deepEqual(
          older?.revisions.map((r) => r.hash),
          [ps[3], ps[2]],
        );
        const oldest = await b.getPin("c", "main", { limit: 2, before: older?.revisions[1]?.hash });
        assert.deepEqual(
          oldest?.revisions.map((r) => r.hash),
          [ps[0]],
        );
        // A keep trims the count with the revisions.
        await a.addPin({
          cache: "c",
          name: "main",
          storePath: sp(ps[2] as string),
          hash: ps[2] as string,
          keep: { revisions: 2 },
        });
        assert.equal((await b.getPin("c", "main", { limit: 1 }))?.revisionCount, 2);

        for (const name of ["d", "b", "e", "a"]) await pin(name, 0, ["bin/x"]);
        const page1 = await b.listPins("c", { limit: 2, revisions: 1, artifacts: false });
        assert.deepEqual(
          page1.map((p) => [p.name, p.revisionCount, p.revisions.map((r) => r.artifacts)]),
          [
            ["a", 1, [[]]],
            ["b", 1, [[]]],
          ],
          "without artifacts when asked",
        );
        const page2 = await b.listPins("c", { limit: 2, revisions: 1, after: "b" });
        assert.deepEqual(
          page2.map((p) => [p.name, p.revisions[0]?.artifacts]),
          [
            ["d", ["bin/x"]],
            ["e", ["bin/x"]],
          ],
        );
        assert.deepEqual(
          (await b.listPins("c", { limit: 2, revisions: 1, after: "e" })).map((p) => p.name),
          ["main"],
        );
        assert.equal(await a.removePin("c", "d"), true);
        assert.deepEqual(
          (await b.listPins("c", { limit: 10, revisions: 0 })).map((p) => [
            p.name,
            p.revisionCount,
            p.revisions.length,
          ]),
          [
            ["a", 1, 0],
            ["b", 1, 0],
            ["e", 1, 0],
            ["main", 2, 0],
          ],
        );
      }));

    test("leases: one holder at a time, renewed by it, free once released or expired", () =>
      withStores(2, async (a, b) => {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).acquireLease("gc", `holder-${i}`, 60_000)),
        );
        assert.equal(results.filter(Boolean).length, 1, "racing holders: one wins");
        const winner = `holder-${results.indexOf(true)}`;
        assert.equal(await a.acquireLease("gc", winner, 60_000), true, "the holder renews");
        assert.equal(await b.acquireLease("gc", "other", 60_000), false);
        await b.releaseLease("gc", "other");
        assert.equal(await b.acquireLease("gc", "other", 60_000), false, "only the holder releases");
        await a.releaseLease("gc", winner);
        assert.equal(await b.acquireLease("gc", "other", 50), true);
        await new Promise((r) => setTimeout(r, 120));
        assert.equal(await a.acquireLease("gc", winner, 60_000), true, "an expired lease is free");
      }));

    test("leases: one held by a holder known to be gone is taken from it, and only from it", () =>
      withStores(2, async (a, b) => {
        assert.equal(await a.leaseHolder("gc"), undefined);
        assert.equal(await a.acquireLease("gc", "dead", 60_000), true);
        assert.equal(await b.leaseHolder("gc"), "dead");
        assert.equal(await b.acquireLease("gc", "next", 60_000), false);
        assert.equal(await b.acquireLease("gc", "next", 60_000, "someone-else"), false, "not from another");
        const racing = await Promise.all([
          a.acquireLease("gc", "next-a", 60_000, "dead"),
          b.acquireLease("gc", "next-b", 60_000, "dead"),
        ]);
        assert.equal(racing.filter(Boolean).length, 1, "two taking it over at once: one gets it");
        const winner = racing[0] ? "next-a" : "next-b";
        assert.equal(await a.leaseHolder("gc"), winner);
        assert.equal(await a.acquireLease("gc", winner, 60_000), true, "its holder renews it");
        await b.releaseLease("gc", winner);
        assert.equal(await a.leaseHolder("gc"), undefined);
      }));

    test("blob claims: only unnamed blobs, and a claimed blob is refused to NAR records meanwhile", () =>
      withDatabase(2, async (db, a, b) => {
        const named = h("named");
        await push(a, "c", named);
        const namedBlob = createHash("sha256").update(named).digest("hex");
        const free = "f".repeat(64);
        assert.deepEqual(await b.claimBlobs([namedBlob, free, free], "gc-1"), [free]);
        assert.deepEqual(await a.blobClaims(10), [{ blob: free, holder: "gc-1", stale: false }]);
        const nar = {
          cache: "c",
          url: "nar/f.nar",
          blob: free,
          compression: "none",
          narHash: "sha256:n",
          narSize: 1,
          fileHash: "sha256:f",
          fileSize: 1,
        };
        await assert.rejects(
          a.recordNar(nar),
          (e: unknown) =>
            e instanceof DbError && e.code === "unavailable" && /garbage collector/.test(e.message),
        );
        await assert.rejects(
          a.putSideFile("c", "log", "drv", {
            body: Buffer.alloc(0),
            blob: free,
            contentType: "text/plain",
            contentEncoding: null,
          }),
          (e: unknown) => e instanceof DbError && e.code === "unavailable",
        );
        // Another holder neither takes a fresh claim, nor renews or releases it.
        assert.deepEqual(await a.claimBlobs([free], "gc-2"), []);
        assert.deepEqual(await a.renewBlobClaims([free], "gc-2"), []);
        await a.releaseBlobClaims([free], "gc-2");
        assert.deepEqual(await b.renewBlobClaims([free, namedBlob], "gc-1"), [free], "its holder renews it");
        assert.deepEqual(await b.claimBlobs([free], "gc-1"), [free], "and may claim it again");
        assert.deepEqual(await a.claimBlobs([free], "gc-2", ["gc-9"]), [], "taken over from the gone only");
        assert.deepEqual(await a.claimBlobs([free], "gc-2", ["gc-1"]), [free], "from a holder gone");
        assert.deepEqual(await b.claimBlobs([free], "gc-1"), [], "which no longer has it");
        assert.deepEqual(await b.claimBlobs([free], "gc-1", ["gc-2"]), [free], "back (gc-2 is gone now)");
        // Not renewed for longer than a claim lives (its holder died): stale, and uploads go through.
        await db.exec(`UPDATE blob_claims SET claimed_at = claimed_at - ${BLOB_CLAIM_TTL_MS + 1000}`);
        assert.deepEqual(await a.blobClaims(10), [{ blob: free, holder: "gc-1", stale: true }]);
        assert.deepEqual(await b.renewBlobClaims([free], "gc-1"), [], "a lapsed claim is not renewed");
        assert.deepEqual(await a.claimBlobs([free], "gc-2"), [free], "a stale claim is taken over");
        assert.deepEqual(await a.blobClaims(10), [{ blob: free, holder: "gc-2", stale: false }]);
        assert.deepEqual(await b.renewBlobClaims([free], "gc-1"), [], "no longer its first holder's");
        await db.exec(`UPDATE blob_claims SET claimed_at = claimed_at - ${BLOB_CLAIM_TTL_MS + 1000}`);
        assert.equal(await a.recordNar(nar), true, "a stale claim refuses nothing");
        assert.deepEqual(await b.claimBlobs([free], "gc-1"), [], "named now");
        assert.deepEqual(await a.blobClaims(10), [], "and its claim dropped");
        await b.claimBlobs(["e".repeat(64)], "gc-3");
        await b.releaseBlobClaims(["e".repeat(64)], "gc-3");
        assert.deepEqual(await a.blobClaims(10), []);
      }));

    test("changes: local moves on own writes, external on another store's", () =>
      withStores(2, async (a, b) => {
        const local = a.changes.local();
        await a.createCache({ name: "mine", isPublic: true, priority: 1 });
        assert.notEqual(a.changes.local(), local);
        const external = a.changes.external();
        await b.createCache({ name: "theirs", isPublic: true, priority: 1 });
        await waitFor("a notification of b's write", () => a.changes.external() !== external);
      }));

    test("OIDC: trust rules per cache, by issuer; oidc tokens keep their grants", () =>
      withStores(2, async (a, b) => {
        await a.createCache({ name: "d", isPublic: false, priority: 40 });
        const iss = "https://token.actions.githubusercontent.com";
        const main = await a.addTrustRule({
          cache: "c",
          issuer: iss,
          subject: "repo:org/flake:ref:refs/heads/main",
          claims: { event_name: "push" },
          perm: "write",
        });
        assert.match(main.id, /^rule_[0-9a-f]{8}$/);
        assert.deepEqual(main.claims, { event_name: "push" });
        const pr = await a.addTrustRule({
          cache: "c",
          issuer: iss,
          subject: "repo:org/flake:**",
          perm: "read",
        });
        assert.deepEqual(pr.claims, {}, "no claims stored as none");
        const other = await b.addTrustRule({
          cache: "d",
          issuer: "http://127.0.0.1:1",
          subject: "x",
          perm: "read",
        });
        await assert.rejects(
          a.addTrustRule({ cache: "nope", issuer: iss, subject: "repo:org/x", perm: "read" }),
          (e: unknown) => e instanceof DbError && e.code === "notFound",
        );
        assert.deepEqual(await b.trustRules({ cache: "c" }), [main, pr]);
        assert.deepEqual(await b.trustRules({ issuer: iss }), [main, pr]);
        assert.deepEqual(await b.trustRules({ issuer: other.issuer }), [other]);
        assert.deepEqual(await b.trustRules({ cache: "d", issuer: iss }), []);
        assert.deepEqual((await a.trustRules()).map((r) => r.id).sort(), [main.id, pr.id, other.id].sort());
        assert.equal(await b.removeTrustRule("d", main.id), false, "a rule is removed only from its cache");
        assert.equal(await b.removeTrustRule("c", main.id), true);
        assert.equal(await a.removeTrustRule("c", main.id), false);
        assert.deepEqual(await a.trustRules({ cache: "c" }), [pr]);

        const oidc = await a.insertToken({
          kind: "oidc",
          grants: { c: "write", d: "read" },
          hash: "ho",
          id: "tok_o",
          expiresAt: 5_000_000_000_000,
          description: "repo:org/flake:ref:refs/heads/main",
        });
        assert.equal(oidc.kind, "oidc");
        assert.deepEqual(oidc.grants, { c: "write", d: "read" });
        assert.equal(oidc.perm, "write", "perm is the highest grant");
        assert.equal(oidc.cache, "");
        assert.equal(oidc.account, null);
        assert.deepEqual(await b.tokenByHash("ho"), oidc);
        const readOnly = await b.insertToken({
          kind: "oidc",
          grants: { c: "read" },
          hash: "hr",
          id: "tok_r",
          expiresAt: 1,
        });
        assert.equal(readOnly.perm, "read");
        const plain = await a.insertToken({
          kind: "cache",
          cache: "c",
          perm: "read",
          hash: "hc",
          id: "tok_c",
          expiresAt: null,
        });
        assert.equal(plain.grants, null);
        assert.deepEqual((await b.listTokens()).map((t) => `${t.id} ${t.kind}`).sort(), [
          "tok_c cache",
          "tok_o oidc",
          "tok_r oidc",
        ]);
      }));

    // Issue 30, item 9: one identity token gave 3,000 tokens, and expired ones were never deleted.
    test("OIDC: one token per identity token, from any store; exchanges per subject limited; expired ones purged; revoked by subject or rule", () =>
      withStores(2, async (a, b) => {
        const iss = "https://token.actions.githubusercontent.com";
        let n = 0;
        const token = (identity: string, subject: string, rules: string[], expiresAt = 5_000_000_000_000) => {
          const id = `tok_${String(++n).padStart(12, "0")}`;
          return {
            kind: "oidc" as const,
            grants: { c: "write" as const },
            hash: `h${id}`,
            id,
            expiresAt,
            description: subject,
            oidc: { issuer: iss, subject, rules, identity },
          };
        };
        const limits = { perMinute: 3, purgeBefore: 0 };
        const main = "repo:org/flake:ref:refs/heads/main";
        const same = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            (i % 2 ? a : b).insertOidcToken(token("id-1", main, ["rule_1"]), limits),
          ),
        );
        const stored = same.filter((r) => "row" in r);
        assert.equal(stored.length, 1, JSON.stringify(same));
        const first = (stored[0] as { row: { id: string; createdAt: number } }).row;
        for (const r of same.filter((x) => !("row" in x)))
          assert.deepEqual(r, { refused: "replayed", tokenId: first.id, at: first.createdAt });
        const row = await b.tokenById(first.id);
        assert.deepEqual(row?.oidc, { issuer: iss, subject: main, rules: ["rule_1"] });

        assert.ok("row" in (await a.insertOidcToken(token("id-2", main, ["rule_1", "rule_2"]), limits)));
        assert.ok("row" in (await b.insertOidcToken(token("id-3", main, ["rule_2"]), limits)));
        const over = await a.insertOidcToken(token("id-4", main, ["rule_2"]), limits);
        assert.equal("refused" in over && over.refused, "rateLimited");
        assert.ok("retryAfterMs" in over && over.retryAfterMs >= 1000 && over.retryAfterMs <= 60_000);
        const pr = "repo:org/flake:pull_request";
        assert.ok(
          "row" in (await b.insertOidcToken(token("id-5", pr, ["rule_3"]), limits)),
          "another subject",
        );
        assert.equal((await a.listTokens()).length, 4, "refusals stored nothing");

        // Expired before purgeBefore: deleted (oidc tokens only) at the next exchange.
        const expired = await a.insertOidcToken(token("id-6", pr, ["rule_3"], 1000), limits);
        const manual = await a.insertToken({
          kind: "cache",
          cache: "c",
          perm: "read",
          hash: "hm",
          id: "tok_manual",
          expiresAt: 1000,
        });
        assert.ok("row" in expired);
        const purging = { perMinute: 10, purgeBefore: 2000 };
        assert.equal("refused" in (await b.insertOidcToken(token("id-6", pr, []), purging)), true);
        assert.notEqual(await a.tokenById(expired.row.id), undefined, "a refusal changes nothing");
        assert.ok("row" in (await b.insertOidcToken(token("id-7", pr, []), purging)));
        assert.equal(await a.tokenById(expired.row.id), undefined, "the expired oidc token went");
        assert.deepEqual(await a.tokenById(manual.id), manual, "a token made by hand stays");

        const byRule = await b.revokeOidcTokens({ rule: "rule_2" });
        assert.equal(byRule.length, 2);
        assert.ok(byRule.every((t) => t.revokedAt !== null && t.oidc?.rules.includes("rule_2")));
        assert.deepEqual(await a.revokeOidcTokens({ rule: "rule_2" }), [], "revoked already");
        assert.deepEqual(
          (await a.revokeOidcTokens({ subject: main, issuer: "https://other.example" })).length,
          0,
        );
        const bySubject = await a.revokeOidcTokens({ subject: main, issuer: iss });
        assert.deepEqual(
          bySubject.map((t) => t.id),
          [first.id],
        );
        const rest = await b.revokeOidcTokens({ subject: pr });
        assert.equal(rest.length, 2);
        assert.ok((await a.listTokens()).every((t) => t.kind !== "oidc" || t.revokedAt !== null));
      }));

    test("dashboard: activity adds up without moving the change counters", () =>
      withStores(2, async (a, b) => {
        const tok = await a.insertToken({
          kind: "cache",
          cache: "c",
          perm: "write",
          hash: "ht",
          id: "tok_ci",
          expiresAt: null,
          description: "CI <pushes>",
        });
        const local = a.changes.local();
        const minute = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
        const batch = {
          pushes: [
            { cache: "c", minute, tokenId: tok.id, run: "run-1", paths: 2, bytes: 300 },
            { cache: "c", minute: minute + 60_000, tokenId: null, run: null, paths: 1, bytes: 5 },
          ],
          lookups: [{ cache: "c", hour: Date.now() - 3600_000, hits: 3, misses: 1 }],
        };
        await a.recordActivity(batch);
        await b.recordActivity({ ...batch, lookups: [], prune: true });
        assert.equal(a.changes.local(), local, "activity does not empty the narinfo cache in front");
        const pushes = await b.recentPushes("c", { limit: 10 });
        assert.deepEqual(
          pushes.map((p) => [p.minute, p.tokenId, p.run, p.paths, p.bytes, p.token?.description ?? null]),
          [
            [minute + 60_000, null, null, 2, 10, null],
            [minute, "tok_ci", "run-1", 4, 600, "CI <pushes>"],
          ],
        );
        // Pages are whole minutes: a limit of 1 still gives every row of the last minute.
        assert.equal((await a.recentPushes("c", { limit: 1, before: minute + 60_000 })).length, 1);
        assert.deepEqual(await a.recentPushes("c", { limit: 5, before: minute }), []);
        await push(a, "c", h("p1"));
        await push(a, "c", h("p2"), [h("p3")]);
        await a.recordNar({
          cache: "c",
          url: "nar/abandoned.nar",
          blob: "b".repeat(64),
          compression: "none",
          narHash: "sha256:x",
          narSize: 7,
          fileHash: "sha256:x",
          fileSize: 7,
        });
        const usage = await b.dashboardUsage("c", Date.now() - 24 * 3600_000);
        assert.equal(usage.pending, 1);
        assert.equal(usage.hits, 3);
        assert.equal(usage.misses, 1);
        assert.ok(usage.lastPushAt !== null && usage.lastPushAt > Date.now() - 60_000);
        assert.deepEqual(await b.dashboardUsage("d-none", 0), {
          pending: 0,
          lastPushAt: null,
          hits: 0,
          misses: 0,
        });

        const pending = await b.pathRecord("c", h("p2"));
        assert.equal(pending.narinfo?.visible, false);
        assert.deepEqual(pending.narinfo?.waitingFor, [{ hash: h("p3"), storePath: null }]);
        assert.equal((await b.pathRecord("c", h("p1"))).narinfo?.visible, true);
        assert.deepEqual(await b.pathRecord("c", h("p3")), { upstream: false });
        await a.markUpstream("c", [h("p3")]);
        const up = await b.pathRecord("c", h("p3"));
        assert.equal(up.upstream, true);
        assert.equal(up.narinfo, undefined);
        assert.equal((await b.pathRecord("c", h("p2"))).narinfo?.visible, true);
      }));

    test("dashboard: the last GC run, the pins whose closures keep a path, access times", () =>
      withStores(2, async (a, b) => {
        assert.equal(await b.lastGcRun("c"), undefined);
        await a.recordGcRun({ cache: "c", endedAt: 1000, deletedPaths: 3, deletedBytes: 300 });
        await a.recordGcRun({ cache: "c", endedAt: 2000, deletedPaths: 1, deletedBytes: 10 });
        assert.deepEqual(await b.lastGcRun("c"), {
          cache: "c",
          endedAt: 2000,
          deletedPaths: 1,
          deletedBytes: 10,
        });
        await push(a, "c", h("lib"));
        await push(a, "c", h("app"), [h("lib")]);
        await push(a, "c", h("other"));
        await a.addPin({
          cache: "c",
          name: "release",
          storePath: `/nix/store/${h("app")}-p`,
          hash: h("app"),
        });
        await a.addPin({ cache: "c", name: "aux", storePath: `/nix/store/${h("lib")}-p`, hash: h("lib") });
        assert.deepEqual(await b.pinsKeeping("c", h("lib")), ["aux", "release"], "through app's references");
        assert.deepEqual(await b.pinsKeeping("c", h("app")), ["release"]);
        assert.deepEqual(await b.pinsKeeping("c", h("other")), []);
        // Access times are written only in a cache with a retention.
        await a.setCacheLimits("c", { retentionMs: 1000 });
        await a.recordAccess([{ cache: "c", hash: h("other"), at: Date.now() + 60_000 }]);
        const rec = await b.pathRecord("c", h("other"));
        assert.ok((rec.narinfo?.accessedAt ?? 0) > Date.now(), "the recorded access time");
      }));

    test("dashboard: reports per branch, newest first, history kept to a bound", () =>
      withStores(2, async (a, b) => {
        const base = {
          cache: "c",
          kind: "ci",
          commit: null,
          runId: null,
          runUrl: null,
          tokenId: null,
          ok: true,
          counts: "{}",
          targets: "[]",
        };
        const first = await a.insertReport({ ...base, branch: "main", commit: "aaaa", runId: "r1" });
        assert.equal(first.targets, undefined);
        assert.equal(first.commit, "aaaa");
        const feature = await b.insertReport({ ...base, branch: "feature", ok: false });
        const noBranch = await a.insertReport({ ...base, branch: null });
        const second = await a.insertReport({ ...base, branch: "main", runId: "r1", targets: '[{"x":1}]' });
        assert.deepEqual(
          (await b.latestReports("c", { limit: 10 })).map((r) => r.id),
          [second.id, noBranch.id, feature.id],
        );
        assert.equal((await b.getReport("c", second.id))?.targets, '[{"x":1}]');
        assert.equal(await b.getReport("other", second.id), undefined, "reports are per cache");
        assert.deepEqual(
          (await b.listReports("c", { branch: "main", limit: 10 })).map((r) => r.id),
          [second.id, first.id],
        );
        assert.deepEqual(
          (await b.listReports("c", { branch: null, limit: 10 })).map((r) => r.id),
          [noBranch.id],
        );
        assert.deepEqual(
          (await b.listReports("c", { limit: 2, before: second.id })).map((r) => r.id),
          [noBranch.id, feature.id],
        );
        assert.deepEqual(
          (await b.reportsOfRuns("c", ["r1", "r2"])).map((r) => r.id),
          [second.id],
        );
        assert.equal((await b.getReport("c", feature.id))?.ok, false);
        for (let i = 0; i < REPORTS_KEPT_PER_BRANCH; i++) await a.insertReport({ ...base, branch: "main" });
        const main = await b.listReports("c", { branch: "main", limit: 1000 });
        assert.equal(main.length, REPORTS_KEPT_PER_BRANCH);
        assert.ok(!main.some((r) => r.id === second.id), "the oldest went");
        assert.equal((await b.listReports("c", { branch: "feature", limit: 10 })).length, 1);
      }));

    // Issue 30, item 5: every branch came back (30,000 branches: 11.2 MB per anonymous GET).
    test("dashboard: the newest branches a page at a time, and found by part of their name", () =>
      withStores(2, async (a, b) => {
        const base = {
          cache: "c",
          kind: "ci",
          commit: null,
          runId: null,
          runUrl: null,
          tokenId: null,
          ok: true,
          counts: "{}",
          targets: "[]",
        };
        const ids = new Map<string | null, number>();
        for (let i = 0; i < 40; i++) {
          const branch =
            i === 7 ? null : `feature/${String(i).padStart(2, "0")}-${i % 3 === 0 ? "Fix" : "add"}`;
          // Two reports each: a branch is listed once, by its newest.
          await a.insertReport({ ...base, branch });
          ids.set(branch, (await b.insertReport({ ...base, branch })).id);
        }
        await a.createCache({ name: "other", isPublic: true, priority: 40 });
        await a.insertReport({ ...base, cache: "other", branch: "feature/zz-fix" });
        const newestFirst = [...ids.entries()].sort((x, y) => y[1] - x[1]);
        const page1 = await b.latestReports("c", { limit: 15 });
        assert.deepEqual(
          page1.map((r) => r.id),
          newestFirst.slice(0, 15).map(([, id]) => id),
        );
        const page2 = await a.latestReports("c", { limit: 15, before: page1.at(-1)?.id });
        assert.deepEqual(
          page2.map((r) => r.branch),
          newestFirst.slice(15, 30).map(([branch]) => branch),
        );
        const rest = await a.latestReports("c", { limit: 100, before: page2.at(-1)?.id });
        assert.equal(rest.length, 10, "the branch without a name counts as one");
        // A part of the name, in any case; the unnamed branch has no name to match.
        const found = await b.latestReports("c", { limit: 100, search: "-fix" });
        assert.deepEqual(
          found.map((r) => r.branch),
          newestFirst.filter(([br]) => br?.endsWith("-Fix")).map(([br]) => br),
        );
        const some = await b.latestReports("c", { limit: 3, search: "FIX", before: found[2]?.id });
        assert.deepEqual(
          some.map((r) => r.id),
          found.slice(3, 6).map((r) => r.id),
        );
        assert.deepEqual(await b.latestReports("c", { limit: 5, search: "%" }), [], "no wildcards");
        assert.deepEqual(await b.latestReports("c", { limit: 5, search: "_" }), []);
      }));
  });
}

test("sqlite: openFile creates a private database file and its directory", async () => {
  const dir = tempDir("nixcache-meta-file-");
  try {
    const file = join(dir.path, "nested", "meta.db");
    const meta = openSqliteStore(file);
    await meta.createCache({ name: "c", isPublic: true, priority: 40 });
    await meta.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir.path, "nested")).mode & 0o777, 0o700);
  } finally {
    dir.cleanup();
  }
});

async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Whether `external` holds still between two reads (it moves on every read while disconnected). */
function steady(meta: MetadataStore): boolean {
  const first = meta.changes.external();
  return meta.changes.external() === first;
}

function isUnavailable(e: unknown): boolean {
  return (
    e instanceof DbError && e.code === "unavailable" && /^metadata database unreachable: /.test(e.message)
  );
}

test("merged lookups: each its own statement up to two at once (one by default), then the waiting ones in one; failures reach every waiter", async () => {
  const statements: string[][] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  const store = new Map([
    ["c\na", "A"],
    ["c\nb", "B"],
    ["d\na", "dA"],
  ]);
  let failNext = false;
  const lookups = new MergedLookups(
    async (cache, hash) => {
      statements.push([`${cache}/${hash}`]);
      await gate;
      return store.get(`${cache}\n${hash}`);
    },
    async (caches, hashes) => {
      statements.push(caches.map((c, i) => `${c}/${hashes[i]}`));
      await gate;
      if (failNext) throw new Error("database went away");
      return caches.flatMap((cache, i) => {
        const text = store.get(`${cache}\n${hashes[i]}`);
        return text === undefined ? [] : [{ cache, hash: hashes[i] as string, text }];
      });
    },
    2,
  );
  const first = [lookups.get("c", "a"), lookups.get("c", "x")];
  const merged = [lookups.get("c", "b"), lookups.get("d", "a"), lookups.get("c", "b"), lookups.get("d", "x")];
  assert.deepEqual(statements, [["c/a"], ["c/x"]], "two at once, the others wait");
  release();
  assert.deepEqual(await Promise.all([...first, ...merged]), ["A", undefined, "B", "dA", "B", undefined]);
  assert.deepEqual(statements[2], ["c/b", "d/a", "d/x"], "the waiting ones in one statement, each key once");
  assert.equal(statements.length, 3);

  // By default one at once: the second waits, and goes in a statement of its own after.
  statements.length = 0;
  const single = new MergedLookups(
    async (cache, hash) => {
      statements.push([`${cache}/${hash}`]);
      return store.get(`${cache}\n${hash}`);
    },
    async (caches, hashes) => {
      statements.push(caches.map((c, i) => `${c}/${hashes[i]}`));
      return caches.flatMap((cache, i) => {
        const text = store.get(`${cache}\n${hashes[i]}`);
        return text === undefined ? [] : [{ cache, hash: hashes[i] as string, text }];
      });
    },
  );
  const two = [single.get("c", "a"), single.get("c", "b"), single.get("d", "a")];
  assert.deepEqual(statements, [["c/a"]], "one at once");
  assert.deepEqual(await Promise.all(two), ["A", "B", "dA"]);
  assert.deepEqual(statements, [["c/a"], ["c/b", "d/a"]]);

  // A lone lookup that waited goes in the single lookup's statement (a probe), not in a join.
  const kinds: string[] = [];
  const lone = new MergedLookups(
    async (cache, hash) => {
      kinds.push("one");
      return store.get(`${cache}\n${hash}`);
    },
    async (caches, hashes) => {
      kinds.push("many");
      return caches.flatMap((cache, i) => {
        const text = store.get(`${cache}\n${hashes[i]}`);
        return text === undefined ? [] : [{ cache, hash: hashes[i] as string, text }];
      });
    },
  );
  assert.deepEqual(await Promise.all([lone.get("c", "a"), lone.get("c", "b"), lone.get("c", "x")]), [
    "A",
    "B",
    undefined,
  ]);
  assert.deepEqual(await Promise.all([lone.get("c", "a"), lone.get("c", "x")]), ["A", undefined]);
  assert.deepEqual(kinds, ["one", "many", "one", "one"]);

  statements.length = 0;
  gate = new Promise<void>((r) => (release = r));
  failNext = true;
  const busy = [lookups.get("c", "a"), lookups.get("c", "b")];
  const failing = [lookups.get("d", "a"), lookups.get("c", "x")];
  release();
  assert.deepEqual(await Promise.all(busy), ["A", "B"]);
  for (const f of failing) await assert.rejects(f, /database went away/);
  failNext = false;
  assert.equal(await lookups.get("d", "a"), "dA", "and it goes on");
});

describe("PostgreSQL only", () => {
  test("replicas starting at once on a fresh database apply each migration once", async () => {
    const url = await freshDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(url)));
    try {
      await stores[0]?.createCache({ name: "c", isPublic: true, priority: 40 });
      for (const s of stores) assert.equal((await s.getCache("c"))?.name, "c");
      const versions = await sql(url, "SELECT version FROM schema_version ORDER BY version");
      assert.deepEqual(
        versions.map((r) => r.version),
        PG_MIGRATIONS.map((m) => m.version),
      );
    } finally {
      for (const s of stores) await s.close();
    }
  });

  test("migration 2 copies references out of narinfo texts, counts bytes used, starts access times at push", async () => {
    const url = await freshDatabase();
    const first = PG_MIGRATIONS[0];
    assert.ok(first);
    await sql(
      url,
      `${first.sql};
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
INSERT INTO schema_version VALUES (1, 'first', 0);
INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at) VALUES ('old', TRUE, 40, 's', 'p', 0);
INSERT INTO uploads VALUES ('old', 'nar/a.nar', 'ba', 'none', 'n', 10, 'f', 7, TRUE, 0),
  ('old', 'nar/b.nar', 'bb', 'none', 'n', 10, 'f', 5, TRUE, 0)`,
    );
    const [app, lib, libc] = [h("app"), h("lib"), h("libc")];
    const text = (x: string, refs: string[]) =>
      `StorePath: /nix/store/${x}-x\nURL: nar/a.nar\nReferences: ${refs.map((r) => `${r}-name`).join(" ")}\nSig: k:s\n`;
    await sql(
      url,
      `INSERT INTO narinfos VALUES ('old', $1, 'sp', 'nar/a.nar', $4, 1234, TRUE), ('old', $2, 'sp', 'nar/b.nar', $5, 1, TRUE),
        ('old', $3, 'sp', 'nar/b.nar', 'StorePath: legacy\n', 1, TRUE)`,
      [app, lib, libc, text(app, [lib, libc, app]), text(lib, [])],
    );
    const meta = await openPostgresStore(url);
    try {
      assert.equal(await meta.cacheUsage("old"), 12);
      const refs = await sql(url, "SELECT hash, ref FROM narinfo_refs ORDER BY ref");
      assert.deepEqual(
        refs.map((r) => [r.hash, r.ref]).sort(),
        [
          [app, lib],
          [app, libc],
        ].sort(),
      );
      const times = await sql(url, "SELECT accessed_at FROM narinfos WHERE hash = $1", [app]);
      assert.equal(times[0]?.accessed_at, "1234");
    } finally {
      await meta.close();
    }
  });

  test("a database from a newer nixcache is refused with the reason", async () => {
    const url = await freshDatabase();
    await (await openPostgresStore(url)).close();
    await sql(url, "INSERT INTO schema_version VALUES ($1, 'from the future', 0)", [PG_SCHEMA_VERSION + 1]);
    await assert.rejects(openPostgresStore(url), /newer than this nixcache knows/);
  });

  test("an unreachable server fails opening as unavailable, without the password", async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    await assert.rejects(
      openPostgresStore(`postgres://nixcache:pw-in-url-42@127.0.0.1:${closed}/x`),
      (e: unknown) => {
        assert.ok(e instanceof DbError && e.code === "unavailable", String(e));
        assert.doesNotMatch(e.message, /pw-in-url-42/);
        assert.match(e.message, /127\.0\.0\.1/);
        return true;
      },
    );
  });

  describe("on a server of this test's own", () => {
    let server: LocalPostgres;
    before(() => {
      server = startPostgres();
    });

    test("a restart of PostgreSQL: calls fail as unavailable (503), then work again by themselves", async () => {
      const url = await freshDatabase(server.url);
      const a = await openPostgresStore(url, { connectTimeoutMs: 2000 });
      const b = await openPostgresStore(url);
      try {
        await a.createCache({ name: "c", isPublic: true, priority: 40 });
        await push(a, "c", h("before"));
        server.stop();
        await assert.rejects(a.getNarInfo("c", h("before")), isUnavailable);
        await assert.rejects(push(a, "c", h("during")), isUnavailable);
        // The listener noticed: until it is back, nothing cached in front may be trusted.
        await waitFor("the listener to notice", () => !steady(a));
        server.start();
        assert.notEqual(await a.getNarInfo("c", h("before")), undefined);
        assert.equal((await push(a, "c", h("after"))).visible, true);
        // The listener reconnects (backoff) and hears other replicas again.
        await waitFor("the listener to reconnect", () => steady(a));
        const seen = a.changes.external();
        // b's pooled connections died with the server too: the pool replaced them by itself.
        await b.createCache({ name: "d", isPublic: true, priority: 40 });
        await waitFor("a notification after the restart", () => a.changes.external() !== seen);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test("a URL without a password takes it from PGPASSFILE; a wrong one is never shown", async () => {
      const role = "pw_user";
      const password = "pw-from-pgpass-7f3a";
      await sql(server.url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      await sql(server.url, `CREATE DATABASE pw_db OWNER ${role}`);
      // Trust for everyone else; this role must authenticate with its password.
      const hba = join(server.dir, "data", "pg_hba.conf");
      writeFileSync(hba, `host all ${role} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, "utf8")}`);
      await sql(server.url, "SELECT pg_reload_conf()");
      const dir = tempDir("nixcache-pgpass-");
      const saved = process.env.PGPASSFILE;
      try {
        const passfile = join(dir.path, "pgpass");
        writeFileSync(passfile, `127.0.0.1:${server.port}:pw_db:${role}:${password}\n`);
        chmodSync(passfile, 0o600);
        process.env.PGPASSFILE = passfile;
        const url = `postgres://${role}@127.0.0.1:${server.port}/pw_db`;
        const meta = await openPostgresStore(url);
        await meta.createCache({ name: "c", isPublic: true, priority: 40 });
        await meta.close();

        process.env.PGPASSFILE = join(dir.path, "none");
        await assert.rejects(openPostgresStore(url), (e: unknown) => e instanceof DbError);
        const wrong = "wrong-pw-in-url-9c1e";
        await assert.rejects(
          openPostgresStore(`postgres://${role}:${wrong}@127.0.0.1:${server.port}/pw_db`),
          (e: unknown) => {
            assert.ok(e instanceof DbError && e.code === "unavailable", String(e));
            assert.doesNotMatch(e.message, new RegExp(wrong));
            assert.match(e.message, /password authentication failed/);
            return true;
          },
        );
      } finally {
        if (saved === undefined) delete process.env.PGPASSFILE;
        else process.env.PGPASSFILE = saved;
        dir.cleanup();
      }
    });
  });
});
