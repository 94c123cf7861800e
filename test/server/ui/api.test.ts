// The dashboard's server side: the report upload a write token authorizes, the read-only JSON API
// under /api/v1/ui (who sees which cache, the matrix, pushes per token and run, the path lookup,
// narinfo hit counts), and the page's headers. The browser side is test/server/ui/dashboard.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mintToken } from "../../../src/server/auth/tokens.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import type {
  CacheResponse,
  CachesResponse,
  MatrixCell,
  Page,
  PathDetail,
  PushRow,
  ReportMatrix,
  ReportSummary,
  ReportUpload,
} from "../../../src/ui-api/types.js";
import { tempDir } from "../../helpers/nix.js";
import { makeUpload, narInfoText, type Upload } from "../../helpers/uploads.js";

let dir: ReturnType<typeof tempDir>;
let srv: RunningServer;
let write: string;
let read: string;
let privRead: string;
let revoked: string;

function call(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(`${srv.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function json<T>(path: string, token?: string): Promise<T> {
  const r = await call("GET", path, token);
  assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
  return (await r.json()) as T;
}

async function push(cache: string, u: Upload, token: string, run?: string): Promise<void> {
  const h: Record<string, string> = run ? { "x-nixcache-run": run } : {};
  const nar = await fetch(`${srv.url}/${cache}/${u.url}`, {
    method: "PUT",
    body: new Uint8Array(u.file),
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(nar.status, 204);
  const r = await fetch(`${srv.url}/${cache}/${u.hash}.narinfo`, {
    method: "PUT",
    body: narInfoText(u.narinfo),
    headers: { authorization: `Bearer ${token}`, ...h },
  });
  assert.equal(r.status, 204, await r.text());
}

const target = (
  attr: string,
  system: string,
  status: ReportUpload["targets"][number]["status"],
  extra = {},
) => ({
  attr,
  system,
  status,
  outPath: `/nix/store/${"0".repeat(32)}-x`,
  missing: [],
  missingCount: 0,
  unsigned: [],
  unsignedCount: 0,
  ...extra,
});

function report(over: Partial<ReportUpload> = {}): ReportUpload {
  return {
    version: 1,
    kind: "ci",
    commit: "0123456789abcdef0123456789abcdef01234567",
    branch: "main",
    run: { id: "me/app#42", url: "https://github.com/me/app/actions/runs/42" },
    ok: false,
    targets: [
      target("packages.x86_64-linux.hello", "x86_64-linux", "ok"),
      target("packages.x86_64-linux.broken", "x86_64-linux", "missing", {
        missing: ["/nix/store/11111111111111111111111111111111-dep"],
        missingCount: 3,
        detail: "build failed",
      }),
      target("packages.aarch64-darwin.hello", "aarch64-darwin", "not-built"),
      target('packages.x86_64-linux."<img src=x onerror=alert(1)>"', "x86_64-linux", "eval-failed"),
    ],
    ...over,
  };
}

before(async () => {
  dir = tempDir("nixcache-ui-api-");
  srv = await startServer({ dataDir: dir.path, port: 0, upstreams: [], activityFlushMs: 60_000 });
  await srv.meta.createCache({ name: "pub", isPublic: true, priority: 40 });
  await srv.meta.createCache({ name: "priv", isPublic: false, priority: 40 });
  const grant = (cache: string, perm: "read" | "write", description?: string) =>
    mintToken(srv.meta, { kind: "cache", cache, perm, expiresAt: null, description });
  write = (await grant("pub", "write", "CI <script>alert(1)</script>")).token;
  read = (await grant("pub", "read")).token;
  privRead = (await grant("priv", "read", "dashboard reader")).token;
  const r = await grant("pub", "read");
  revoked = r.token;
  await srv.meta.addTrustRule({
    cache: "pub",
    issuer: "https://token.actions.githubusercontent.com",
    subject: "repo:me/app:ref:refs/heads/main",
    claims: { event_name: "push" },
    perm: "write",
  });
  await srv.meta.revokeToken(r.row.id);
});

after(async () => {
  await srv.close();
  dir.cleanup();
});

describe("report upload", () => {
  test("a write token uploads; read tokens, anonymous callers and bad bodies are refused", async () => {
    const ok = await call("POST", "/api/v1/cache/pub/reports", write, report());
    assert.equal(ok.status, 201);
    const made = (await ok.json()) as { id: number; url: string };
    assert.equal(made.url, `${srv.url}/ui/#/cache/pub/report/${made.id}`);
    assert.equal((await call("POST", "/api/v1/cache/pub/reports", read, report())).status, 401);
    assert.equal((await call("POST", "/api/v1/cache/pub/reports", undefined, report())).status, 401);
    assert.equal((await call("POST", "/api/v1/cache/priv/reports", write, report())).status, 401);
    const bad = await call("POST", "/api/v1/cache/pub/reports", write, { ...report(), commit: "not hex" });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /commit/);
    const badStatus = report({
      targets: [target("a", "s", "ok"), { ...target("b", "s", "ok"), status: "fine" as "ok" }],
    });
    assert.equal((await call("POST", "/api/v1/cache/pub/reports", write, badStatus)).status, 400);
    assert.equal((await call("POST", "/api/v1/cache/pub/reports", write, "{")).status, 400);
  });
});

describe("dashboard API", () => {
  test("anonymous callers see public caches only; a private one is refused as one that does not exist", async () => {
    const anon = await json<CachesResponse>("/api/v1/ui/caches");
    assert.deepEqual(anon.viewer, { kind: "anonymous" });
    assert.deepEqual(
      anon.caches.map((c) => c.name),
      ["pub"],
    );
    const priv = await call("GET", "/api/v1/ui/caches/priv");
    const none = await call("GET", "/api/v1/ui/caches/nope");
    assert.equal(priv.status, 401);
    assert.equal(none.status, 401);
    assert.equal(
      ((await priv.json()) as { error: string }).error.replace("priv", "X"),
      ((await none.json()) as { error: string }).error.replace("nope", "X"),
    );
    for (const p of [
      "/api/v1/ui/caches/priv/pushes",
      "/api/v1/ui/caches/priv/reports",
      "/api/v1/ui/caches/priv/path?q=x",
    ])
      assert.equal((await call("GET", p)).status, 401, p);

    const withToken = await json<CachesResponse>("/api/v1/ui/caches", privRead);
    assert.deepEqual(withToken.viewer, {
      kind: "token",
      description: "dashboard reader",
      tokenKind: "cache",
    });
    assert.deepEqual(
      withToken.caches.map((c) => c.name),
      ["priv", "pub"],
    );
    const gone = await call("GET", "/api/v1/ui/caches", revoked);
    assert.equal(gone.status, 401);
    assert.match(((await gone.json()) as { error: string }).error, /revoked/);
  });

  test("the cache view: summary, latest report per branch as a matrix, history, pages", async () => {
    await call("POST", "/api/v1/cache/pub/reports", write, report({ branch: "feature/x", ok: true }));
    const latest = (await (await call("POST", "/api/v1/cache/pub/reports", write, report())).json()) as {
      id: number;
    };
    // As a writer of the cache: only they see trust rules and who uploaded (item 11, below).
    const v = await json<CacheResponse>("/api/v1/ui/caches/pub", write);
    assert.equal(v.cache.name, "pub");
    assert.deepEqual(v.pins, []);
    assert.deepEqual(v.trustRules, [
      {
        issuer: "https://token.actions.githubusercontent.com",
        subject: "repo:me/app:ref:refs/heads/main",
        claims: { event_name: "push" },
        perm: "write",
      },
    ]);
    assert.equal(v.cache.quotaBytes, null);
    assert.equal(v.cache.retentionMs, null);
    assert.equal(v.cache.gc, null, "no GC run yet");
    assert.deepEqual(
      v.branches.map((b) => b.branch),
      ["main", "feature/x"],
    );
    const m = v.report as ReportMatrix;
    assert.equal(m.id, latest.id, "main is the default branch");
    assert.equal(m.by, "CI <script>alert(1)</script>", "the token's description, never the token");
    assert.ok(!JSON.stringify(v).includes(write));
    assert.deepEqual(m.systems, ["aarch64-darwin", "x86_64-linux"]);
    assert.deepEqual(
      m.rows.map((r) => r.target),
      ['packages."<img src=x onerror=alert(1)>"', "packages.broken", "packages.hello"],
    );
    const hello = m.rows.find((r) => r.target === "packages.hello");
    assert.equal(hello?.cells["x86_64-linux"]?.status, "ok");
    assert.equal(hello?.cells["aarch64-darwin"]?.status, "not-built");
    const broken = m.rows.find((r) => r.target === "packages.broken")?.cells["x86_64-linux"];
    assert.equal(broken?.status, "missing");
    assert.equal(broken?.missingCount, 3);
    assert.equal(broken?.detail, "build failed");
    assert.deepEqual(m.counts, {
      ok: 1,
      missing: 1,
      unsigned: 0,
      "eval-failed": 1,
      "not-built": 1,
      total: 4,
    });
    assert.equal(v.cache.coverage?.id, latest.id);

    const feature = await json<CacheResponse>("/api/v1/ui/caches/pub?branch=feature%2Fx");
    assert.equal(feature.report?.branch, "feature/x");
    assert.equal(feature.report?.ok, true);

    const page1 = await json<Page<ReportSummary>>("/api/v1/ui/caches/pub/reports?branch=main&limit=1");
    assert.equal(page1.items.length, 1);
    assert.equal(page1.items[0]?.id, latest.id);
    assert.ok(page1.next !== null);
    const page2 = await json<Page<ReportSummary>>(
      `/api/v1/ui/caches/pub/reports?branch=main&limit=1&before=${page1.next}`,
    );
    assert.ok((page2.items[0]?.id ?? Infinity) < latest.id);
    const one = await json<ReportMatrix>(`/api/v1/ui/caches/pub/reports/${latest.id}`);
    assert.equal(one.rows.length, 3);
    assert.equal((await call("GET", "/api/v1/ui/caches/pub/reports/999999")).status, 404);
    assert.equal((await call("GET", "/api/v1/ui/caches/pub/reports?limit=x")).status, 400);
  });

  test("pushes are counted per minute, token and CI run, and narinfo GETs as hits and misses", async () => {
    const [a, b, c] = [await makeUpload("a-1"), await makeUpload("b-1"), await makeUpload("c-1")];
    await push("pub", a, write, "me/app#42");
    await push("pub", b, write, "me/app#42");
    await push("pub", c, write);
    assert.equal((await fetch(`${srv.url}/pub/${a.hash}.narinfo`)).status, 200);
    assert.equal((await fetch(`${srv.url}/pub/${"1".repeat(32)}.narinfo`)).status, 404);
    // HEADs are pushers asking what is missing: not lookups.
    assert.equal((await fetch(`${srv.url}/pub/${"2".repeat(32)}.narinfo`, { method: "HEAD" })).status, 404);
    const pushes = await json<Page<PushRow>>("/api/v1/ui/caches/pub/pushes", write);
    const rows = pushes.items.map((p) => [p.paths, p.bytes, p.token?.description, p.run?.id ?? null]);
    const bytes = (us: Upload[]) => us.reduce((n, u) => n + u.file.length, 0);
    assert.deepEqual(
      rows.sort((x, y) => String(x[3]).localeCompare(String(y[3]))),
      [
        [2, bytes([a, b]), "CI <script>alert(1)</script>", "me/app#42"],
        [1, bytes([c]), "CI <script>alert(1)</script>", null],
      ].sort((x, y) => String(x[3]).localeCompare(String(y[3]))),
    );
    const withRun = pushes.items.find((p) => p.run !== null);
    assert.equal(
      withRun?.run?.report?.commit,
      "0123456789abcdef0123456789abcdef01234567",
      "the run's report",
    );
    const s = (await json<CacheResponse>("/api/v1/ui/caches/pub")).cache;
    assert.equal(s.paths, 3);
    assert.equal(s.bytes, bytes([a, b, c]));
    assert.deepEqual(s.narinfo24h, { hits: 1, misses: 1 });
    assert.ok(s.lastPushAt !== null && Date.now() - s.lastPushAt < 60_000);
  });

  test("path lookup: served, pending (with what it waits for), absent; signatures checked", async () => {
    const [lib, app] = [await makeUpload("lib-2"), await makeUpload("app-2")];
    app.narinfo.references = [lib.storePath.slice(11)];
    await push("pub", app, write);
    const pending = await json<PathDetail>(
      `/api/v1/ui/caches/pub/path?q=${encodeURIComponent(app.storePath)}`,
    );
    assert.equal(pending.state, "pending");
    assert.deepEqual(pending.waitingFor, [{ hash: lib.hash, storePath: null }]);
    assert.deepEqual(pending.signatures, [{ keyName: "pub-1", state: "valid" }]);
    assert.equal(pending.narSize, app.nar.length);
    assert.ok((pending.lastAccessAt ?? 0) >= (pending.createdAt ?? Infinity), "pushing is an access");
    assert.deepEqual(pending.pins, []);
    await push("pub", lib, write);
    const served = await json<PathDetail>(`/api/v1/ui/caches/pub/path?q=${app.hash}`);
    assert.equal(served.state, "visible");
    assert.deepEqual(served.references, [lib.storePath]);
    const absent = await json<PathDetail>(`/api/v1/ui/caches/pub/path?q=${"3".repeat(32)}-x`);
    assert.equal(absent.state, "absent");
    assert.equal(absent.narinfo, null);
    assert.equal((await call("GET", "/api/v1/ui/caches/pub/path?q=nonsense")).status, 400);
  });

  test("retention, quota, the last GC run and pins, as the GC's metadata has them", async () => {
    await srv.meta.setCacheLimits("pub", { retentionMs: 30 * 86400_000, quotaBytes: 1024 ** 3 });
    await srv.meta.recordGcRun({
      cache: "pub",
      endedAt: Date.now() - 60_000,
      deletedPaths: 7,
      deletedBytes: 7000,
    });
    const [lib, app] = [await makeUpload("pinned-lib"), await makeUpload("pinned-app")];
    app.narinfo.references = [lib.storePath.slice(11)];
    await push("pub", lib, write);
    await push("pub", app, write);
    await srv.meta.addPin({ cache: "pub", name: "release-1.0", storePath: app.storePath, hash: app.hash });
    const v = await json<CacheResponse>("/api/v1/ui/caches/pub");
    assert.equal(v.cache.retentionMs, 30 * 86400_000);
    assert.equal(v.cache.quotaBytes, 1024 ** 3);
    assert.deepEqual(
      { paths: v.cache.gc?.pathsDeleted, bytes: v.cache.gc?.freedBytes },
      { paths: 7, bytes: 7000 },
    );
    assert.deepEqual(v.pins, [
      {
        name: "release-1.0",
        storePath: app.storePath,
        revisions: 1,
        keep: "every revision",
        createdAt: v.pins?.[0]?.createdAt,
      },
    ]);
    const d = await json<PathDetail>(`/api/v1/ui/caches/pub/path?q=${lib.hash}`);
    assert.deepEqual(d.pins, ["release-1.0"], "kept through app's closure");
  });

  test("headers: strict CSP on the page and the API, no framing, no caching of answers", async () => {
    const page = await fetch(`${srv.url}/ui/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"])
      assert.ok(csp.includes(d), `${d} in ${csp}`);
    assert.ok(!csp.includes("unsafe"));
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.match(await page.text(), /<script type="module" src="app.js"><\/script>/);
    assert.equal((await fetch(`${srv.url}/ui`, { redirect: "manual" })).status, 301);
    const api = await call("GET", "/api/v1/ui/caches");
    assert.equal(api.headers.get("cache-control"), "no-store");
    assert.match(api.headers.get("server-timing") ?? "", /^app;dur=\d/);
    assert.match(api.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    assert.equal((await call("GET", "/api/v1/ui/nothing")).status, 404);
  });
});

describe("report upload: hostile values (issue 30, items 12 and 18)", () => {
  test("an outPath or listed path that is not a store path is refused, naming the field", async () => {
    for (const [field, t] of [
      ["outPath", target("packages.x86_64-linux.a", "x86_64-linux", "ok", { outPath: "../../etc/passwd" })],
      [
        "outPath",
        target("packages.x86_64-linux.a", "x86_64-linux", "ok", {
          outPath: `/nix/store/../${"0".repeat(32)}-x`,
        }),
      ],
      ["missing", target("packages.x86_64-linux.a", "x86_64-linux", "missing", { missing: ["/etc/passwd"] })],
      [
        "drvPath",
        target("packages.x86_64-linux.a", "x86_64-linux", "ok", {
          drvPath: `/nix/store/${"0".repeat(32)}-x`,
        }),
      ],
    ] as const) {
      const r = await call("POST", "/api/v1/cache/pub/reports", write, report({ targets: [t] }));
      assert.equal(r.status, 400, field);
      assert.match(((await r.json()) as { error: string }).error, new RegExp(field), field);
    }
  });

  test("systems named __proto__ or constructor keep their cells in the matrix", async () => {
    const made = await call(
      "POST",
      "/api/v1/cache/pub/reports",
      write,
      report({
        branch: "proto",
        targets: [
          target("packages.__proto__.a", "__proto__", "ok"),
          target("packages.constructor.a", "constructor", "missing"),
          target("packages.x86_64-linux.a", "x86_64-linux", "ok"),
        ],
      }),
    );
    assert.equal(made.status, 201);
    const { id } = (await made.json()) as { id: number };
    const m = await json<ReportMatrix>(`/api/v1/ui/caches/pub/reports/${id}`);
    assert.deepEqual(m.systems, ["__proto__", "constructor", "x86_64-linux"]);
    const row = m.rows.find((r) => r.target === "packages.a");
    assert.ok(row);
    assert.ok(Object.hasOwn(row.cells, "__proto__"), "the __proto__ cell is there");
    const cell = (system: string) => Object.getOwnPropertyDescriptor(row.cells, system)?.value as MatrixCell;
    assert.equal(cell("__proto__").status, "ok");
    assert.equal(cell("constructor").status, "missing");
    assert.equal(m.counts.ok, 2);
  });
});

describe("who sees trust rules and token descriptions (issue 30, item 11)", () => {
  test("only writers of the cache: anonymous callers and read tokens get neither", async () => {
    const made = await call("POST", "/api/v1/cache/pub/reports", write, report({ branch: "main" }));
    assert.equal(made.status, 201);
    const { id } = (await made.json()) as { id: number };
    await push("pub", await makeUpload("item-11"), write);
    const description = "CI <script>alert(1)</script>";
    const rule = {
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:me/app:ref:refs/heads/main",
      claims: { event_name: "push" },
      perm: "write",
    };

    const seen = async (token: string | undefined) => {
      const v = await json<CacheResponse>("/api/v1/ui/caches/pub", token);
      const list = await json<CachesResponse>("/api/v1/ui/caches", token);
      const reports = await json<Page<ReportSummary>>("/api/v1/ui/caches/pub/reports", token);
      const one = await json<ReportMatrix>(`/api/v1/ui/caches/pub/reports/${id}`, token);
      const pushes = await json<Page<PushRow>>("/api/v1/ui/caches/pub/pushes", token);
      return {
        rules: v.trustRules ?? null,
        by: [
          v.report?.by,
          v.cache.coverage?.by,
          ...v.branches.map((b) => b.by),
          list.caches.find((c) => c.name === "pub")?.coverage?.by,
          ...reports.items.map((r) => r.by),
          one.by,
        ],
        pushedBy: pushes.items.map((p) => p.token?.description),
        text: JSON.stringify([v, list, reports, one, pushes]),
      };
    };

    for (const [who, token] of [
      ["anonymous", undefined],
      ["a read token", read],
    ] as const) {
      const s = await seen(token);
      assert.equal(s.rules, null, `${who}: no trust rules`);
      assert.ok(s.by.length > 0 && s.by.every((b) => b === null), `${who}: no report uploader`);
      assert.ok(s.pushedBy.length > 0 && s.pushedBy.every((d) => d === null), `${who}: no pushing token`);
      assert.ok(!s.text.includes("repo:me/app"), `${who}: the subject appears nowhere`);
      assert.ok(!s.text.includes("CI <script>"), `${who}: the description appears nowhere`);
    }

    const w = await seen(write);
    assert.deepEqual(w.rules, [rule]);
    assert.ok(
      w.by.every((b) => b === description),
      "a writer sees who uploaded",
    );
    assert.ok(
      w.pushedBy.every((d) => d === description),
      "a writer sees who pushed",
    );
  });
});

// Issue 30, item 5: the cache view returned every branch (30,000: 11.2 MB per anonymous GET).
describe("many branches", () => {
  test("the cache view lists the newest few dozen; the rest are paged and found by name", async () => {
    await srv.meta.createCache({ name: "many", isPublic: true, priority: 40 });
    const add = (branch: string, ok = true) =>
      srv.meta.insertReport({
        cache: "many",
        kind: "ci",
        commit: null,
        branch,
        runId: null,
        runUrl: null,
        tokenId: null,
        ok,
        counts: "{}",
        targets: "[]",
      });
    const main = await add("main");
    const features: string[] = [];
    for (let i = 0; i < 44; i++) {
      features.push(`feature/${String(i).padStart(2, "0")}`);
      await add(features[i] as string, i % 2 === 0);
    }
    const newestFirst = [...features].reverse();

    const v = await json<CacheResponse>("/api/v1/ui/caches/many");
    assert.deepEqual(
      v.branches.map((b) => b.branch),
      newestFirst.slice(0, 30),
    );
    assert.equal(v.branchesNext, v.branches.at(-1)?.id);
    assert.equal(v.report?.id, main.id, "main opens the page, though 44 branches are newer");
    assert.equal(v.cache.coverage?.id, main.id);
    const list = await json<CachesResponse>("/api/v1/ui/caches");
    assert.equal(list.caches.find((c) => c.name === "many")?.coverage?.id, main.id);
    const old = await json<CacheResponse>("/api/v1/ui/caches/many?branch=feature%2F03");
    assert.equal(old.report?.branch, "feature/03", "an older branch, asked for by name");

    const rest = await json<Page<ReportSummary>>(`/api/v1/ui/caches/many/branches?before=${v.branchesNext}`);
    assert.deepEqual(
      rest.items.map((b) => b.branch),
      [...newestFirst.slice(30), "main"],
    );
    assert.equal(rest.next, null);
    const found = await json<Page<ReportSummary>>("/api/v1/ui/caches/many/branches?q=FEATURE%2F0&limit=4");
    assert.deepEqual(
      found.items.map((b) => b.branch),
      ["feature/09", "feature/08", "feature/07", "feature/06"],
    );
    const more = await json<Page<ReportSummary>>(
      `/api/v1/ui/caches/many/branches?q=feature%2F0&limit=4&before=${found.next}`,
    );
    assert.deepEqual(
      more.items.map((b) => b.branch),
      ["feature/05", "feature/04", "feature/03", "feature/02"],
    );
    const long = await call("GET", `/api/v1/ui/caches/many/branches?q=${"x".repeat(257)}`);
    assert.equal(long.status, 400);
    assert.match(((await long.json()) as { error: string }).error, /q must be at most 256 characters/);
    assert.equal((await call("GET", "/api/v1/ui/caches/priv/branches")).status, 401);
  });
});
