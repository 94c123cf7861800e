// Issue 24 §5: the configuration Garnix read, all of it: the flake output `garnix.config` before
// garnix.yaml, every key Garnix and its maintained forks accept (flakeDir and commentOnFailure
// honoured, the others one note each), and which source was used.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { withFlakeDir } from "../../../src/local-nix/flake-ref.js";
import {
  GarnixConfigError,
  KNOWN_KEYS,
  normalizeFlakeDir,
  parseFlakeGarnixConfig,
  parseGarnixConfig,
} from "../../../src/targets/garnix-config.js";
import { resolveTargets } from "../../../src/targets/resolve.js";
import { nixOutPath, writeFlake } from "../../fixtures/flakes/make-flake.js";
import { runCli } from "../../helpers/cli.js";
import { requireNix } from "../../helpers/nix.js";

describe("garnix configuration keys", () => {
  test("every key Garnix and its forks accept is known: no 'unknown key' warning for any", () => {
    assert.deepEqual([...KNOWN_KEYS].sort(), [
      "actions",
      "artifacts",
      "autoCancelSuperseded",
      "builds",
      "commentOnFailure",
      "flakeDir",
      "fodChecks",
      "incrementalizeBuilds",
      "modules",
      "servers",
    ]);
    const cfg = parseGarnixConfig(`
builds:
  include: ['packages.*.*']
flakeDir: .
commentOnFailure: true
servers:
  - configuration: web
    deployment: { type: on-branch, branch: main }
actions:
  - on: push
    run: deploy
incrementalizeBuilds: true
modules: { publish: true }
fodChecks: true
autoCancelSuperseded: true
artifacts:
  - package: site
    name: website
`);
    assert.deepEqual(cfg.warnings, []);
    assert.equal(cfg.notes.length, 7, cfg.notes.join("\n"));
  });

  test("each key nixcache does not reproduce gets one precise note saying what it does instead", () => {
    const note = (yaml: string) => {
      const cfg = parseGarnixConfig(yaml);
      assert.deepEqual(cfg.warnings, []);
      assert.equal(cfg.notes.length, 1, cfg.notes.join("\n"));
      return cfg.notes[0] as string;
    };
    assert.match(
      note("servers: []\n"),
      /^servers: Garnix-hosted servers are not replaced by nixcache; ignored/,
    );
    const actions = note("actions:\n  - on: push\n    run: deploy\n  - on: push\n    run: notify\n");
    assert.match(actions, /^actions: nixcache runs no actions; ignored/);
    assert.match(actions, /apps\.x86_64-linux\.deploy, apps\.x86_64-linux\.notify/);
    assert.match(actions, /nix run/);
    assert.match(
      note("incrementalizeBuilds:\n  excludeBranches: [main]\n"),
      /^incrementalizeBuilds: ignored; .*garnix-incrementalize.*skips every target the cache already holds/,
    );
    assert.match(
      note("modules:\n  publish: true\n"),
      /^modules: nixcache publishes no Garnix modules; ignored/,
    );
    assert.match(note("fodChecks: true\n"), /^fodChecks: .*fixed-output derivations.*ignored/);
    assert.match(
      note("autoCancelSuperseded: true\n"),
      /^autoCancelSuperseded: .*workflows.*cancel a superseded run.*concurrency group/,
    );
    const artifacts = note("artifacts:\n  - package: site\n");
    assert.match(artifacts, /^artifacts: nixcache publishes no downloadable artifacts/);
    assert.match(artifacts, /packages\.x86_64-linux\.site/);
  });

  test("a truly unknown key stays a warning naming it; honoured keys get no note", () => {
    const cfg = parseGarnixConfig("colour: blue\nflakeDir: sub\ncommentOnFailure: false\n");
    assert.deepEqual(cfg.warnings, ['garnix.yaml: unknown key "colour" ignored']);
    assert.deepEqual(cfg.notes, []);
  });

  test("flakeDir: a relative directory inside the repository, normalised", () => {
    assert.equal(parseGarnixConfig("flakeDir: sub\n").flakeDir, "sub");
    assert.equal(parseGarnixConfig("flakeDir: ./a//b/\n").flakeDir, "a/b");
    assert.equal(parseGarnixConfig("flakeDir: .\n").flakeDir, ".");
    assert.equal(parseGarnixConfig("flakeDir: ''\n").flakeDir, ".");
    assert.equal(parseGarnixConfig("builds: {}\n").flakeDir, ".");
    assert.equal(normalizeFlakeDir("a/./b"), "a/b");
  });

  test("flakeDir: '..', absolute paths and wrong types are usage errors naming key and source", () => {
    for (const bad of ["..", "../other", "sub/../..", "a/..", "/abs/dir"]) {
      assert.throws(
        () => parseGarnixConfig(`flakeDir: '${bad}'\n`, "ci/garnix.yaml"),
        (e: Error) =>
          e instanceof GarnixConfigError &&
          e.code === "usage" &&
          e.message.startsWith("ci/garnix.yaml: flakeDir: ") &&
          e.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
    assert.throws(
      () => parseGarnixConfig("flakeDir: 3\n"),
      /^GarnixConfigError: garnix\.yaml: flakeDir: must be a string.*number 3/,
    );
    assert.throws(
      () => parseGarnixConfig("flakeDir: [a]\n"),
      /garnix\.yaml: flakeDir: must be a string.*a list/,
    );
  });

  test("commentOnFailure: a boolean, exposed; anything else is a usage error naming key and source", () => {
    assert.equal(parseGarnixConfig("commentOnFailure: true\n").commentOnFailure, true);
    assert.equal(parseGarnixConfig("commentOnFailure: false\n").commentOnFailure, false);
    assert.equal(parseGarnixConfig("builds: {}\n").commentOnFailure, undefined);
    for (const bad of ["yes", "'true'", "1", "null"]) {
      assert.throws(
        () => parseGarnixConfig(`commentOnFailure: ${bad}\n`, "my.yaml"),
        (e: Error) =>
          e instanceof GarnixConfigError &&
          /^my\.yaml: commentOnFailure: must be true or false/.test(e.message),
        bad,
      );
    }
  });

  test("garnix.config's JSON has garnix.yaml's shape; messages name the attribute", () => {
    const cfg = parseFlakeGarnixConfig({
      builds: [{ include: ["packages.*.*"], branch: "main" }, { include: ["checks.*.*"] }],
      commentOnFailure: true,
      flakeDir: "nix",
      servers: [],
    });
    assert.equal(cfg.source, "garnix.config");
    assert.equal(cfg.sections.length, 2);
    assert.equal(cfg.sections[0]?.branch, "main");
    assert.equal(cfg.commentOnFailure, true);
    assert.equal(cfg.flakeDir, "nix");
    assert.equal(cfg.notes.length, 1);
    assert.throws(
      () => parseFlakeGarnixConfig({ builds: { include: "packages.*.*" } }),
      /^GarnixConfigError: flake output garnix\.config: builds\.include: must be a list of strings/,
    );
    assert.throws(
      () => parseFlakeGarnixConfig(42),
      /flake output garnix\.config: expected a mapping.*number 42/,
    );
    assert.throws(
      () => parseFlakeGarnixConfig({ commentOnFailure: "yes" }),
      /flake output garnix\.config: commentOnFailure/,
    );
    // Garnix decoded null as its default configuration.
    const empty = parseFlakeGarnixConfig(null);
    assert.equal(empty.source, "garnix.config");
    assert.equal(empty.sections[0]?.include.length, 6);
  });

  test("flakeDir on a URL flake reference is its ?dir=, joined with the one it has", () => {
    assert.equal(withFlakeDir("github:o/r", "sub"), "github:o/r?dir=sub");
    assert.equal(withFlakeDir("github:o/r?dir=a", "b/c"), "github:o/r?dir=a%2Fb%2Fc");
    assert.equal(withFlakeDir("git+https://h/r?ref=dev&dir=a", "b"), "git+https://h/r?ref=dev&dir=a%2Fb");
    assert.equal(withFlakeDir("github:o/r?dir=a", "."), "github:o/r?dir=a");
  });
});

function git(dir: string, ...args: string[]): void {
  execFileSync("git", ["-C", dir, "-c", "user.email=t@example.org", "-c", "user.name=t", ...args], {
    stdio: "ignore",
  });
}

async function gitRepo(dir: string): Promise<void> {
  git(dir, "init", "-q", ".");
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "init");
}

interface JsonTarget {
  attr: string;
  system: string;
  outPath: string;
  source: string;
  flakeDir?: string;
  commentOnFailure?: boolean;
}

describe("the configuration Garnix read (real nix)", () => {
  let tmp: string;
  before(async () => {
    requireNix();
    tmp = await mkdtemp(path.join(os.tmpdir(), "nixcache-garnix-config-"));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const OUTPUTS = `packages.x86_64-linux.a = leaf "x86_64-linux" "a";
      packages.aarch64-darwin.b = leaf "aarch64-darwin" "b";
      checks.x86_64-linux.t = leaf "x86_64-linux" "t";`;

  test("a flake output garnix.config selects the targets; source, commentOnFailure and notes say so", async () => {
    const dir = path.join(tmp, "output");
    await writeFlake(
      dir,
      `{ ${OUTPUTS}
      garnix.config = {
        builds.include = [ "packages.aarch64-darwin.*" "checks.*.*" ];
        commentOnFailure = true;
        servers = [ ];
      }; }`,
    );
    const r = await runCli(["targets", "--json", "--flake", dir]);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as JsonTarget[];
    assert.deepEqual(list.map((t) => t.attr).sort(), ["checks.x86_64-linux.t", "packages.aarch64-darwin.b"]);
    for (const t of list) {
      assert.equal(t.source, "garnix.config");
      assert.equal(t.commentOnFailure, true);
      assert.equal("flakeDir" in t, false);
    }
    assert.equal(
      list.find((t) => t.attr === "packages.aarch64-darwin.b")?.outPath,
      nixOutPath(dir, "packages.aarch64-darwin.b"),
    );
    assert.match(
      r.stderr,
      /nixcache: note: servers: Garnix-hosted servers are not replaced by nixcache; ignored/,
    );
    assert.doesNotMatch(r.stderr, /warning/);
    const human = await runCli(["targets", "--flake", dir]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^config: flake output garnix\.config\n/);

    const res = await resolveTargets({ flake: dir });
    assert.equal(res.configSource, "garnix.config");
    assert.equal(res.commentOnFailure, true);
    assert.equal(res.flakeDir, undefined);
    assert.equal(res.notes.length, 1);
  });

  test("with both, the output wins over garnix.yaml (as in Garnix) and the yaml is named as ignored", async () => {
    const dir = path.join(tmp, "both");
    await writeFlake(
      dir,
      `{ ${OUTPUTS} garnix.config.builds.include = [ "packages.aarch64-darwin.*" ]; }`,
      "builds:\n  include: ['*.x86_64-linux.*']\ncommentOnFailure: true\n",
    );
    const r = await runCli(["targets", "--json"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as JsonTarget[];
    assert.deepEqual(
      list.map((t) => t.attr),
      ["packages.aarch64-darwin.b"],
    );
    assert.equal(list[0]?.source, "garnix.config");
    assert.equal("commentOnFailure" in (list[0] ?? {}), false, "the yaml's keys are not read");
    assert.match(r.stderr, /warning: garnix\.yaml ignored: the flake output garnix\.config takes precedence/);

    // Garnix never read the yaml then: not even an invalid one stops the output.
    await writeFile(path.join(dir, "garnix.yaml"), "builds:\n  include: ['packages']\n");
    const bad = await runCli(["targets", "--json"], { cwd: dir });
    assert.equal(bad.code, 0, bad.stderr);
    assert.deepEqual(
      (JSON.parse(bad.stdout) as JsonTarget[]).map((t) => t.attr),
      ["packages.aarch64-darwin.b"],
    );

    // --config still overrides everything.
    const cfg = path.join(tmp, "override.yaml");
    await writeFile(cfg, "builds:\n  include: ['checks.*.*']\n");
    const o = await runCli(["targets", "--json", "--config", cfg], { cwd: dir });
    assert.equal(o.code, 0, o.stderr);
    const ol = JSON.parse(o.stdout) as JsonTarget[];
    assert.deepEqual(
      ol.map((t) => t.attr),
      ["checks.x86_64-linux.t"],
    );
    assert.equal(ol[0]?.source, cfg);
  });

  test("without the output: garnix.yaml, then Garnix's default; source says which", async () => {
    const dir = path.join(tmp, "yaml");
    await writeFlake(dir, `{ ${OUTPUTS} }`, "builds:\n  include: ['checks.*.*']\n");
    const y = await runCli(["targets", "--json"], { cwd: dir });
    assert.equal(y.code, 0, y.stderr);
    assert.deepEqual(
      (JSON.parse(y.stdout) as JsonTarget[]).map((t) => [t.attr, t.source]),
      [["checks.x86_64-linux.t", "garnix.yaml"]],
    );
    assert.match((await runCli(["targets"], { cwd: dir })).stdout, /^config: garnix\.yaml\n/);
    await rm(path.join(dir, "garnix.yaml"));
    const d = await runCli(["targets", "--json"], { cwd: dir });
    assert.equal(d.code, 0, d.stderr);
    const dl = JSON.parse(d.stdout) as JsonTarget[];
    assert.deepEqual(dl.map((t) => t.attr).sort(), ["checks.x86_64-linux.t", "packages.x86_64-linux.a"]);
    assert.ok(dl.every((t) => t.source === "default"));
    assert.match((await runCli(["targets"], { cwd: dir })).stdout, /^config: default/);
  });

  test("flakeDir in the repository's garnix.yaml: the flake in that subdirectory is evaluated, and built", async () => {
    // Garnix: garnix.yaml at the repository's top, flake.nix in flakeDir (no flake.nix at the top).
    const repo = path.join(tmp, "repo");
    await writeFlake(path.join(repo, "nix", "flake"), `{ ${OUTPUTS} }`);
    await writeFile(
      path.join(repo, "garnix.yaml"),
      "flakeDir: ./nix/flake\ncommentOnFailure: false\nbuilds:\n  include: ['packages.x86_64-linux.*']\n",
    );
    await gitRepo(repo);
    const flake = path.join(repo, "nix", "flake");
    const r = await runCli(["targets", "--json", "--flake", repo]);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as JsonTarget[];
    assert.deepEqual(
      list.map((t) => [t.attr, t.source, t.flakeDir, t.commentOnFailure]),
      [
        [
          "packages.x86_64-linux.a",
          path.relative(process.cwd(), path.join(repo, "garnix.yaml")),
          "nix/flake",
          false,
        ],
      ],
    );
    assert.equal(list[0]?.outPath, nixOutPath(flake, "packages.x86_64-linux.a"));
    const human = await runCli(["targets"], { cwd: repo });
    assert.match(human.stdout, /^config: garnix\.yaml \(flakeDir nix\/flake\)\n/);
    const res = await resolveTargets({ flake: repo });
    assert.equal(res.flakeDir, "nix/flake");
    assert.equal(res.flake?.ref, `git+file://${repo}?dir=nix%2Fflake`);
    assert.equal(res.commentOnFailure, false);

    // `nixcache build` resolves the same targets: it builds the subdirectory's flake.
    const b = await runCli(["build", "--flake", repo, "--json", "--log-dir", path.join(tmp, "logs")]);
    assert.equal(b.code, 0, b.stderr);
    const built = JSON.parse(b.stdout) as {
      targets: Array<{ attr: string; status: string; outPath: string }>;
    };
    assert.deepEqual(
      built.targets.map((t) => [t.attr, t.status, t.outPath]),
      [["packages.x86_64-linux.a", "built", list[0]?.outPath]],
    );
    assert.equal((await readFile(list[0]?.outPath as string, "utf8")).trim(), "a");
  });

  test("flakeDir from the flake output garnix.config, and on a URL reference (joined with its ?dir=)", async () => {
    // A flake at the top whose garnix.config points at another flake below it.
    const top = path.join(tmp, "top");
    await writeFlake(top, `{ garnix.config = { flakeDir = "inner"; builds.include = [ "checks.*.*" ]; }; }`);
    await writeFlake(path.join(top, "inner"), `{ ${OUTPUTS} }`);
    const r = await runCli(["targets", "--json", "--flake", top]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as JsonTarget[]).map((t) => [t.attr, t.source, t.flakeDir]),
      [["checks.x86_64-linux.t", "garnix.config", "inner"]],
    );

    // github:o/r?dir=a style: the configuration is read in `a`, the flake is `a/b`.
    const repo = path.join(tmp, "url");
    await writeFlake(path.join(repo, "a"), "{ }", "flakeDir: b\nbuilds:\n  include: ['packages.*.*']\n");
    await writeFlake(path.join(repo, "a", "b"), `{ ${OUTPUTS} }`);
    await writeFile(path.join(repo, "garnix.yaml"), "builds:\n  include: ['checks.*.*']\n"); // not this one
    await gitRepo(repo);
    const ref = `git+file://${repo}?dir=a`;
    const u = await runCli(["targets", "--json", "--flake", ref]);
    assert.equal(u.code, 0, u.stderr);
    const ul = JSON.parse(u.stdout) as JsonTarget[];
    assert.deepEqual(ul.map((t) => [t.attr, t.source, t.flakeDir]).sort(), [
      ["packages.aarch64-darwin.b", `garnix.yaml in ${ref}`, "b"],
      ["packages.x86_64-linux.a", `garnix.yaml in ${ref}`, "b"],
    ]);
    assert.equal(
      ul.find((t) => t.attr === "packages.x86_64-linux.a")?.outPath,
      nixOutPath(path.join(repo, "a", "b"), "packages.x86_64-linux.a"),
    );
    assert.equal((await resolveTargets({ flake: ref })).flake?.ref, `git+file://${repo}?dir=a%2Fb`);
  });

  test("a flakeDir that escapes the repository, is missing or holds no flake.nix is a usage error", async () => {
    const repo = path.join(tmp, "escape");
    await writeFlake(path.join(repo, "sub"), `{ ${OUTPUTS} }`);
    await mkdir(path.join(repo, "empty"), { recursive: true });
    await writeFlake(path.join(tmp, "outside"), `{ ${OUTPUTS} }`);
    await symlink(path.join(tmp, "outside"), path.join(repo, "out"));
    const cases: Array<[string, RegExp]> = [
      ["../escape/sub", /garnix\.yaml: flakeDir: "\.\.\/escape\/sub" leaves the repository/],
      ["/etc", /garnix\.yaml: flakeDir: "\/etc" is absolute/],
      ["missing", /garnix\.yaml: flakeDir "missing": there is no directory/],
      ["empty", /garnix\.yaml: flakeDir "empty": there is no flake\.nix in/],
      ["out", /garnix\.yaml: flakeDir "out": .* leaves .*symbolic link/],
      ["7", /garnix\.yaml: flakeDir: must be a string/],
    ];
    for (const [dir, want] of cases) {
      await writeFile(
        path.join(repo, "garnix.yaml"),
        `flakeDir: ${/^\d+$/.test(dir) ? dir : JSON.stringify(dir)}\n`,
      );
      const r = await runCli(["targets"], { cwd: repo });
      assert.equal(r.code, 2, `${dir}: ${r.stderr}`);
      assert.match(r.stderr, want, dir);
      assert.match(r.stderr, /^nixcache: error: /m, dir);
    }
  });

  test("a garnix.config that does not evaluate or is not valid config is a usage error naming it", async () => {
    const cases: Array<[string, RegExp]> = [
      ['throw "no config today"', /flake output garnix\.config of .* does not evaluate: .*no config today/],
      ["{ builds = { }.missing; }", /flake output garnix\.config of .* does not evaluate: .*missing/],
      [
        '{ builds.include = "packages.*.*"; }',
        /flake output garnix\.config: builds\.include: must be a list of strings/,
      ],
      ["42", /flake output garnix\.config: expected a mapping at the top level, got number 42/],
      ["{ flakeDir = 3; }", /flake output garnix\.config: flakeDir: must be a string/],
      ['{ flakeDir = "../x"; }', /flake output garnix\.config: flakeDir: "\.\.\/x" leaves the repository/],
      [
        '{ commentOnFailure = "yes"; }',
        /flake output garnix\.config: commentOnFailure: must be true or false/,
      ],
    ];
    for (const [i, [value, want]] of cases.entries()) {
      const dir = path.join(tmp, `bad-${i}`);
      await writeFlake(
        dir,
        `{ ${OUTPUTS} garnix.config = ${value}; }`,
        "builds:\n  include: ['checks.*.*']\n",
      );
      const r = await runCli(["targets", "--json"], { cwd: dir });
      assert.equal(r.code, 2, `${value}: ${r.stderr}`);
      assert.match(r.stderr, want, value);
      assert.equal(r.stdout, "", value);
    }
    // A flake that does not evaluate at all is still reported as the flake's error.
    const broken = path.join(tmp, "broken");
    await writeFlake(broken, '{ garnix.config = { }; } // (abort "flake is broken")');
    const b = await runCli(["targets"], { cwd: broken });
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /cannot evaluate flake .*flake is broken/);
  });

  test("one Nix process without garnix.config; one more only when the flake has it", async () => {
    const bin = path.join(tmp, "bin");
    const log = path.join(tmp, "nix-calls.log");
    await mkdir(bin, { recursive: true });
    const realNix = execFileSync("sh", ["-c", "command -v nix"], { encoding: "utf8" }).trim();
    await writeFile(path.join(bin, "nix"), `#!/bin/sh\necho "nix $*" >> ${log}\nexec ${realNix} "$@"\n`);
    await chmod(path.join(bin, "nix"), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const calls = async (dir: string) => {
      await rm(log, { force: true });
      const r = await runCli(["targets", "--json"], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      return (await readFile(log, "utf8")).trim().split("\n").length;
    };
    const without = path.join(tmp, "count-without");
    await writeFlake(without, `{ ${OUTPUTS} }`, "builds:\n  include: ['*.*.*']\n");
    assert.equal(await calls(without), 1);
    const withCfg = path.join(tmp, "count-with");
    await writeFlake(withCfg, `{ ${OUTPUTS} garnix.config.builds.include = [ "*.*.*" ]; }`);
    assert.equal(await calls(withCfg), 2);
  });
});
