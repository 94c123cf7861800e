import type { Command } from "commander";
import { formatTargetsTable } from "../report/targets-report.js";
import type { resolveTargets } from "../targets/resolve.js";
import { printJson, UserError } from "./output.js";

export interface TargetFlags {
  flake: string;
  config?: string;
  branch?: string;
  system?: string[];
}

/** Adds the flags that choose a target set (shared by targets and verify). */
export function addTargetFlags(cmd: Command): Command {
  return cmd
    .option("--flake <ref>", "flake reference (a directory, git+file:, github:, ...)", ".")
    .option("--config <file>", "garnix.yaml to use instead of the flake's own (default: <flake>/garnix.yaml)")
    .option("--branch <name>", "branch being pushed: sections with another `branch:` do not apply")
    .option("--system <systems...>", "only targets for these systems (e.g. x86_64-linux aarch64-darwin)");
}

/** resolveTargets with configuration and evaluation failures turned into usage errors (exit 2). */
export async function loadTargets(flags: TargetFlags) {
  // Loaded here, not at start-up: YAML, zod and the evaluator are only needed to select targets.
  const [{ resolveTargets }, { GarnixConfigError }, { FlakeEvalError }] = await Promise.all([
    import("../targets/resolve.js"),
    import("../targets/garnix-config.js"),
    import("../local-store/flake-eval.js"),
  ]);
  try {
    const opts: Parameters<typeof resolveTargets>[0] = { flake: flags.flake };
    if (flags.config !== undefined) opts.configFile = flags.config;
    if (flags.branch !== undefined) opts.branch = flags.branch;
    if (flags.system !== undefined) opts.systems = flags.system;
    const res = await resolveTargets(opts);
    for (const w of res.warnings) process.stderr.write(`nixcache: warning: ${w}\n`);
    return res;
  } catch (e) {
    if (e instanceof GarnixConfigError || e instanceof FlakeEvalError) throw new UserError(e.message, 2);
    throw e;
  }
}

export function registerTargetsCommands(program: Command): void {
  const cmd = program
    .command("targets")
    .description(
      "List the flake's target set: the attributes garnix.yaml selects (Garnix's defaults when there is " +
        "none), each evaluated for every system in one Nix process, without building.",
    )
    .option("--json", "print a JSON array of {attr, system, name, outPath, outputs, drvPath[, error]}")
    .addHelpText(
      "after",
      "\nExit status: 0 when every target evaluates, 2 when a target fails to evaluate or the\n" +
        "configuration is invalid (the targets that did evaluate are still printed).\n\n" +
        "Examples:\n  nixcache targets\n  nixcache targets --flake github:owner/repo --branch main --json\n" +
        "  nixcache targets --system aarch64-darwin",
    );
  addTargetFlags(cmd).action(async (flags: TargetFlags & { json?: boolean }) => {
    const { targets } = await loadTargets(flags);
    if (flags.json) printJson(targets);
    else process.stdout.write(formatTargetsTable(targets));
    const failed = targets.filter((t) => t.error !== undefined);
    if (failed.length > 0) {
      if (!flags.json)
        for (const t of failed) process.stderr.write(`nixcache: error: ${t.attr}: ${t.error}\n`);
      process.exitCode = 2;
    }
  });
}
