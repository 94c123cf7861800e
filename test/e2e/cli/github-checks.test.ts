// Garnix's checks back on GitHub, end to end: real Nix builds a flake, a real nixcache server takes
// the pushes, and `nixcache build`/`ci`/`verify` write commit statuses and the pull-request comment
// to a local server implementing GitHub's REST contract (test/helpers/github-server.ts), found
// only through the variables a runner sets.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { hashBytes } from "../../../src/nix/hash.js";
import { formatNarInfo, signNarInfo } from "../../../src/nix/narinfo.js";
import { formatPublicKey, generateSecretKey, publicKeyOf } from "../../../src/nix/signing.js";
import { parseStorePath } from "../../../src/nix/store-path.js";
import {
  AGGREGATE_CONTEXT,
  aggregateStatus,
  statusContext,
  statusDescription,
  targetStatus,
} from "../../../src/report/commit-status.js";
import { PR_COMMENT_MARKER, prCommentBody } from "../../../src/report/pr-comment.js";
import { startServer } from "../../../src/server/server.js";
import { parseAttrText } from "../../../src/targets/select.js";
import { nix, nixOutPath, writeFlake } from "../../fixtures/flakes/make-flake.js";
import { runCli } from "../../helpers/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../../helpers/github-server.js";
import { requireNix, tempDir } from "../../helpers/nix.js";

const REPO = "octo/flake";
const SHA = "0123456789abcdef0123456789abcdef01234567";

describe("commit status names and texts", () => {
  test("contexts are named as Garnix named its checks", () => {
    const cases: Array<[string, string]> = [
      ["packages.x86_64-linux.hello", "package hello [x86_64-linux]"],
      ["checks.aarch64-darwin.tests", "check tests [aarch64-darwin]"],
      ["devShells.x86_64-linux.default", "devShell default [x86_64-linux]"],
      ["apps.x86_64-linux.run", "app run [x86_64-linux]"],
      ["defaultPackage.x86_64-linux", "default package [x86_64-linux]"],
      ["devShell.x86_64-linux", "default devShell [x86_64-linux]"],
      ["nixosConfigurations.web", "nixosConfig web"],
      ["homeConfigurations.alice", "homeConfig alice"],
      ["darwinConfigurations.mac", "darwinConfig mac"],
      ['packages.x86_64-linux."a.b"', "package a.b [x86_64-linux]"],
      ['packages.x86_64-linux."with space"', "package with space [x86_64-linux]"],
      ['packages.x86_64-linux."x[1]"', 'package "x[1]" [x86_64-linux]'],
      ["other.x86_64-linux.thing", "other.x86_64-linux.thing"],
      ["legacyPackages.x86_64-linux.a.b", "legacyPackages.x86_64-linux.a.b"],
    ];
    for (const [attr, context] of cases) assert.equal(statusContext(attr), context, attr);
    assert.deepEqual(parseAttrText('packages.x86_64-linux."a.\\"b"'), ["packages", "x86_64-linux", 'a."b']);
  });

  test("descriptions are one line within GitHub's 140 characters; failures say the first error line", () => {
    const long = statusDescription(`x${"y".repeat(300)}\nsecond line`);
    assert.equal(long.length, 140);
    assert.ok(long.endsWith("…"));
    const failed = targetStatus({
      attr: "packages.x86_64-linux.b",
      system: "x86_64-linux",
      status: "failed",
      push: {},
      error: "warning: something\nerror: builder for '/nix/store/x-b.drv' failed with exit code 3\nmore",
    });
    assert.equal(failed.state, "failure");
    assert.equal(failed.description, "error: builder for '/nix/store/x-b.drv' failed with exit code 3");
    const darwin = targetStatus({
      attr: "packages.aarch64-darwin.b",
      system: "aarch64-darwin",
      status: "not-built-here",
      push: {},
    });
    assert.deepEqual(
      [darwin.state, darwin.description],
      ["success", "not built: no runner for aarch64-darwin"],
    );
    const pushFailed = targetStatus(
      {
        attr: "checks.x86_64-linux.t",
        system: "x86_64-linux",
        status: "built",
        push: { "https://c/x": "failed: HTTP 500" },
      },
      { durationMs: 65_000 },
    );
    assert.equal(pushFailed.state, "failure");
    assert.equal(pushFailed.description, "built in 1m 05s, but not pushed to https://c/x: HTTP 500");
    const agg = aggregateStatus(
      Array.from({ length: 6 }, (_, i) => ({
        attr: `packages.x86_64-linux.p${i}`,
        system: "x86_64-linux",
        ok: i > 3,
      })),
      { unreported: 2 },
    );
    assert.equal(agg.context, AGGREGATE_CONTEXT);
    assert.equal(agg.state, "failure");
    assert.equal(
      agg.description,
      "4 of 6 not substitutable: package p0 [x86_64-linux], package p1 [x86_64-linux], +2 more (2 without a status of their own)",
    );
  });

  test("the comment lists failures with links, escapes what would break its table, and says all passing", () => {
    const c = prCommentBody(
      [
        {
          context: "package a|b [x86_64-linux]",
          state: "failure",
          description: "error: <b>bad</b> `x`",
          target_url: "https://d/log",
        },
        { context: AGGREGATE_CONTEXT, state: "failure", description: "1 of 2", target_url: null },
        { context: "check t [x86_64-linux]", state: "success", description: "built", target_url: null },
      ],
      { sha: SHA, runUrl: "https://github.example/octo/flake/actions/runs/1" },
    );
    assert.ok(c.body.startsWith(PR_COMMENT_MARKER));
    assert.equal(c.failed, 1);
    assert.match(
      c.body,
      /\| \[package a\\\|b \\\[x86_64-linux\\\]\]\(https:\/\/d\/log\) \| error: \\<b\\>bad\\<\/b\\> \\`x\\` \|/,
    );
    assert.doesNotMatch(c.body, /All nixcache checks/);
    const ok = prCommentBody(
      [{ context: "check t [x86_64-linux]", state: "success", description: "", target_url: null }],
      {
        sha: SHA,
      },
    );
    assert.match(ok.body, /all passing on 0123456/);
  });
});

describe("GitHub checks end to end (real nix, nixcache serve, GitHub's REST contract)", () => {
  let work: { path: string; cleanup: () => void };
  let flake: string;
  let upstream: string;
  let upstreamKey: string;
  let gh: FakeGitHub;
  let srv: Awaited<ReturnType<typeof startServer>>;
  let dataDir: { path: string; cleanup: () => void };
  let cache: string;
  let token: string;

  /** What a runner sets for a pull request (or `event`) of REPO. */
  async function runnerEnv(o: { event?: string; token?: string; fork?: boolean; sha?: string } = {}) {
    const event = o.event ?? "pull_request";
    const payload =
      event === "pull_request"
        ? {
            pull_request: {
              number: 7,
              head: { sha: SHA, repo: { full_name: o.fork ? "evil/flake" : REPO } },
            },
          }
        : {};
    const file = path.join(work.path, `event-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(payload));
    return {
      GITHUB_ACTIONS: "true",
      GITHUB_REPOSITORY: REPO,
      GITHUB_SHA: o.sha ?? "fedcba9876543210fedcba9876543210fedcba98",
      GITHUB_EVENT_NAME: event,
      GITHUB_EVENT_PATH: file,
      GITHUB_API_URL: gh.url,
      GITHUB_SERVER_URL: "https://github.example",
      GITHUB_RUN_ID: "4242",
      GITHUB_TOKEN: o.token ?? "gh-full",
      GITHUB_STEP_SUMMARY: "",
      NIXCACHE_TOKEN: token,
    };
  }

  const latest = (sha = SHA) =>
    Object.fromEntries(
      [...gh.checks.latest(sha).values()].map((s) => [s.context, [s.state, s.description ?? ""]]),
    );

  before(async () => {
    requireNix();
    work = tempDir("nixcache-ghchecks-");
    flake = path.join(work.path, "flake");
    // `./fixed` in the flake turns the broken and the unevaluable target into good ones.
    await writeFlake(
      flake,
      `let fixed = builtins.pathExists ./fixed; in {
        packages.x86_64-linux = {
          hello = mk "x86_64-linux" "gc-hello" "echo hello-building; echo hello > $out";
          cachedone = leaf "x86_64-linux" "gc-cached";
          broken = if fixed then leaf "x86_64-linux" "gc-fixed" else mk "x86_64-linux" "gc-broken" "echo broken-on-purpose; exit 3";
          evalfail = if fixed then leaf "x86_64-linux" "gc-evalfixed" else throw "evalfail does not evaluate";
        };
        checks.x86_64-linux.test = leaf "x86_64-linux" "gc-test";
        packages.aarch64-darwin.hello = leaf "aarch64-darwin" "gc-darwin";
      }`,
      `builds:\n  include:\n    - "*.x86_64-linux.*"\n    - "*.aarch64-darwin.*"\n`,
    );
    // The darwin output comes from an upstream file cache (another machine pushed it).
    const key = generateSecretKey("upstream-1");
    upstreamKey = formatPublicKey(publicKeyOf(key));
    upstream = path.join(work.path, "upstream");
    await mkdir(upstream, { recursive: true });
    await writeFile(path.join(upstream, "nix-cache-info"), "StoreDir: /nix/store\n");
    const darwinOut = nixOutPath(flake, "packages.aarch64-darwin.hello");
    const ni = signNarInfo(
      {
        storePath: darwinOut,
        url: "nar/darwin.nar",
        compression: "none",
        narHash: hashBytes("sha256", "darwin"),
        narSize: 120,
        references: [],
        sigs: [],
        extra: [],
      },
      key,
    );
    await writeFile(path.join(upstream, `${parseStorePath(darwinOut).hash}.narinfo`), formatNarInfo(ni));

    dataDir = tempDir("nixcache-ghchecks-srv-");
    const made = await runCli(["cache", "create", "main", "--data", dataDir.path]);
    assert.equal(made.code, 0, made.stderr);
    const tok = await runCli([
      "token",
      "create",
      "--data",
      dataDir.path,
      "--cache",
      "main",
      "--perm",
      "write",
    ]);
    assert.equal(tok.code, 0, tok.stderr);
    token = tok.stdout.trim();
    srv = await startServer({ dataDir: dataDir.path, port: 0 });
    cache = `${srv.url}/main`;
    // One target is in the cache before the first run.
    nix(["build", "--no-link", `path:${flake}#packages.x86_64-linux.cachedone`]);
    const pre = await runCli(["push", cache, nixOutPath(flake, "packages.x86_64-linux.cachedone")], {
      env: { NIXCACHE_TOKEN: token },
    });
    assert.equal(pre.code, 0, pre.stderr);

    gh = await startFakeGitHub({
      repo: REPO,
      tokens: {
        "gh-full": ["statuses", "pull_requests"],
        "gh-readonly": ["statuses:read", "pull_requests:read"],
      },
    });
    gh.checks.pulls.push({
      number: 7,
      state: "open",
      head: { sha: SHA, ref: "fix", repo: { full_name: REPO } },
    });
  });
  after(async () => {
    await gh?.close();
    await srv?.close();
    dataDir?.cleanup();
    work?.cleanup();
  });

  const ciArgs = () => [
    "ci",
    "--flake",
    flake,
    "--cache",
    cache,
    "--keep-going",
    "--upstream",
    `file://${upstream}`,
    "--upstream-key",
    upstreamKey,
  ];

  test("ci: a status per target, the aggregate failing, one comment; then fixed: all passing, the same comment edited", async () => {
    const r = await runCli(ciArgs(), { env: await runnerEnv() });
    assert.equal(r.code, 1, r.stderr);
    const got = latest();
    assert.deepEqual(Object.keys(got).sort(), [
      AGGREGATE_CONTEXT,
      "check test [x86_64-linux]",
      "package broken [x86_64-linux]",
      "package cachedone [x86_64-linux]",
      "package evalfail [x86_64-linux]",
      "package hello [aarch64-darwin]",
      "package hello [x86_64-linux]",
    ]);
    assert.equal(got["package hello [x86_64-linux]"]?.[0], "success");
    assert.match(got["package hello [x86_64-linux]"]?.[1] ?? "", /^built in \d+s$/);
    assert.deepEqual(got["package cachedone [x86_64-linux]"], ["success", "cached: already in the cache"]);
    assert.equal(got["package broken [x86_64-linux]"]?.[0], "failure");
    assert.match(got["package broken [x86_64-linux]"]?.[1] ?? "", /gc-broken\.drv' failed with exit code 3/);
    assert.equal(got["package evalfail [x86_64-linux]"]?.[0], "failure");
    assert.match(got["package evalfail [x86_64-linux]"]?.[1] ?? "", /evalfail does not evaluate/);
    assert.deepEqual(got["package hello [aarch64-darwin]"], [
      "success",
      "cached (not built: no runner for aarch64-darwin)",
    ]);
    assert.equal(got[AGGREGATE_CONTEXT]?.[0], "failure");
    assert.match(
      got[AGGREGATE_CONTEXT]?.[1] ?? "",
      /^2 of 6 not substitutable: package broken \[x86_64-linux\]/,
    );
    for (const d of Object.values(got)) assert.ok((d[1] ?? "").length <= 140);
    // pending came first: the aggregate as the run began, each built target as it started.
    const writes = gh.checks.writes(SHA);
    assert.deepEqual([writes[0]?.context, writes[0]?.state], [AGGREGATE_CONTEXT, "pending"]);
    assert.ok(writes.some((w) => w.context === "package hello [x86_64-linux]" && w.state === "pending"));
    // Links: a built or failed target's log on the dashboard, the job's page for the others, the
    // uploaded report for the aggregate.
    const all = [...gh.checks.latest(SHA).values()];
    const url = (c: string) => all.find((s) => s.context === c)?.target_url ?? "";
    for (const c of ["package hello [x86_64-linux]", "package broken [x86_64-linux]"])
      assert.match(url(c), /\/ui\/#\/cache\/main\/log\/[a-z0-9]{32}-gc-(hello|broken)\.drv$/, c);
    for (const c of ["package cachedone [x86_64-linux]", "package evalfail [x86_64-linux]"])
      assert.equal(url(c), "https://github.example/octo/flake/actions/runs/4242", c);
    assert.match(
      all.find((s) => s.context === AGGREGATE_CONTEXT)?.target_url ?? "",
      /\/ui\/#\/cache\/main\/report\/\d+$/,
    );
    // The statuses were written to the pull request's head, not GITHUB_SHA (a merge commit).
    assert.equal(gh.checks.writes("fedcba9876543210fedcba9876543210fedcba98").length, 0);

    assert.equal(gh.checks.comments.length, 1);
    const comment = gh.checks.comments[0];
    assert.equal(comment?.issue, 7);
    assert.ok(comment?.body.startsWith(PR_COMMENT_MARKER));
    assert.match(comment?.body ?? "", /2 checks failed on 0123456/);
    assert.match(
      comment?.body ?? "",
      /\[package broken \\\[x86_64-linux\\\]\]\(http:\/\/127\.0\.0\.1:\d+\/ui\/#\/cache\/main\/log\//,
    );
    assert.match(comment?.body ?? "", /evalfail does not evaluate/);

    // The fix lands: the same comment says all passing, the aggregate succeeds.
    await writeFile(path.join(flake, "fixed"), "");
    const r2 = await runCli(ciArgs(), { env: await runnerEnv() });
    assert.equal(r2.code, 0, r2.stderr);
    const got2 = latest();
    assert.equal(got2[AGGREGATE_CONTEXT]?.[0], "success");
    assert.equal(got2[AGGREGATE_CONTEXT]?.[1], "6/6 targets substitutable and signed");
    assert.equal(got2["package broken [x86_64-linux]"]?.[0], "success");
    assert.equal(got2["package evalfail [x86_64-linux]"]?.[0], "success");
    assert.equal(gh.checks.comments.length, 1, "edited, never a second comment");
    assert.match(gh.checks.comments[0]?.body ?? "", /all passing on 0123456/);
  });

  test("a token that may not write statuses changes nothing but one warning", async () => {
    const before = gh.checks.statuses.length;
    const r = await runCli(["build", "--flake", flake, "--push", cache], {
      env: await runnerEnv({ token: "gh-readonly" }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(gh.checks.statuses.length, before);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("::warning"));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0] ?? "", /statuses: write/);
    assert.doesNotMatch(r.stderr + r.stdout, /gh-readonly/, "the token is never printed");
  });

  test("build jobs leave other systems' targets to those systems' jobs (--runner-systems)", async () => {
    const sha = "1111111111111111111111111111111111111111";
    const r = await runCli(
      ["build", "--flake", flake, "--push", cache, "--runner-systems", "x86_64-linux", "aarch64-darwin"],
      { env: await runnerEnv({ event: "push", sha }) },
    );
    assert.equal(r.code, 0, r.stderr);
    const got = latest(sha);
    assert.equal(got["package hello [aarch64-darwin]"], undefined);
    assert.deepEqual(got["package hello [x86_64-linux]"], ["success", "cached: already in the cache"]);
    assert.equal(got[AGGREGATE_CONTEXT], undefined, "build sets no aggregate");
  });

  test("a fork's pull request: one notice, nothing written", async () => {
    const before = gh.checks.statuses.length;
    const r = await runCli(["verify", "--flake", flake, "--cache", cache], {
      env: await runnerEnv({ fork: true }),
    });
    assert.equal(gh.checks.statuses.length, before);
    const notices = r.stderr.split("\n").filter((l) => l.startsWith("::notice"));
    assert.equal(notices.length, 1, r.stderr);
    assert.match(notices[0] ?? "", /fork/);
  });

  test("verify waits out a rate limit and retries a 5xx; a push run comments on the open pull request of its commit", async () => {
    const sha = "2222222222222222222222222222222222222222";
    gh.checks.pulls.push({
      number: 8,
      state: "open",
      head: { sha, ref: "feature", repo: { full_name: REPO } },
    });
    gh.rateLimitOnce({ method: "POST", retryAfter: 1 });
    gh.serverErrorOnce({ method: "POST", status: 502 });
    const r = await runCli(["verify", "--flake", flake, "--cache", cache], {
      env: await runnerEnv({ event: "push", sha }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /::warning/);
    const writes = gh.checks.writes(sha).map((w) => `${w.context}:${w.state}`);
    assert.deepEqual(writes, [`${AGGREGATE_CONTEXT}:pending`, `${AGGREGATE_CONTEXT}:failure`]);
    const comment = gh.checks.comments.find((c) => c.issue === 8);
    assert.ok(comment, "a comment on the pull request whose head is the pushed commit");
    assert.match(comment.body, /1 check failed on 2222222/);
  });

  test("300 targets with --max-statuses 50: at most 50 + 1 contexts, failures first", async () => {
    const big = path.join(work.path, "big");
    const darwin = Array.from({ length: 260 }, (_, i) => `d${i} = leaf "aarch64-darwin" "gc-d${i}";`).join(
      " ",
    );
    const broken = Array.from({ length: 40 }, (_, i) => `e${i} = throw "e${i} is broken";`).join(" ");
    await writeFlake(
      big,
      `{ packages.aarch64-darwin = { ${darwin} }; packages.x86_64-linux = { ${broken} }; }`,
      `builds:\n  include:\n    - "*.x86_64-linux.*"\n    - "*.aarch64-darwin.*"\n`,
    );
    const sha = "3333333333333333333333333333333333333333";
    const r = await runCli(["ci", "--flake", big, "--cache", cache, "--max-statuses", "50", "--no-report"], {
      env: await runnerEnv({ event: "push", sha }),
    });
    assert.equal(r.code, 1, r.stderr);
    const writes = gh.checks.writes(sha);
    const individual = writes.filter((w) => w.context !== AGGREGATE_CONTEXT);
    assert.ok(individual.length <= 50, `${individual.length} individual statuses written`);
    assert.ok(new Set(writes.map((w) => w.context)).size <= 51);
    const failures = individual.filter((w) => w.state === "failure");
    assert.equal(failures.length, 40, "every failure got its status");
    const agg = gh.checks.latest(sha).get(AGGREGATE_CONTEXT);
    assert.equal(agg?.state, "failure");
    assert.match(agg?.description ?? "", /250 without a status of their own/);
  });
});
