import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { GarnixConfigError, parseGarnixConfig } from "../../../src/targets/garnix-config.js";
import { resolveTargets } from "../../../src/targets/resolve.js";
import { selectPaths } from "../../../src/targets/select.js";
import { nixOutPath, writeFlake } from "../../fixtures/flakes/make-flake.js";

const BIN = fileURLToPath(new URL("../../../bin/nixcache", import.meta.url));

function run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(BIN, args, { cwd: opts.cwd, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const ALL: string[][] = [
  ["packages", "x86_64-linux", "hello"],
  ["packages", "x86_64-linux", "world"],
  ["packages", "aarch64-darwin", "hello"],
  ["packages", "aarch64-linux", "hello"],
  ["checks", "x86_64-linux", "test"],
  ["checks", "aarch64-darwin", "test"],
  ["devShells", "x86_64-linux", "default"],
  ["defaultPackage", "x86_64-linux"],
  ["devShell", "x86_64-linux"],
  ["nixosConfigurations", "machine"],
  ["darwinConfigurations", "mac"],
  ["homeConfigurations", "me"],
  // Never built, whatever the patterns say.
  ["apps", "x86_64-linux", "hello"],
  ["overlays", "default"],
  ["nixosModules", "default"],
  ["packages", "riscv64-linux", "hello"],
];

function selected(yaml: string | null, branch?: string): string[] {
  const cfg = yaml === null ? parseGarnixConfig("") : parseGarnixConfig(yaml);
  return selectPaths(cfg.sections, ALL, branch).map((p) => p.join("."));
}

describe("garnix.yaml rules", () => {
  test("no garnix.yaml: Garnix's default set (x86_64-linux and all configurations)", () => {
    assert.deepEqual(selected(null), [
      "packages.x86_64-linux.hello",
      "packages.x86_64-linux.world",
      "checks.x86_64-linux.test",
      "devShells.x86_64-linux.default",
      "defaultPackage.x86_64-linux",
      "devShell.x86_64-linux",
      "nixosConfigurations.machine",
      "darwinConfigurations.mac",
      "homeConfigurations.me",
    ]);
  });

  test("3-part patterns match only 3-part attributes; * is one whole part", () => {
    assert.deepEqual(selected("builds:\n  include: ['*.*.hello']\n"), [
      "packages.x86_64-linux.hello",
      "packages.aarch64-darwin.hello",
      "packages.aarch64-linux.hello",
    ]);
  });

  test("2-part patterns match only 2-part attributes", () => {
    assert.deepEqual(selected("builds:\n  include: ['*.x86_64-linux']\n"), [
      "defaultPackage.x86_64-linux",
      "devShell.x86_64-linux",
    ]);
    assert.deepEqual(selected("builds:\n  include: ['*.mac']\n"), ["darwinConfigurations.mac"]);
  });

  test("a 2-part pattern naming a 3-part set matches nothing", () => {
    assert.deepEqual(selected("builds:\n  include: ['packages.x86_64-linux']\n"), []);
  });

  test("no partial wildcards: `hel*` is matched literally (and warned about)", () => {
    const cfg = parseGarnixConfig("builds:\n  include: ['packages.x86_64-linux.hel*']\n");
    assert.deepEqual(selectPaths(cfg.sections, ALL), []);
    assert.match(cfg.warnings.join("\n"), /hel\*.*literally/);
  });

  test("exclude applies after include", () => {
    assert.deepEqual(
      selected(
        "builds:\n  include: ['packages.*.*', 'checks.*.*']\n  exclude: ['*.*.hello', 'checks.aarch64-darwin.*']\n",
      ),
      ["packages.x86_64-linux.world", "checks.x86_64-linux.test"],
    );
  });

  test("sections: the union of those that apply; `branch:` sections only on that branch", () => {
    const yaml = `builds:
  - include: ["packages.*.*"]
    exclude: ["packages.*.hello"]
    branch: main
  - include: ["packages.*.*"]
    exclude: ["packages.*.world"]
    branch: production
  - include: ["checks.*.*"]
`;
    assert.deepEqual(selected(yaml, "main"), [
      "packages.x86_64-linux.world",
      "checks.x86_64-linux.test",
      "checks.aarch64-darwin.test",
    ]);
    assert.deepEqual(selected(yaml, "production"), [
      "packages.x86_64-linux.hello",
      "packages.aarch64-darwin.hello",
      "packages.aarch64-linux.hello",
      "checks.x86_64-linux.test",
      "checks.aarch64-darwin.test",
    ]);
    assert.deepEqual(selected(yaml, "feature"), ["checks.x86_64-linux.test", "checks.aarch64-darwin.test"]);
    assert.deepEqual(selected(yaml), ["checks.x86_64-linux.test", "checks.aarch64-darwin.test"]);
  });

  test("only candidate kinds and systems: apps, overlays, modules and unknown systems never", () => {
    assert.deepEqual(
      selected("builds:\n  include: ['*.*.*', '*.*']\n"),
      ALL.slice(0, 12).map((p) => p.join(".")),
    );
  });

  test("invalid patterns are errors that quote the pattern and say why", () => {
    assert.throws(
      () => parseGarnixConfig("builds:\n  include: ['packages']\n"),
      (e: Error) =>
        e instanceof GarnixConfigError && /"packages"/.test(e.message) && /2 or 3 parts/.test(e.message),
    );
    assert.throws(
      () => parseGarnixConfig("builds:\n  exclude: ['a.b.c.d']\n"),
      (e: Error) =>
        /builds\.exclude/.test(e.message) && /"a\.b\.c\.d"/.test(e.message) && /4 parts/.test(e.message),
    );
    assert.throws(
      () => parseGarnixConfig("builds:\n  include: ['packages..x']\n"),
      /"packages\.\.x".*empty part/,
    );
    assert.throws(
      () => parseGarnixConfig("builds:\n  include: packages.*.*\n"),
      /builds.*include.*list of strings/,
    );
    assert.throws(() => parseGarnixConfig("builds: [\n"), /not valid YAML/);
  });

  test("unknown keys are warnings, not errors; Garnix's other keys are notes, not warnings", () => {
    const cfg = parseGarnixConfig(
      "servers: []\nincrementalizeBuilds: true\ncolour: blue\nbuilds:\n  include: ['packages.*.*']\n  flavour: x\n",
    );
    assert.deepEqual(cfg.warnings.length, 2);
    assert.match(cfg.warnings[0] ?? "", /unknown key "colour"/);
    assert.match(cfg.warnings[1] ?? "", /unknown key "flavour" in builds/);
    assert.deepEqual(
      cfg.notes.map((n) => n.split(":")[0]),
      ["servers", "incrementalizeBuilds"],
    );
  });
});

describe("nixcache targets (real nix)", () => {
  let tmp: string;
  let flake: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "nixcache-targets-"));
    flake = path.join(tmp, "flake");
    await writeFlake(
      flake,
      `{
      packages.x86_64-linux.hello = leaf "x86_64-linux" "hello";
      packages.x86_64-linux.multi = derivation {
        name = "multi"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" ]; NONCE = "${Math.random()}";
        args = [ "-c" "echo > $out; echo > $dev" ]; PATH = "/usr/bin:/bin";
      };
      packages.x86_64-linux.broken = throw "this package is broken";
      packages.x86_64-linux.aborts = abort "no way";
      packages.aarch64-darwin.hello = leaf "aarch64-darwin" "hello";
      checks.aarch64-darwin.test = leaf "aarch64-darwin" "test";
      checks.x86_64-linux.test = leaf "x86_64-linux" "test";
      apps.x86_64-linux.hello = { type = "app"; program = "/bin/sh"; };
      nixosConfigurations.machine = { config.system.build.toplevel = leaf "x86_64-linux" "nixos-system"; };
      homeConfigurations.me = { activationPackage = leaf "aarch64-darwin" "home-activation"; };
    }`,
      `builds:
  include:
    - '*.x86_64-linux.*'
    - '*.aarch64-darwin.*'
    - 'nixosConfigurations.*'
    - 'homeConfigurations.*'
  exclude: ['packages.x86_64-linux.broken']
`,
    );
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test("--json: every system evaluated without building, failures reported, the rest still out", async () => {
    const r = await run(["targets", "--json"], { cwd: flake });
    assert.equal(r.code, 2, r.stderr);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    const byAttr = new Map(list.map((t) => [t.attr as string, t]));
    assert.deepEqual([...byAttr.keys()].sort(), [
      "checks.aarch64-darwin.test",
      "checks.x86_64-linux.test",
      "homeConfigurations.me",
      "nixosConfigurations.machine",
      "packages.aarch64-darwin.hello",
      "packages.x86_64-linux.aborts",
      "packages.x86_64-linux.hello",
      "packages.x86_64-linux.multi",
    ]);
    const darwin = byAttr.get("packages.aarch64-darwin.hello");
    assert.equal(darwin?.system, "aarch64-darwin");
    assert.equal(darwin?.name, "hello");
    assert.equal(darwin?.outPath, nixOutPath(flake, "packages.aarch64-darwin.hello"));
    assert.match(String(darwin?.drvPath), /^\/nix\/store\/[a-z0-9]{32}-hello\.drv$/);
    assert.deepEqual(darwin?.outputs, { out: darwin?.outPath });
    const multi = byAttr.get("packages.x86_64-linux.multi");
    assert.deepEqual(Object.keys(multi?.outputs as object).sort(), ["dev", "out"]);
    assert.equal(multi?.outPath, (multi?.outputs as Record<string, string> | undefined)?.out);
    assert.equal(byAttr.get("nixosConfigurations.machine")?.name, "nixos-system");
    assert.equal(byAttr.get("homeConfigurations.me")?.system, "aarch64-darwin");
    // abort is not catchable by tryEval: it is isolated and its message reported.
    assert.match(String(byAttr.get("packages.x86_64-linux.aborts")?.error), /no way/);
    assert.equal(byAttr.get("packages.x86_64-linux.aborts")?.outPath, null);
    // Nothing was built: the darwin output cannot exist here and the linux one was not realised.
    await assert.rejects(readFile(String(byAttr.get("packages.x86_64-linux.hello")?.outPath)));
  });

  test("a thrown error is reported with its message; selection by --system", async () => {
    const cfg = path.join(tmp, "only-broken.yaml");
    await writeFile(cfg, "builds:\n  include: ['packages.*.*']\n");
    const r = await run(["targets", "--json", "--config", cfg, "--system", "x86_64-linux"], { cwd: flake });
    assert.equal(r.code, 2);
    const list = JSON.parse(r.stdout) as Array<{ attr: string; error?: string; system: string }>;
    assert.match(
      list.find((t) => t.attr === "packages.x86_64-linux.broken")?.error ?? "",
      /this package is broken/,
    );
    assert.ok(list.every((t) => t.system === "x86_64-linux"));
    assert.equal(list.length, 4);
  });

  test("one Nix evaluation process for all targets when nothing aborts", async () => {
    const bin = path.join(tmp, "bin");
    const log = path.join(tmp, "nix-calls.log");
    await mkdir(bin, { recursive: true });
    const realNix = execFileSync("sh", ["-c", "command -v nix"], { encoding: "utf8" }).trim();
    await writeFile(
      path.join(bin, "nix"),
      `#!/bin/sh\necho "nix $1 $2 $3 $4" >> ${log}\nexec ${realNix} "$@"\n`,
    );
    await chmod(path.join(bin, "nix"), 0o755);
    const cfg = path.join(tmp, "good.yaml");
    await writeFile(cfg, "builds:\n  include: ['*.*.*', '*.*']\n  exclude: ['*.*.broken', '*.*.aborts']\n");
    const r = await run(["targets", "--json", "--config", cfg], {
      cwd: flake,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 7);
    const calls = (await readFile(log, "utf8")).trim().split("\n");
    assert.equal(calls.length, 1, calls.join("\n"));
  });

  test("resolveTargets: no garnix.yaml uses the defaults; --branch picks sections", async () => {
    const dir = path.join(tmp, "plain");
    await writeFlake(
      dir,
      `{ packages.x86_64-linux.a = leaf "x86_64-linux" "a"; packages.aarch64-darwin.a = leaf "aarch64-darwin" "a"; }`,
    );
    const res = await resolveTargets({ flake: dir });
    assert.equal(res.configSource, "default");
    assert.deepEqual(
      res.targets.map((t) => t.attr),
      ["packages.x86_64-linux.a"],
    );
    await writeFile(
      path.join(dir, "garnix.yaml"),
      "builds:\n  - include: ['packages.aarch64-darwin.*']\n    branch: main\n  - include: ['packages.x86_64-linux.*']\n",
    );
    assert.deepEqual(
      (await resolveTargets({ flake: dir, branch: "main" })).targets.map((t) => t.attr),
      ["packages.x86_64-linux.a", "packages.aarch64-darwin.a"],
    );
    assert.deepEqual(
      (await resolveTargets({ flake: dir, branch: "dev" })).targets.map((t) => t.attr),
      ["packages.x86_64-linux.a"],
    );
    const none = await resolveTargets({ flake: tmp });
    assert.deepEqual(none.targets, []);
  });

  test("an invalid garnix.yaml is a usage error quoting the pattern; unknown keys warn", async () => {
    const dir = path.join(tmp, "invalid");
    await writeFlake(
      dir,
      `{ packages.x86_64-linux.a = leaf "x86_64-linux" "a"; }`,
      "builds:\n  include: ['packages']\n",
    );
    const r = await run(["targets"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nixcache: error: .*"packages".*2 or 3 parts/);
    await writeFile(path.join(dir, "garnix.yaml"), "colour: blue\n");
    const w = await run(["targets"], { cwd: dir });
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stderr, /warning: .*unknown key "colour"/);
    assert.match(w.stdout, /packages\.x86_64-linux\.a/);
  });

  test("a flake that does not evaluate is an error naming the flake", async () => {
    const dir = path.join(tmp, "syntax");
    await writeFlake(dir, "{ packages = ");
    const r = await run(["targets"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nixcache: error: cannot evaluate flake/);
  });

  test("--help documents the command", async () => {
    const r = await run(["targets", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of ["--flake", "--config", "--branch", "--system", "--json", "Example"])
      assert.match(r.stdout, new RegExp(flag));
    for (const word of [
      "garnix.config",
      "garnix.yaml",
      '"default"',
      '"none"',
      "flakeDir",
      "commentOnFailure",
    ])
      assert.ok(r.stdout.includes(word), word);
  });
});
