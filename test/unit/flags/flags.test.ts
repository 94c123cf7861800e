// The one flag table (src/flags/): the CLI's commander options and the Action's extra-args are
// built from it and parse to the same values; errors name the flag; aliases work in both.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Command } from "commander";
import { actionFlags, parseExtraArgs } from "../../../src/action/extra-args.js";
import { registerBuildCommands } from "../../../src/cli/build.js";
import { registerCiCommands } from "../../../src/cli/ci.js";
import { addFlags } from "../../../src/cli/flag-options.js";
import { registerPushCommands } from "../../../src/cli/push.js";
import { registerVerifyCommands } from "../../../src/cli/verify.js";
import { buildSetupOf } from "../../../src/flags/build-setup.js";
import { parseFlagValues } from "../../../src/flags/parse.js";
import { COMMAND_FLAGS, type FlagSpec } from "../../../src/flags/table.js";
import type { BuildFlags } from "../../../src/flags/values.js";
import type { NixConfig } from "../../../src/local-nix/nix-config.js";
import { NixcacheError } from "../../../src/util/errors.js";
import { parseDurationFlag, parseIntFlag } from "../../../src/util/flag-values.js";

/** Parses `args` with a fresh commander command carrying `specs`; returns its option values. */
function cli(specs: readonly FlagSpec[], args: string[]): Record<string, unknown> {
  const cmd = new Command("x").exitOverride();
  addFlags(cmd, specs);
  cmd.parse(args, { from: "user" });
  return cmd.opts();
}

describe("flag table", () => {
  test("each command's options are the table's, in its order", () => {
    const program = new Command("nixcache");
    registerBuildCommands(program);
    registerCiCommands(program);
    registerVerifyCommands(program);
    registerPushCommands(program);
    for (const name of ["build", "ci", "verify", "push"] as const) {
      const cmd = program.commands.find((c) => c.name() === name);
      const longs = cmd?.options.map((o) => o.long?.slice(2));
      assert.deepEqual(
        longs,
        COMMAND_FLAGS[name].flatMap((s) => [s.name, ...(s.aliases ?? [])]),
        name,
      );
    }
  });

  test("the CLI and the Action parse the same extra-args to the same values", () => {
    const args = [
      "--keep-going",
      "--jobs",
      "3",
      "--max-statuses",
      "7",
      "--system",
      "x86_64-linux",
      "--no-upstream",
    ];
    const fromCli = cli(COMMAND_FLAGS.build, args);
    const fromAction = parseExtraArgs("build", args).values;
    for (const k of ["keepGoing", "jobs", "maxStatuses", "system", "upstream", "compression"] as const)
      assert.deepEqual(fromAction[k], fromCli[k], k);
    assert.equal(fromCli.jobs, 3);
    assert.equal(fromCli.upstream, false);
  });

  test("--no-upstream-filter, the old spelling of --no-upstream, gives the same values in both", () => {
    const now = cli(COMMAND_FLAGS.build, ["--no-upstream"]);
    const old = cli(COMMAND_FLAGS.build, ["--no-upstream-filter"]);
    assert.equal(old.upstream, false);
    assert.equal(old.upstream, now.upstream);
    assert.equal(parseExtraArgs("build", ["--no-upstream-filter"]).values.upstream, false);
    assert.equal(parseExtraArgs("ci", ["--no-upstream-filter"]).values.upstream, false);
    assert.equal(cli(COMMAND_FLAGS.build, []).upstream, undefined, "not given: the default upstreams");
    const help = new Command("x");
    addFlags(help, COMMAND_FLAGS.build);
    assert.match(help.helpInformation(), /\(alias: --no-upstream-filter\)/);
  });

  test("a bad value is a usage error naming the flag as the user wrote it", () => {
    assert.throws(() => cli(COMMAND_FLAGS.build, ["--jobs", "x"]), {
      message: '--jobs must be an integer from 1 to 256, got "x"',
    });
    assert.throws(
      () => parseExtraArgs("build", ["--jobs", "0"]),
      (e: unknown) =>
        e instanceof NixcacheError &&
        e.code === "usage" &&
        e.message === 'extra-args --jobs must be an integer from 1 to 256, got "0"',
    );
    assert.throws(
      () => parseExtraArgs("verify", ["--wait", "soon"]),
      /extra-args --wait: invalid duration "soon"/,
    );
    assert.throws(
      () => parseExtraArgs("push", ["--closure"]),
      /input extra-args: Unknown option '--closure'/,
    );
  });

  test("the Action takes only the flags marked for it; ci takes build's and verify's", () => {
    const names = (c: Parameters<typeof actionFlags>[0]) => actionFlags(c).map((s) => s.name);
    assert.ok(names("build").includes("keep-going"));
    assert.ok(!names("build").includes("token"), "secrets come from inputs, not extra-args");
    assert.ok(names("ci").includes("closure") && names("ci").includes("require-push"));
    assert.ok(names("verify").includes("cachix-api"));
    assert.deepEqual(names("push"), ["compression", "compression-level", "jobs", "cachix-api"]);
  });

  test("an old spelling works as an alias in both, and --help says so", () => {
    const spec: FlagSpec = {
      name: "grace",
      type: "value",
      arg: "<d>",
      help: "how long",
      aliases: ["gc-grace"],
    };
    assert.equal(cli([spec], ["--gc-grace", "5m"]).grace, "5m");
    const cmd = new Command("x");
    addFlags(cmd, [spec]);
    assert.match(cmd.helpInformation(), /how long \(alias: --gc-grace\)/);
    assert.doesNotMatch(cmd.helpInformation(), /^\s+--gc-grace/m);
    assert.deepEqual(parseFlagValues([spec], { "gc-grace": "5m" }, ""), { grace: "5m" });
  });

  test("--x and --no-x contradict in the Action", () => {
    assert.throws(
      () => parseExtraArgs("verify", ["--github-status", "--no-github-status"]),
      /--github-status and --no-github-status contradict/,
    );
  });

  test("buildSetupOf: one mapping of parsed flags to the build setup", () => {
    const flags = cli(COMMAND_FLAGS.build, [
      "-k",
      "--max-jobs",
      "auto",
      "--compression-level",
      "5",
    ]) as unknown as BuildFlags;
    const nixConfig = { substituters: [], trustedPublicKeys: [] } as unknown as NixConfig;
    const s = buildSetupOf(flags, { push: ["file:///tmp/c"], targets: [], nixConfig });
    assert.equal(s.keepGoing, true);
    assert.equal(s.maxJobs, "auto");
    assert.equal(s.compressionLevel, 5);
    assert.equal(s.jobs, 8);
    assert.equal(s.compression, "zstd");
    assert.deepEqual(s.upstream, { disabled: false, keys: [] });
    assert.throws(
      () => buildSetupOf({ ...flags, upstreamKey: ["k:AAAA"] }, { push: [], targets: [], nixConfig }),
      /--upstream-key needs --upstream/,
    );
  });
});

describe("flag values", () => {
  test("integers, durations", () => {
    assert.equal(parseIntFlag("12", "--n", 0, 22), 12);
    assert.throws(() => parseIntFlag("23", "--n", 0, 22), /--n must be an integer from 0 to 22, got "23"/);
    assert.equal(parseDurationFlag("1m30s", "--wait"), 90_000);
    assert.throws(
      () => parseDurationFlag("0s", "--slow", { positive: true }),
      /--slow: must be longer than 0s/,
    );
  });
});
