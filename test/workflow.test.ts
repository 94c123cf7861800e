// `nixcache workflow`: the generated files are valid to GitHub's own parser, follow the target
// set's systems, carry no target list, are idempotent, and `--check` catches hand edits; with
// `--auth oidc` they ask for id-token: write and carry no secret.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { parse } from "yaml";
import { type ActionCommand, parseExtraArgs } from "../src/github/action-inputs.js";
import { generateWorkflows, regenerateCommand } from "../src/github/workflow.js";
import { writeFlake } from "./fixtures/flakes/make-flake.js";
import { runCli } from "./helpers/cli.js";
import { requireNix, tempDir } from "./helpers/nix.js";

const ACTION = "example-org/nixcache@v1";

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
      "runs-on": string;
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
    test(`${c.label}: valid workflows, one job per system, no targets, --check`, async () => {
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
      assert.match(r.stdout, /wrote .*cache-only\.yml/);
      const buildText = await readFile(path.join(out, "nix-build-cache.yml"), "utf8");
      const verifyText = await readFile(path.join(out, "cache-only.yml"), "utf8");
      await assertValidWorkflow("nix-build-cache.yml", buildText);
      await assertValidWorkflow("cache-only.yml", verifyText);

      for (const text of [buildText, verifyText]) {
        // The header: generated, from what, and how to regenerate.
        assert.match(text, /^# Generated by `nixcache workflow`/);
        assert.match(text, /# {3}nixcache workflow .*--cache /);
        assert.match(text, /cachix\/install-nix-action@v\d+/);
        // No target list: no attribute names, no packages./checks. paths.
        for (const name of targetNames) assert.doesNotMatch(text, new RegExp(name), `${name} appears`);
        assert.doesNotMatch(text, /packages\.|checks\./);
      }

      const build = parse(buildText) as Workflow;
      assert.equal(build.name, "Nix Build Cache");
      assert.deepEqual(Object.keys(build.on).sort(), ["pull_request", "push", "workflow_dispatch"]);
      assert.deepEqual(build.permissions, { contents: "read" });
      assert.equal(build.concurrency["cancel-in-progress"], true);
      assert.match(build.concurrency.group, /github\.ref/);
      const job = build.jobs.build;
      assert.ok(job);
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
      const verify = parse(verifyText) as Workflow;
      assert.equal(verify.name, "Cache Only");
      assert.deepEqual(Object.keys(verify.on).sort(), ["workflow_dispatch", "workflow_run"]);
      assert.deepEqual((verify.on.workflow_run as { workflows: string[] }).workflows, ["Nix Build Cache"]);
      assert.deepEqual(verify.permissions, { contents: "read" });
      const vstep = verify.jobs.verify?.steps.find((s) => s.uses === ACTION);
      assert.equal(vstep?.with?.command, "verify");
      assert.equal(vstep?.with?.upstream, "https://cache.nixos.org");
      assert.match(vstep?.with?.["extra-args"] ?? "", /--closure --wait \S+/);
      // What the workflows pass is what the Action takes: its inputs, and flags its parser accepts.
      const action = parse(
        await readFile(fileURLToPath(new URL("../action.yml", import.meta.url)), "utf8"),
      ) as {
        inputs: Record<string, unknown>;
      };
      for (const st of [step, vstep]) {
        for (const k of Object.keys(st?.with ?? {}))
          assert.ok(k in action.inputs, `${k} is not an input of action.yml`);
        const command = st?.with?.command as ActionCommand;
        parseExtraArgs(command, (st?.with?.["extra-args"] ?? "").split(/\s+/).filter(Boolean));
      }
      if (c.cache.startsWith("cachix://")) {
        assert.match(step?.with?.token ?? "", /secrets\.CACHIX_AUTH_TOKEN/);
        assert.match(
          step?.with?.cache ?? "",
          /^cachix:\/\/\$\{\{ vars\.CACHIX_CACHE_NAME \|\| '[a-z]+' \}\}$/,
        );
        assert.doesNotMatch(buildText, /NIXCACHE_TOKEN/);
      } else {
        assert.match(step?.with?.token ?? "", /secrets\.NIXCACHE_TOKEN/);
        assert.equal(step?.with?.cache, c.cache);
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
      assert.doesNotMatch(bad.stdout, /cache-only\.yml/);
      assert.match(bad.stderr, /differs/);
      assert.equal(await readFile(path.join(out, "nix-build-cache.yml"), "utf8"), edited);
    });
  }

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

  test("id-token: write, oidc: true in the Action step, and no token secret", async () => {
    const files = generateWorkflows({ ...base, auth: "oidc" });
    assert.equal(files.length, 2);
    for (const f of files) {
      await assertValidWorkflow(f.name, f.content);
      const wf = parse(f.content) as Workflow;
      assert.deepEqual(wf.permissions, { contents: "read", "id-token": "write" });
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
      const action = steps.find((s) => s.uses === base.actionRef);
      assert.equal(action?.with?.oidc, "true");
      assert.equal(action?.with?.token, undefined);
      assert.doesNotMatch(f.content, /secrets\./);
      assert.match(f.content, /--auth oidc/);
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
      const action = Object.values(wf.jobs)
        .flatMap((j) => j.steps)
        .find((s) => s.uses === base.actionRef);
      assert.equal(action?.with?.token, `${"$"}{{ secrets.NIXCACHE_TOKEN }}`);
      assert.equal(action?.with?.oidc, undefined);
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
