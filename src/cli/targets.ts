import type { Command } from "commander";
import { TARGET_FLAGS } from "../flags/table.js";
import type { TargetFlags } from "../flags/values.js";
import { FlakeEvalError } from "../local-nix/flake-ref.js";
import { formatTargetsTable } from "../report/targets-report.js";
import { GarnixConfigError } from "../targets/garnix-config.js";
import { resolveTargets } from "../targets/resolve.js";
import { addFlags } from "./flag-options.js";
import { printJson, UserError } from "./output.js";

/** resolveTargets with configuration and evaluation failures turned into usage errors (exit 2). */
export async function loadTargets(flags: TargetFlags) {
  try {
    const opts: Parameters<typeof resolveTargets>[0] = { flake: flags.flake };
    if (flags.config !== undefined) opts.configFile = flags.config;
    if (flags.branch !== undefined) opts.branch = flags.branch;
    if (flags.system !== undefined) opts.systems = flags.system;
    const res = await resolveTargets(opts);
    for (const w of res.warnings) process.stderr.write(`nixcache: warning: ${w}\n`);
    for (const n of res.notes) process.stderr.write(`nixcache: note: ${n}\n`);
    return res;
  } catch (e) {
    if (e instanceof GarnixConfigError || e instanceof FlakeEvalError) throw new UserError(e.message, 2);
    throw e;
  }
}

/** The `config:` line of `nixcache targets`: where the selection came from. */
function describeSource(res: Awaited<ReturnType<typeof loadTargets>>): string {
  const what =
    res.configSource === "garnix.config"
      ? "flake output garnix.config"
      : res.configSource === "default"
        ? "default (no garnix.config output or garnix.yaml: Garnix's default targets)"
        : res.configSource === "none"
          ? "none (no flake.nix: nothing to build)"
          : res.configSource;
  return `config: ${what}${res.flakeDir !== undefined ? ` (flakeDir ${res.flakeDir})` : ""}\n`;
}

export function registerTargetsCommands(program: Command): void {
  const cmd = program
    .command("targets")
    .description(
      "List the flake's target set: the attributes Garnix's configuration selects, each evaluated for " +
        "every system in one Nix process, without building.",
    )
    .option(
      "--json",
      "print a JSON array of {attr, system, name, outPath, outputs, drvPath[, error], source" +
        "[, flakeDir][, commentOnFailure]}",
    )
    .addHelpText(
      "after",
      `
Configuration, in Garnix's order (--config FILE replaces all three):
  1. the flake output garnix.config (what \`nix eval <flake>#garnix.config --json\` prints; the
     same keys as garnix.yaml); a garnix.yaml beside it is then ignored, with a warning
  2. garnix.yaml in the directory --flake names
  3. Garnix's default: *.x86_64-linux.*, defaultPackage.x86_64-linux, devShell.x86_64-linux and
     every nixos/darwin/homeConfiguration
The "config:" line (--json: each target's "source") says which: "garnix.config", the yaml's
path (or the --config file's), "default", or "none" (no flake.nix: nothing to build).

Keys: builds (include, exclude, branch) selects. flakeDir: the flake is in that subdirectory of
the directory --flake names (for a URL, joined onto its ?dir=); no "..", no absolute path; --json
adds "flakeDir". commentOnFailure (true/false): --json adds "commentOnFailure" (comment on the
pull request when a target fails). servers, actions, incrementalizeBuilds, modules, fodChecks,
autoCancelSuperseded, artifacts: one note each on stderr, saying what nixcache does instead.
Any other key: a warning naming it.

Exit status: 0 when every target evaluates, 2 when a target fails to evaluate or the
configuration is invalid (the targets that did evaluate are still printed).

Examples:
  nixcache targets
  nixcache targets --flake github:owner/repo --branch main --json
  nixcache targets --system aarch64-darwin`,
    );
  addFlags(cmd, TARGET_FLAGS).action(async (flags: TargetFlags & { json?: boolean }) => {
    const res = await loadTargets(flags);
    const { targets } = res;
    if (flags.json) {
      // Still an array of targets: the configuration's facts ride on each one.
      const extra: { source: string; flakeDir?: string; commentOnFailure?: boolean } = {
        source: res.configSource,
      };
      if (res.flakeDir !== undefined) extra.flakeDir = res.flakeDir;
      if (res.commentOnFailure !== undefined) extra.commentOnFailure = res.commentOnFailure;
      printJson(targets.map((t) => ({ ...t, ...extra })));
    } else process.stdout.write(describeSource(res) + formatTargetsTable(targets));
    const failed = targets.filter((t) => t.error !== undefined);
    if (failed.length > 0) {
      if (!flags.json)
        for (const t of failed) process.stderr.write(`nixcache: error: ${t.attr}: ${t.error}\n`);
      process.exitCode = 2;
    }
  });
}
