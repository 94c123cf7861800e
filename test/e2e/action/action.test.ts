// The nixcache Action as the runner runs it: the committed bundle (dist/action/main.mjs, post.mjs)
// under plain `node`, with the INPUT_* variables and the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY /
// GITHUB_STATE files the runner sets, against a real `nixcache serve`, building a real flake.
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { request } from "undici";
import { applyNixSetup, ignoredSettings, restoreNixSetup } from "../../../src/github/nix-setup.js";
import { startServer } from "../../../src/server/server.js";
import { nixOutPath, writeFlake } from "../../fixtures/flakes/make-flake.js";
import { type CliResult, runCli, runNode } from "../../helpers/cli.js";
import { startFakeGitHub } from "../../helpers/github-server.js";
import { buildTrivial, requireNix, tempDir } from "../../helpers/nix.js";

const DIST = fileURLToPath(new URL("../../../dist/action/", import.meta.url));

/** Runs a bundled entry as the runner does: `node <file>` with the step's environment. */
function runEntry(entry: "main" | "post", env: NodeJS.ProcessEnv): Promise<CliResult> {
  const base = { ...process.env };
  // Nothing of this machine's own GitHub or Nix user config leaks into the step.
  for (const k of Object.keys(base))
    if (k.startsWith("INPUT_") || k.startsWith("GITHUB_") || k.startsWith("STATE_")) delete base[k];
  delete base.NIX_USER_CONF_FILES;
  return runNode(path.join(DIST, `${entry}.mjs`), [], { baseEnv: base, env });
}

/** The runner's file commands (`name<<DELIM\nvalue\nDELIM`), as the runner reads them. */
function fileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) out[m[1] as string] = m[3] as string;
  return out;
}

const count = (hay: string, needle: string) => hay.split(needle).length - 1;

describe("the nixcache Action (bundled) against nixcache serve", { concurrency: false }, () => {
  const dir = tempDir("nixcache-action-");
  const flake = path.join(dir.path, "flake");
  let server: Awaited<ReturnType<typeof startServer>>;
  let cacheUrl = "";
  let token = "";
  let publicKey = "";
  /** The server's request log (one JSON line per request). */
  const requests: string[] = [];
  const userConf = "# the user's own settings\nwarn-dirty = false\n";

  before(async () => {
    requireNix();
    const data = path.join(dir.path, "data");
    const made = await runCli(["cache", "create", "main", "--data", data]);
    assert.equal(made.code, 0, made.stderr);
    publicKey = made.stdout.trim();
    const tok = await runCli(["token", "create", "--data", data, "--cache", "main", "--perm", "write"]);
    assert.equal(tok.code, 0, tok.stderr);
    token = tok.stdout.trim();
    server = await startServer({ dataDir: data, port: 0, log: (line) => requests.push(line) });
    cacheUrl = `${server.url}/main`;
    await writeFlake(
      flake,
      `{
        packages.x86_64-linux.hello = leaf "x86_64-linux" "hello";
        packages.x86_64-linux.greeter = mk "x86_64-linux" "greeter" "echo \${self.packages.x86_64-linux.hello} > $out";
        packages.aarch64-darwin.hello = leaf "aarch64-darwin" "hello";
      }`,
      `builds:\n  include:\n    - "packages.x86_64-linux.*"\n    - "packages.aarch64-darwin.*"\n`,
    );
  });
  after(async () => {
    await server?.close();
    dir.cleanup();
  });

  /** A fresh step environment (its own RUNNER_TEMP, output, summary and state files, user nix.conf). */
  async function step(name: string, inputs: Record<string, string>, extra: NodeJS.ProcessEnv = {}) {
    const root = path.join(dir.path, name);
    const files = {
      output: path.join(root, "output"),
      summary: path.join(root, "summary.md"),
      state: path.join(root, "state"),
      temp: path.join(root, "runner-temp"),
      xdg: path.join(root, "xdg"),
    };
    await mkdir(path.join(files.xdg, "nix"), { recursive: true });
    await mkdir(files.temp, { recursive: true });
    for (const f of [files.output, files.summary, files.state]) await writeFile(f, "");
    await writeFile(path.join(files.xdg, "nix", "nix.conf"), userConf);
    const env: NodeJS.ProcessEnv = {
      GITHUB_ACTIONS: "true",
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_STATE: files.state,
      RUNNER_TEMP: files.temp,
      XDG_CONFIG_HOME: files.xdg,
      GITHUB_EVENT_NAME: "push",
      GITHUB_REF: "refs/heads/main",
      GITHUB_REPOSITORY: "owner/flake",
      ...extra,
    };
    for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
    return { files, env, conf: path.join(files.xdg, "nix", "nix.conf") };
  }

  test("build: pushes the flake, writes outputs and summary, masks the token, post restores nix.conf", async () => {
    const s = await step("build", {
      command: "build",
      cache: cacheUrl,
      token,
      flake,
      "extra-args": "--keep-going",
    });
    const main = await runEntry("main", s.env);
    assert.equal(main.code, 0, `${main.stdout}\n${main.stderr}`);

    // The token is masked first thing, and appears nowhere else.
    assert.ok(main.stdout.startsWith(`::add-mask::${token}\n`), main.stdout.slice(0, 200));
    assert.equal(count(main.stdout, token), 1);
    assert.equal(count(main.stderr, token), 0);

    const outputs = fileCommands(await readFile(s.files.output, "utf8"));
    assert.equal(outputs.built, "2");
    assert.equal(outputs.cached, "0");
    assert.equal(outputs.failed, "0");
    assert.ok(Number(outputs.pushed) >= 2, `pushed ${outputs.pushed}`);
    const reportFile = outputs.report ?? "";
    assert.equal(path.dirname(reportFile), s.files.temp);
    // The report is `nixcache build --json`'s contract.
    const report = JSON.parse(await readFile(reportFile, "utf8")) as {
      targets: Array<{
        attr: string;
        system: string;
        status: string;
        outPath: string;
        push: Record<string, string>;
        log: string | null;
      }>;
      summary: { ok: boolean; built: number; caches: Array<{ url: string; pushedPaths: number }> };
    };
    assert.equal(report.summary.ok, true);
    const byAttr = new Map(report.targets.map((t) => [t.attr, t]));
    for (const attr of ["packages.x86_64-linux.hello", "packages.x86_64-linux.greeter"]) {
      const t = byAttr.get(attr);
      assert.equal(t?.status, "built", attr);
      assert.equal(t?.push[cacheUrl], "pushed");
      assert.equal(t?.outPath, nixOutPath(flake, attr));
      assert.ok("log" in (t ?? {}));
    }
    assert.equal(byAttr.get("packages.aarch64-darwin.hello")?.status, "not-built-here");
    assert.equal(report.summary.caches[0]?.pushedPaths, Number(outputs.pushed));

    // What was pushed is in the cache, compressed as the codec fallback says.
    const out = byAttr.get("packages.x86_64-linux.greeter")?.outPath ?? "";
    const res = await request(`${cacheUrl}/${path.basename(out).slice(0, 32)}.narinfo`);
    assert.equal(res.statusCode, 200);
    const narinfo = await res.body.text();
    const hasZstd =
      typeof (zlib as unknown as { createZstdCompress?: unknown }).createZstdCompress === "function";
    assert.match(narinfo, hasZstd ? /^Compression: zstd$/m : /^Compression: none$/m);
    if (!hasZstd)
      assert.match(main.stdout, /^::notice::NARs are pushed uncompressed \(Compression: none\): Node v\d+/m);

    // The step summary and groups.
    const summary = await readFile(s.files.summary, "utf8");
    assert.match(summary, /### nixcache build: ✅ 2 built, 0 cached/);
    assert.match(main.stdout, /^::group::Configure Nix to substitute from the cache$/m);
    assert.match(main.stdout, /^::group::Build and push$/m);

    // Nix is set to substitute from the cache: the user-level nix.conf, and a private netrc.
    const conf = await readFile(s.conf, "utf8");
    assert.ok(conf.startsWith(userConf));
    assert.match(conf, new RegExp(`^extra-substituters = ${cacheUrl.replace(/[.]/g, "\\.")}$`, "m"));
    assert.ok(conf.includes(`extra-trusted-public-keys = ${publicKey}`), conf);
    // The key came from the server's /api/cache-config, not the Cachix API nor an input.
    const paths = requests.map((l) => (JSON.parse(l) as { url?: string }).url);
    assert.ok(paths.includes("/api/cache-config"), paths.join(" "));
    assert.ok(!paths.includes("/api/v1/cache/main"), paths.join(" "));
    const netrc = /^netrc-file = (\S+)$/m.exec(conf)?.[1] ?? "";
    assert.ok(netrc.startsWith(s.files.temp), netrc);
    assert.equal(statSync(netrc).mode & 0o777, 0o600);
    assert.match(
      await readFile(netrc, "utf8"),
      new RegExp(`^machine 127\\.0\\.0\\.1 password ${token}$`, "m"),
    );

    // post: the runner hands the saved state back as STATE_* variables.
    const state = fileCommands(await readFile(s.files.state, "utf8"));
    assert.ok(state["nix-setup"], "main saved its state");
    assert.ok(!state["nix-setup"]?.includes(token), "the state holds no secret");
    const post = await runEntry("post", { ...s.env, "STATE_nix-setup": state["nix-setup"] });
    assert.equal(post.code, 0, post.stderr);
    assert.equal(await readFile(s.conf, "utf8"), userConf);
    assert.equal(existsSync(netrc), false);

    // A second run finds everything cached and pushes nothing.
    const s2 = await step("build-again", { command: "build", cache: cacheUrl, token, flake });
    const again = await runEntry("main", s2.env);
    assert.equal(again.code, 0, again.stdout);
    const o2 = fileCommands(await readFile(s2.files.output, "utf8"));
    assert.deepEqual([o2.built, o2.cached, o2.pushed, o2.failed], ["0", "2", "0", "0"]);
  });

  test("a pull request from a fork (no secrets) builds without pushing and says so", async () => {
    const event = path.join(dir.path, "event.json");
    await writeFile(
      event,
      JSON.stringify({ pull_request: { head: { repo: { full_name: "someone/fork" } } } }),
    );
    const s = await step(
      "fork",
      { command: "build", cache: cacheUrl, token: "", flake },
      {
        GITHUB_EVENT_NAME: "pull_request",
        GITHUB_EVENT_PATH: event,
        GITHUB_HEAD_REF: "patch-1",
        GITHUB_REF: "refs/pull/1/merge",
      },
    );
    const r = await runEntry("main", s.env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^::notice title=nixcache%3A not pushing::This pull request comes from a fork/m);
    const o = fileCommands(await readFile(s.files.output, "utf8"));
    assert.equal(o.pushed, "0");
    assert.equal(o.failed, "0");
  });

  test("verify: the Cache Only step finds every target of this system with its closure", async () => {
    const s = await step("verify", {
      command: "verify",
      cache: cacheUrl,
      token,
      flake,
      "extra-args": "--closure --system x86_64-linux",
    });
    const r = await runEntry("main", s.env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(count(r.stdout, token), 1);
    const o = fileCommands(await readFile(s.files.output, "utf8"));
    assert.equal(o.failed, "0");
    assert.match(await readFile(s.files.summary, "utf8"), /nixcache verify/i);
  });

  test("ci: build (everything cached by now) and verify in one step; the report is ci --json's", async () => {
    const s = await step("ci", { command: "ci", cache: cacheUrl, token, flake });
    const r = await runEntry("main", s.env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const o = fileCommands(await readFile(s.files.output, "utf8"));
    assert.deepEqual([o.built, o.cached, o.failed, o.pushed], ["0", "2", "0", "0"]);
    const report = JSON.parse(await readFile(o.report ?? "", "utf8")) as {
      targets: Array<{ attr: string; status: string; verify: string }>;
      summary: { ok: boolean; otherSystemsMissing: number; verify: { complete: boolean } };
    };
    assert.equal(report.summary.ok, true);
    // The macOS target is not built here, and not in the cache: reported, not failing the step.
    assert.equal(report.summary.otherSystemsMissing, 1);
    for (const t of report.targets)
      assert.equal(t.verify, t.status === "not-built-here" ? "missing" : "ok", t.attr);
    assert.match(await readFile(s.files.summary, "utf8"), /### nixcache ci: ✅/);
    assert.match(r.stdout, /^::group::Build, push and verify$/m);
  });

  test("ci and verify write commit statuses, the aggregate and no comment (all passing) through GITHUB_API_URL", async () => {
    const gh = await startFakeGitHub({
      repo: "owner/flake",
      tokens: { "gh-job-token": ["statuses", "pull_requests"] },
    });
    try {
      const sha = "4444444444444444444444444444444444444444";
      const runner = {
        GITHUB_API_URL: gh.url,
        GITHUB_SHA: sha,
        GITHUB_RUN_ID: "77",
        GITHUB_SERVER_URL: "https://gh.example",
      };
      const s = await step(
        "ci-statuses",
        {
          command: "ci",
          cache: cacheUrl,
          token,
          flake,
          "github-token": "gh-job-token",
          "extra-args": "--max-statuses 10",
        },
        runner,
      );
      const r = await runEntry("main", s.env);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.ok(r.stdout.includes("::add-mask::gh-job-token"), "the GitHub token is masked");
      const latest = Object.fromEntries([...gh.checks.latest(sha).values()].map((x) => [x.context, x.state]));
      assert.deepEqual(latest, {
        "All nixcache checks": "failure",
        "package greeter [x86_64-linux]": "success",
        "package hello [x86_64-linux]": "success",
        "package hello [aarch64-darwin]": "success",
      });
      const agg = gh.checks.latest(sha).get("All nixcache checks");
      assert.match(agg?.description ?? "", /^1 of 3 not substitutable: package hello \[aarch64-darwin\]/);
      // A push with no open pull request for the commit: no comment anywhere.
      assert.equal(gh.checks.comments.length, 0);

      // The Cache Only step of the workflow: verify sets the aggregate alone; a bad value is refused.
      const v = await step(
        "verify-statuses",
        {
          command: "verify",
          cache: cacheUrl,
          token,
          flake,
          "github-token": "gh-job-token",
          "extra-args": "--system x86_64-linux",
        },
        { ...runner, GITHUB_SHA: "5555555555555555555555555555555555555555" },
      );
      const vr = await runEntry("main", v.env);
      assert.equal(vr.code, 0, `${vr.stdout}\n${vr.stderr}`);
      const vlatest = [...gh.checks.latest("5555555555555555555555555555555555555555").values()];
      assert.deepEqual(
        vlatest.map((x) => [x.context, x.state, x.description]),
        [["All nixcache checks", "success", "2/2 targets substitutable and signed"]],
      );
      const bad = await step(
        "bad-statuses",
        { command: "verify", cache: cacheUrl, flake, "extra-args": "--pr-comment sometimes" },
        runner,
      );
      const br = await runEntry("main", bad.env);
      assert.equal(br.code, 1);
      assert.match(
        br.stdout,
        /::error::extra-args --pr-comment must be one of auto, always, never, got "sometimes"/,
      );
    } finally {
      await gh.close();
    }
  });

  test("push: store paths from extra-args, signed with the masked signing key", async () => {
    const keys = path.join(dir.path, "keys");
    await mkdir(keys, { recursive: true });
    const gen = await runCli([
      "key",
      "generate",
      "action-test-1",
      "--secret",
      path.join(keys, "sk"),
      "--public",
      path.join(keys, "pk"),
    ]);
    assert.equal(gen.code, 0, gen.stderr);
    const secretKey = (await readFile(path.join(keys, "sk"), "utf8")).trim();
    const secretPart = secretKey.slice(secretKey.indexOf(":") + 1);
    const storePath = buildTrivial(`action-push-${path.basename(dir.path)}`);
    const s = await step("push", {
      command: "push",
      cache: cacheUrl,
      token,
      "signing-key": secretKey,
      "extra-args": storePath,
    });
    const r = await runEntry("main", s.env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    // Both the key and its secret half are masked before anything else, and printed nowhere else.
    const lines = r.stdout.split("\n");
    assert.deepEqual(lines.slice(0, 3), [
      `::add-mask::${token}`,
      `::add-mask::${secretKey}`,
      `::add-mask::${secretPart}`,
    ]);
    assert.equal(count(r.stdout + r.stderr, secretPart), 2);
    const o = fileCommands(await readFile(s.files.output, "utf8"));
    assert.deepEqual([o.pushed, o.failed], ["1", "0"]);
    const res = await request(`${cacheUrl}/${path.basename(storePath).slice(0, 32)}.narinfo`);
    assert.equal(res.statusCode, 200);
    assert.match(await res.body.text(), /^Sig: action-test-1:/m);
  });

  test("bad inputs fail the step with the reason, and print no secret", async () => {
    const s = await step("bad", { command: "deploy", cache: cacheUrl, token: "sekrit-token-value" });
    const r = await runEntry("main", s.env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^::error::input command: "deploy" is not one of build, push, verify, ci$/m);
    assert.equal(count(r.stdout + r.stderr, "sekrit-token-value"), 1);
  });
});

describe("Nix set-up: untrusted users and restoring", () => {
  const plan = {
    substituters: ["https://cache.example.org/main"],
    publicKeys: ["cache.example.org-1:AAAA"],
    netrc: [{ machine: "cache.example.org", password: "t" }],
  };

  test("a user the daemon does not trust is told which settings are ignored and why", () => {
    const base = { user: "runner", groups: ["runner", "docker"], daemon: true, trustedSubstituters: [] };
    const ignored = ignoredSettings({ ...base, trustedUsers: ["root"] }, plan);
    assert.equal(ignored.length, 3);
    assert.match(
      ignored[0] ?? "",
      /^extra-substituters = https:\/\/cache\.example\.org\/main is ignored: user runner is not in the Nix daemon's trusted-users \(root\)/,
    );
    assert.match(ignored[1] ?? "", /^extra-trusted-public-keys = cache\.example\.org-1:AAAA is ignored/);
    assert.match(ignored[2] ?? "", /^netrc-file is ignored/);
    // Trusted by name, by group, by '*', or single-user Nix (no daemon): nothing is ignored.
    assert.deepEqual(ignoredSettings({ ...base, trustedUsers: ["root", "runner"] }, plan), []);
    assert.deepEqual(ignoredSettings({ ...base, trustedUsers: ["@docker"] }, plan), []);
    assert.deepEqual(ignoredSettings({ ...base, trustedUsers: ["*"] }, plan), []);
    assert.deepEqual(ignoredSettings({ ...base, daemon: false, trustedUsers: [] }, plan), []);
    // A trusted substituter is used even by an untrusted user; its key still is not.
    const some = ignoredSettings(
      { ...base, trustedUsers: ["root"], trustedSubstituters: ["https://cache.example.org/main/"] },
      plan,
    );
    assert.equal(some.length, 2);
    assert.match(some[0] ?? "", /^extra-trusted-public-keys/);
  });

  test("restoring keeps what another step added meanwhile, and removes a file that did not exist", async () => {
    const d = tempDir("nixcache-nixsetup-");
    try {
      const env = { XDG_CONFIG_HOME: d.path };
      const conf = path.join(d.path, "nix", "nix.conf");
      const { state } = await applyNixSetup(plan, { tempDir: path.join(d.path, "tmp"), env });
      assert.equal(statSync(state.netrcFile ?? "").mode & 0o777, 0o600);
      await writeFile(conf, `${await readFile(conf, "utf8")}max-jobs = 4\n`);
      await restoreNixSetup(state);
      assert.equal(await readFile(conf, "utf8"), "max-jobs = 4\n");
      const again = await applyNixSetup(plan, { tempDir: path.join(d.path, "tmp"), env });
      await writeFile(conf, "");
      await restoreNixSetup({ ...again.state, confExisted: false });
      assert.equal(existsSync(conf), true, "an emptied file someone else wrote is left");
      const third = await applyNixSetup(plan, {
        tempDir: path.join(d.path, "tmp"),
        env: { XDG_CONFIG_HOME: path.join(d.path, "fresh") },
      });
      await restoreNixSetup(third.state);
      assert.equal(existsSync(third.state.confFile), false);
    } finally {
      d.cleanup();
    }
  });
});
