// `nixcache workflow`: the generated file is valid to GitHub's own parser, follows the target
// set's systems, carries no target list, is idempotent, and `--check` catches hand edits (a
// removed permission included); each job gets only the permissions it uses; its Cache Only job
// runs after every system's build and sets the aggregate status; with `--auth oidc` the jobs ask
// for id-token: write and carry no secret.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { parse } from "yaml";
import { parseExtraArgs } from "../../../src/action/extra-args.js";
import type { ActionCommand } from "../../../src/github/action-inputs.js";
import { generateWorkflows, regenerateCommand } from "../../../src/github/workflow.js";
import { writeFlake } from "../../fixtures/flakes/make-flake.js";
import { runCli } from "../../helpers/cli.js";
import { requireNix, tempDir } from "../../helpers/nix.js";

const ACTION = "example-org/nixcache@v1";
const AGGREGATE = "All nixcache checks";

/** `extra-args` as the Action's parser gets them: expressions evaluated as GitHub would (builds succeeded). */
function extraArgs(text: string | undefined): string[] {
  const evaluated = (text ?? "").replace(
    /\$\{\{ needs\.build\.result == 'success' && '([^']+)' \|\| '[^']+' \}\}/g,
    "$1",
  );
  assert.doesNotMatch(evaluated, /\$\{\{/, `an expression the test does not evaluate: ${text}`);
  return evaluated.split(/\s+/).filter(Boolean);
}

/** Parses with @actions/workflow-parser: no errors from parsing or from converting to a template. */
async function assertValidWorkflow(name: string, content: string): Promise<void> {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  assert.deepEqual(errors, [], `${name} does not parse:\n${errors.join("\n")}`);
  assert.ok(result.value, `${name}: parser returned no value`);
  const template = await convertWorkflowTemplate(result.context, result.value);
  assert.deepEqual(
    (template.errors ?? []).map((e: { Message: string }) => e.Message),
    [],
    `${name} does not convert`,
  );
}

interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency: { group: string; "cancel-in-progress": boolean };
  jobs: Record<
    string,
    {
      name?: string;
      "runs-on": string;
      needs?: string | string[];
      permissions?: Record<string, string>;
      if?: string;
      strategy?: { matrix: { include: Array<{ system: string; runner: string }> } };
      steps: Array<{ uses?: string; with?: Record<string, string> }>;
    }
  >;
}

describe("nixcache workflow", { concurrency: false }, () => {
  const dir = tempDir("nixcache-workflow-");
  const linux = path.join(dir.path, "linux");
  const openclaw = path.join(dir.path, "openclaw");
  // Target names that must never appear in the generated files.
  const targetNames = ["hello", "lint", "openclaw-gateway", "openclaw-cli", "gateway-smoke"];

  before(async () => {
    requireNix();
    await writeFlake(
      linux,
      `{
        packages.x86_64-linux.hello = leaf "x86_64-linux" "hello";
        checks.x86_64-linux.lint = leaf "x86_64-linux" "lint";
      }`,
    );
    // Laid out like nix-openclaw: packages and checks for x86_64-linux and aarch64-darwin.
    await writeFlake(
      openclaw,
      `{
        packages.x86_64-linux.openclaw-gateway = leaf "x86_64-linux" "openclaw-gateway";
        packages.x86_64-linux.openclaw-cli = leaf "x86_64-linux" "openclaw-cli";
        packages.aarch64-darwin.openclaw-gateway = leaf "aarch64-darwin" "openclaw-gateway";
        packages.aarch64-darwin.openclaw-cli = leaf "aarch64-darwin" "openclaw-cli";
        checks.x86_64-linux.gateway-smoke = leaf "x86_64-linux" "gateway-smoke";
        checks.aarch64-darwin.gateway-smoke = leaf "aarch64-darwin" "gateway-smoke";
      }`,
      `builds:\n  include:\n    - "*.x86_64-linux.*"\n    - "*.aarch64-darwin.*"\n`,
    );
  });
  after(() => dir.cleanup());

  const cases = [
    {
      flake: () => linux,
      label: "Linux-only flake, cachix",
      cache: "cachix://mycache",
      systems: ["x86_64-linux"],
    },
    {
      flake: () => openclaw,
      label: "Linux+macOS flake, cachix",
      cache: "cachix://openclaw",
      systems: ["aarch64-darwin", "x86_64-linux"],
    },
    {
      flake: () => openclaw,
      label: "Linux+macOS flake, self-hosted nixcache server",
      cache: "https://cache.example.org/main",
      systems: ["aarch64-darwin", "x86_64-linux"],
    },
    {
      flake: () => linux,
      label: "Linux-only flake, self-hosted",
      cache: "https://cache.example.org/main",
      systems: ["x86_64-linux"],
    },
  ];

  for (const [i, c] of cases.entries()) {
    test(`${c.label}: a valid workflow, one build job per system and Cache Only, no targets, --check`, async () => {
      const out = path.join(dir.path, `out-${i}`);
      const args = [
        "workflow",
        "--flake",
        c.flake(),
        "--cache",
        c.cache,
        "--out",
        out,
        "--action-ref",
        ACTION,
      ];
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /wrote .*nix-build-cache\.yml/);
      // Cache Only is a job of the build workflow, not a workflow of its own any more.
      assert.doesNotMatch(r.stdout, /cache-only\.yml/);
      assert.equal(existsSync(path.join(out, "cache-only.yml")), false);
      const buildText = await readFile(path.join(out, "nix-build-cache.yml"), "utf8");
      await assertValidWorkflow("nix-build-cache.yml", buildText);

      // The header: generated, from what, how to regenerate, what each job may do, how to require.
      assert.match(buildText, /^# Generated by `nixcache workflow`/);
      assert.match(buildText, /# {3}nixcache workflow .*--cache /);
      assert.match(buildText, /cachix\/install-nix-action@v\d+/);
      assert.match(
        buildText,
        /^# - build \(one per system\): contents: read \(to check out\), statuses: write/m,
      );
      assert.match(
        buildText,
        /^# - Cache Only .*\n(# .*\n)*# .*pull-requests: write \(for the pull request comment/m,
      );
      assert.ok(
        buildText.includes(
          "#   gh api -X POST repos/OWNER/REPO/branches/main/protection/required_status_checks/contexts -f 'contexts[]=All nixcache checks'",
        ),
      );
      // No target list: no attribute names, no packages./checks. paths.
      for (const name of targetNames) assert.doesNotMatch(buildText, new RegExp(name), `${name} appears`);
      assert.doesNotMatch(buildText, /packages\.|checks\./);

      const build = parse(buildText) as Workflow;
      assert.equal(build.name, "Nix Build Cache");
      assert.deepEqual(Object.keys(build.on).sort(), ["pull_request", "push", "workflow_dispatch"]);
      assert.deepEqual(build.permissions, { contents: "read" }, "the default for a job that does not say");
      assert.equal(build.concurrency["cancel-in-progress"], true);
      assert.match(build.concurrency.group, /github\.ref/);
      assert.deepEqual(Object.keys(build.jobs), ["build", "cache-only"]);
      const job = build.jobs.build;
      assert.ok(job);
      // Least privilege, per job: statuses for the per-target statuses, no pull request comment.
      assert.deepEqual(job.permissions, { contents: "read", statuses: "write" });
      const matrix = job.strategy?.matrix.include ?? [];
      assert.deepEqual(
        matrix.map((m) => m.system),
        c.systems,
      );
      const expectedRunner: Record<string, string> = {
        "x86_64-linux": "ubuntu-24.04",
        "aarch64-darwin": "macos-14",
      };
      for (const m of matrix) assert.equal(m.runner, expectedRunner[m.system]);
      const step = job.steps.find((s) => s.uses === ACTION);
      assert.equal(step?.with?.command, "build");
      // Every build job names every system of the matrix (the others' targets are their jobs'),
      // and leaves the pull request comment to Cache Only.
      const bargs = extraArgs(step?.with?.["extra-args"]);
      assert.deepEqual(
        bargs.flatMap((a, k) => (a === "--runner-systems" ? [bargs[k + 1]] : [])),
        c.systems,
      );
      assert.equal(bargs[bargs.indexOf("--pr-comment") + 1], "never");
      assert.ok(bargs.includes("--keep-going"));
      // The commit built is the commit whose statuses branch protection reads (a PR's head).
      for (const j of Object.values(build.jobs)) {
        const co = j.steps.find((s) => s.uses?.startsWith("actions/checkout@"));
        assert.equal(co?.with?.ref, `${"$"}{{ github.event.pull_request.head.sha || github.sha }}`);
      }

      // Cache Only: after the build jobs of every system, whatever their result, not when cancelled,
      // not for forks' pull requests; verify --closure sets the aggregate; it may comment.
      const only = build.jobs["cache-only"];
      assert.ok(only);
      assert.equal(only.name, "Cache Only");
      assert.deepEqual([only.needs].flat(), ["build"]);
      assert.match(only.if ?? "", /^!cancelled\(\) && /);
      assert.match(only.if ?? "", /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
      assert.equal(only["runs-on"], "ubuntu-24.04");
      assert.deepEqual(only.permissions, { contents: "read", statuses: "write", "pull-requests": "write" });
      const vstep = only.steps.find((s) => s.uses === ACTION);
      assert.equal(vstep?.with?.command, "verify");
      assert.equal(vstep?.with?.upstream, "https://cache.nixos.org");
      assert.match(vstep?.with?.["extra-args"] ?? "", /--closure --wait \S+/);
      const vargs = extraArgs(vstep?.with?.["extra-args"]);
      assert.equal(vargs[vargs.indexOf("--wait") + 1], "5m", "a short wait: every build has pushed");
      assert.equal(vargs.includes("--pr-comment"), false, "Cache Only keeps the default comment");
      assert.equal(vargs.includes("--runner-systems"), false, "Cache Only verifies every system");
      // What the workflow passes is what the Action takes: its inputs, and flags its parser accepts.
      const action = parse(
        await readFile(fileURLToPath(new URL("../../../action.yml", import.meta.url)), "utf8"),
      ) as {
        inputs: Record<string, unknown>;
      };
      for (const st of [step, vstep]) {
        for (const k of Object.keys(st?.with ?? {}))
          assert.ok(k in action.inputs, `${k} is not an input of action.yml`);
        const command = st?.with?.command as ActionCommand;
        parseExtraArgs(command, extraArgs(st?.with?.["extra-args"]));
      }
      for (const st of [step, vstep])
        if (c.cache.startsWith("cachix://")) {
          assert.match(st?.with?.token ?? "", /secrets\.CACHIX_AUTH_TOKEN/);
          assert.match(
            st?.with?.cache ?? "",
            /^cachix:\/\/\$\{\{ vars\.CACHIX_CACHE_NAME \|\| '[a-z]+' \}\}$/,
          );
          assert.doesNotMatch(buildText, /NIXCACHE_TOKEN/);
        } else {
          assert.match(st?.with?.token ?? "", /secrets\.NIXCACHE_TOKEN/);
          assert.equal(st?.with?.cache, c.cache);
          assert.doesNotMatch(buildText, /CACHIX_AUTH_TOKEN/);
        }

      // Idempotent: a second run changes nothing; --check agrees.
      const again = await runCli(args);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /unchanged .*nix-build-cache\.yml/);
      const ok = await runCli([...args, "--check"]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "");

      // A hand edit: --check exits 1 with a unified diff of it, and writes nothing.
      const edited = buildText.replace("fail-fast: false", "fail-fast: true");
      assert.notEqual(edited, buildText);
      await writeFile(path.join(out, "nix-build-cache.yml"), edited);
      const bad = await runCli([...args, "--check"]);
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stdout, /^--- a\/.*nix-build-cache\.yml/m);
      assert.match(bad.stdout, /^\+\+\+ b\/.*nix-build-cache\.yml/m);
      assert.match(bad.stdout, /^@@ -\d+,\d+ \+\d+,\d+ @@/m);
      assert.match(bad.stdout, /^- +fail-fast: true$/m);
      assert.match(bad.stdout, /^\+ +fail-fast: false$/m);
      assert.match(bad.stderr, /differs/);
      assert.equal(await readFile(path.join(out, "nix-build-cache.yml"), "utf8"), edited);
    });
  }

  test("--check reports a permission removed by hand: statuses: write of Cache Only", async () => {
    const out = path.join(dir.path, "perm");
    const args = [
      "workflow",
      "--flake",
      openclaw,
      "--cache",
      "cachix://openclaw",
      "--out",
      out,
      "--action-ref",
      ACTION,
    ];
    assert.equal((await runCli(args)).code, 0);
    const file = path.join(out, "nix-build-cache.yml");
    const text = await readFile(file, "utf8");
    // The Cache Only job's block, without its statuses: write (the build job's stays).
    const at = text.indexOf("  cache-only:\n");
    const edited = text.slice(0, at) + text.slice(at).replace("      statuses: write\n", "");
    assert.notEqual(edited, text);
    assert.equal((parse(edited) as Workflow).jobs["cache-only"]?.permissions?.statuses, undefined);
    await writeFile(file, edited);
    const bad = await runCli([...args, "--check"]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /^\+ {6}statuses: write$/m);
    assert.match(bad.stderr, /nix-build-cache\.yml differs/);
  });

  test("a cache-only.yml an older nixcache generated: --check reports it, writing deletes it", async () => {
    const out = path.join(dir.path, "retired");
    await mkdir(out, { recursive: true });
    const args = [
      "workflow",
      "--flake",
      linux,
      "--cache",
      "cachix://mycache",
      "--out",
      out,
      "--action-ref",
      ACTION,
    ];
    const old =
      '# Generated by `nixcache workflow`: after each "Nix Build Cache" run on main...\nname: Cache Only\n';
    await writeFile(path.join(out, "cache-only.yml"), old);
    assert.equal((await runCli(args)).code, 0);
    await writeFile(path.join(out, "cache-only.yml"), old);
    const check = await runCli([...args, "--check"]);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^\+\+\+ \/dev\/null/m);
    assert.match(check.stderr, /cache-only\.yml \(no longer generated\)/);
    const w = await runCli(args);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /^removed .*cache-only\.yml/m);
    assert.equal(existsSync(path.join(out, "cache-only.yml")), false);
    // A hand-written file of that name is not ours: it stays, and --check does not mind it.
    await writeFile(path.join(out, "cache-only.yml"), "name: my own\non: push\n");
    assert.equal((await runCli([...args, "--check"])).code, 0);
    assert.equal((await runCli(args)).code, 0);
    assert.ok(existsSync(path.join(out, "cache-only.yml")));
  });

  test("writing says how to require the aggregate: the context, the settings path, gh api", async () => {
    const out = path.join(dir.path, "require");
    const r = await runCli([
      "workflow",
      "--flake",
      linux,
      "--cache",
      "cachix://mycache",
      "--out",
      out,
      "--branch",
      "trunk",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Require the aggregate status "${AGGREGATE}" on trunk`));
    assert.match(r.stdout, /Settings → Branches → the branch protection rule for trunk/);
    assert.match(r.stdout, /"Require status checks to pass before merging" → add "All nixcache checks"/);
    assert.match(r.stdout, /Rulesets → a ruleset targeting trunk/);
    assert.ok(
      r.stdout.includes(
        "gh api -X POST repos/OWNER/REPO/branches/trunk/protection/required_status_checks/contexts -f 'contexts[]=All nixcache checks'",
      ),
      r.stdout,
    );
    const help = await runCli(["workflow", "--help"]);
    assert.match(help.stdout, /statuses: write, pull-requests: write/);
    assert.match(help.stdout, /All nixcache checks/);
  });

  test("--runner overrides a system's runner; a missing file fails --check", async () => {
    const out = path.join(dir.path, "runner");
    const args = [
      "workflow",
      "--flake",
      openclaw,
      "--cache",
      "cachix://openclaw",
      "--out",
      out,
      "--action-ref",
      ACTION,
      "--runner",
      "aarch64-darwin=macos-15",
    ];
    const missing = await runCli([...args, "--check"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /^\+\+\+ b\/.*nix-build-cache\.yml/m);
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(path.join(out, "nix-build-cache.yml"), "utf8");
    await assertValidWorkflow("nix-build-cache.yml", text);
    const matrix = (parse(text) as Workflow).jobs.build?.strategy?.matrix.include;
    assert.deepEqual(matrix, [
      { system: "aarch64-darwin", runner: "macos-15" },
      { system: "x86_64-linux", runner: "ubuntu-24.04" },
    ]);
    // The regenerate command in the header carries the override.
    assert.match(text, /--runner aarch64-darwin=macos-15/);
  });

  test("usage errors: a runner for a system the target set lacks, a file:// cache", async () => {
    const bad = await runCli([
      "workflow",
      "--flake",
      linux,
      "--cache",
      "cachix://x",
      "--out",
      path.join(dir.path, "bad"),
      "--runner",
      "aarch64-linux=ubuntu-24.04-arm",
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no aarch64-linux targets/);
    const file = await runCli([
      "workflow",
      "--flake",
      linux,
      "--cache",
      "file:///srv/cache",
      "--out",
      path.join(dir.path, "bad"),
    ]);
    assert.equal(file.code, 2);
    assert.match(file.stderr, /cachix:\/\/NAME or http\(s\)/);
    const help = await runCli(["workflow", "--help"]);
    assert.equal(help.code, 0);
    for (const text of [
      "--check",
      "--runner",
      "--action-ref",
      "aarch64-darwin",
      "CACHIX_AUTH_TOKEN",
      "NIXCACHE_TOKEN",
      "Exit status",
    ])
      assert.ok(help.stdout.includes(text), `--help mentions ${text}`);
  });
});

// Generated from options directly: no flake (and no Nix) needed.
describe("nixcache workflow --auth oidc", () => {
  const base = {
    systems: ["x86_64-linux", "aarch64-darwin"],
    cache: "https://cache.example.org/main",
    actionRef: "example-org/nixcache@v1",
  };

  test("id-token: write on both jobs, oidc: true in the Action steps, and no token secret", async () => {
    const files = generateWorkflows({ ...base, auth: "oidc" });
    assert.deepEqual(
      files.map((f) => f.name),
      ["nix-build-cache.yml"],
    );
    for (const f of files) {
      await assertValidWorkflow(f.name, f.content);
      const wf = parse(f.content) as Workflow;
      assert.deepEqual(wf.permissions, { contents: "read" });
      assert.deepEqual(wf.jobs.build?.permissions, {
        contents: "read",
        statuses: "write",
        "id-token": "write",
      });
      assert.deepEqual(wf.jobs["cache-only"]?.permissions, {
        contents: "read",
        statuses: "write",
        "pull-requests": "write",
        "id-token": "write",
      });
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
      const actions = steps.filter((s) => s.uses === base.actionRef);
      assert.equal(actions.length, 2);
      for (const action of actions) {
        assert.equal(action?.with?.oidc, "true");
        assert.equal(action?.with?.token, undefined);
      }
      assert.doesNotMatch(f.content, /secrets\./);
      assert.match(f.content, /--auth oidc/);
      assert.match(f.content, /id-token: write \(for the OIDC identity token/);
    }
    assert.equal(
      regenerateCommand({ ...base, auth: "oidc" }),
      "nixcache workflow --cache https://cache.example.org/main --auth oidc --action-ref example-org/nixcache@v1",
    );
  });

  test("the default (token) is unchanged; OIDC needs a nixcache server; --auth is checked", async () => {
    const plain = generateWorkflows(base);
    assert.deepEqual(plain, generateWorkflows({ ...base, auth: "token" }));
    for (const f of plain) {
      const wf = parse(f.content) as Workflow;
      assert.deepEqual(wf.permissions, { contents: "read" });
      for (const j of Object.values(wf.jobs)) assert.equal(j.permissions?.["id-token"], undefined);
      const actions = Object.values(wf.jobs)
        .flatMap((j) => j.steps)
        .filter((s) => s.uses === base.actionRef);
      assert.equal(actions.length, 2);
      for (const action of actions) {
        assert.equal(action?.with?.token, `${"$"}{{ secrets.NIXCACHE_TOKEN }}`);
        assert.equal(action?.with?.oidc, undefined);
      }
    }
    assert.throws(
      () => generateWorkflows({ ...base, cache: "cachix://mycache", auth: "oidc" }),
      /Cachix has no OIDC/,
    );
    const bad = await runCli(["workflow", "--cache", base.cache, "--auth", "secret"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--auth "secret": expected token or oidc/);
  });
});
