// The client side of the dashboard's reports: `nixcache verify` (and `ci`, test/server/ui/dashboard.test.ts)
// upload theirs to a nixcache server with the commit, branch and CI run; an upload that fails
// warns and leaves the exit status alone; pushes name their CI run to nixcache servers. Plus the
// pure pieces: defaults from GitHub's variables and git, the cell of each verify result, matrix rows.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ciRun } from "../../../src/caches/ci-run.js";
import { reportContext, verifyCell } from "../../../src/report/dashboard-report.js";
import { mintToken } from "../../../src/server/auth/tokens.js";
import { attrParts, targetRow } from "../../../src/server/routes/ui-matrix.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import type { CacheResponse, Page, PushRow } from "../../../src/ui-api/types.js";
import type { TargetCheck } from "../../../src/verify/verify.js";
import { runCli } from "../../helpers/cli.js";
import { buildTrivial, requireNix, tempDir } from "../../helpers/nix.js";

describe("defaults and mapping", () => {
  test("commit and branch: flags, else GitHub's variables, else git; the run from GitHub or NIXCACHE_RUN", async () => {
    const gh = {
      GITHUB_ACTIONS: "true",
      GITHUB_SHA: "ABCDEF0123456789abcdef0123456789abcdef01",
      GITHUB_REF_NAME: "main",
      GITHUB_REPOSITORY: "me/app",
      GITHUB_RUN_ID: "123",
      GITHUB_RUN_ATTEMPT: "2",
      GITHUB_SERVER_URL: "https://github.example.com",
    };
    assert.deepEqual(await reportContext({}, gh), {
      commit: "abcdef0123456789abcdef0123456789abcdef01",
      branch: "main",
      run: { id: "me/app#123/2", url: "https://github.example.com/me/app/actions/runs/123/attempts/2" },
    });
    assert.equal((await reportContext({}, { ...gh, GITHUB_HEAD_REF: "feature" })).branch, "feature");
    assert.deepEqual(
      await reportContext({ commit: "0000ffff", branch: "x" }, gh).then((c) => [c.commit, c.branch]),
      ["0000ffff", "x"],
    );
    assert.equal((await reportContext({ commit: "not-a-commit" }, {})).commit, null);
    assert.deepEqual(ciRun({ NIXCACHE_RUN: "nightly 7", NIXCACHE_RUN_URL: "https://ci/7" }), {
      id: "nightly 7",
      url: "https://ci/7",
    });
    assert.equal(ciRun({}), undefined);
    assert.equal(ciRun({ NIXCACHE_RUN: "line\nbreak" }), undefined);

    const repo = tempDir("nixcache-report-git-");
    try {
      const git = (...a: string[]) =>
        execFileSync("git", ["-C", repo.path, "-c", "user.name=t", "-c", "user.email=t@t", ...a], {
          encoding: "utf8",
        }).trim();
      git("init", "-q", "-b", "trunk");
      writeFileSync(join(repo.path, "f"), "x");
      git("add", "f");
      git("commit", "-q", "-m", "c");
      const head = git("rev-parse", "HEAD");
      assert.deepEqual(await reportContext({ dir: repo.path }, {}), {
        commit: head,
        branch: "trunk",
        run: null,
      });
      git("checkout", "-q", "--detach");
      assert.equal(
        (await reportContext({ dir: repo.path }, {})).branch,
        null,
        "a detached HEAD has no branch",
      );
      assert.deepEqual(await reportContext({ dir: join(repo.path, "nope") }, {}), {
        commit: null,
        branch: null,
        run: null,
      });
    } finally {
      repo.cleanup();
    }
  });

  test("verify results become cells; attributes become rows without their system", () => {
    const check = (
      status: TargetCheck["status"],
      missing: string[] = [],
      unsigned: string[] = [],
    ): TargetCheck => ({
      attr: "a",
      system: "s",
      name: null,
      outPath: null,
      status,
      cache: null,
      missing,
      unsigned,
      closureSize: null,
    });
    assert.equal(verifyCell(check("ok")).status, "ok");
    assert.equal(verifyCell(check("error")).status, "eval-failed");
    assert.equal(verifyCell(check("incomplete", ["/nix/store/x"])).status, "missing");
    assert.equal(verifyCell(check("incomplete", [], ["/nix/store/y"])).status, "unsigned");
    const many = Array.from({ length: 80 }, (_, i) => `/nix/store/${i}`);
    const big = verifyCell(check("incomplete", many));
    assert.equal(big.missing.length, 50);
    assert.equal(big.missingCount, 80);

    assert.deepEqual(attrParts('packages.x86_64-linux."a.b\\"c"'), ["packages", "x86_64-linux", 'a.b"c']);
    assert.equal(targetRow("packages.x86_64-linux.hello", "x86_64-linux"), "packages.hello");
    assert.equal(targetRow('checks.x86_64-linux."a.b"', "x86_64-linux"), 'checks."a.b"');
    assert.equal(targetRow("nixosConfigurations.web", "x86_64-linux"), "nixosConfigurations.web");
  });
});

describe("nixcache verify --report-to (real nix, a real server)", () => {
  let dir: ReturnType<typeof tempDir>;
  let srv: RunningServer;
  let write: string;
  let read: string;
  let path: string;

  before(async () => {
    requireNix();
    dir = tempDir("nixcache-report-cli-");
    srv = await startServer({ dataDir: dir.path, port: 0, upstreams: [] });
    await srv.meta.createCache({ name: "pub", isPublic: true, priority: 40 });
    write = (
      await mintToken(srv.meta, {
        kind: "cache",
        cache: "pub",
        perm: "write",
        expiresAt: null,
        description: "ci writer",
      })
    ).token;
    read = (await mintToken(srv.meta, { kind: "cache", cache: "pub", perm: "read", expiresAt: null })).token;
    path = buildTrivial(`report-${randomBytes(4).toString("hex")}`);
    const pushed = await runCli(["push", `${srv.url}/pub`, path], {
      env: { NIXCACHE_TOKEN: write, NIXCACHE_RUN: "nightly #9" },
    });
    assert.equal(pushed.code, 0, pushed.stderr);
  });

  after(async () => {
    await srv?.close();
    dir?.cleanup();
  });

  // As a writer of the cache: only they see the pushing and reporting token's description.
  const asWriter = () => ({ headers: { authorization: `Bearer ${write}` } });

  test("pushes name their CI run to a nixcache server", async () => {
    const r = (await (
      await fetch(`${srv.url}/api/v1/ui/caches/pub/pushes`, asWriter())
    ).json()) as Page<PushRow>;
    assert.deepEqual(
      r.items.map((p) => [p.run?.id, p.token?.description, p.paths]),
      [["nightly #9", "ci writer", 1]],
    );
  });

  test("a write token uploads the report; a refusal or a dead server only warns", async () => {
    const cache = `${srv.url}/pub`;
    const base = ["verify", "--path", path, "--cache", cache, "--commit", "c0ffee00", "--branch", "release"];
    const ok = await runCli(base, { env: { NIXCACHE_TOKEN: write, NIXCACHE_RUN: "nightly #9" } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, new RegExp(`nixcache: report uploaded: ${srv.url}/ui/#/cache/pub/report/\\d+`));
    assert.ok(!ok.stderr.includes(write) && !ok.stdout.includes(write), "the token is never printed");
    const v = (await (
      await fetch(`${srv.url}/api/v1/ui/caches/pub?branch=release`, asWriter())
    ).json()) as CacheResponse;
    assert.equal(v.report?.kind, "verify");
    assert.equal(v.report?.commit, "c0ffee00");
    assert.deepEqual(v.report?.run, { id: "nightly #9", url: null });
    assert.equal(v.report?.by, "ci writer");
    assert.equal(v.report?.rows[0]?.cells[v.report.systems[0] ?? ""]?.status, "ok");
    const pushes = (await (await fetch(`${srv.url}/api/v1/ui/caches/pub/pushes`)).json()) as Page<PushRow>;
    assert.equal(pushes.items[0]?.run?.report?.commit, "c0ffee00", "the run's pushes link to its report");

    const refused = await runCli(base, { env: { NIXCACHE_TOKEN: read } });
    assert.equal(refused.code, 0, "a refused upload does not fail the command");
    assert.match(refused.stderr, /warning: the report was not uploaded to .*HTTP 401/);
    const dead = await runCli([...base, "--report-to", "http://127.0.0.1:9/pub"], {
      env: { NIXCACHE_TOKEN: write },
    });
    assert.equal(dead.code, 0);
    assert.match(
      dead.stderr,
      /warning: the report was not uploaded to http:\/\/127\.0\.0\.1:9\/pub: it is not a nixcache server/,
    );
    const none = await runCli([...base, "--no-report"], { env: { NIXCACHE_TOKEN: write } });
    assert.equal(none.code, 0);
    assert.doesNotMatch(none.stderr, /report/);
    const inActions = await runCli(base, {
      env: {
        NIXCACHE_TOKEN: read,
        GITHUB_ACTIONS: "true",
        GITHUB_STEP_SUMMARY: join(dir.path, "summary.md"),
      },
    });
    assert.match(inActions.stderr, /^::warning title=nixcache report::the report was not uploaded/m);
  });
});
