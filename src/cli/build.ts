import { rmdir } from "node:fs/promises";
import type { Command } from "commander";
import { build } from "../build/build.js";
import {
  buildJson,
  formatBuildAnnotations,
  formatBuildMarkdown,
  formatBuildTable,
  formatFailedLogs,
  formatLogGroups,
} from "../build/render.js";
import { type PreparedBuild, prepareBuild } from "../build/setup.js";
import type { BuildEvent, BuildOptions } from "../build/types.js";
import { buildSetupOf, checkBuildFlags } from "../flags/build-setup.js";
import { COMMAND_FLAGS } from "../flags/table.js";
import type { BuildFlags } from "../flags/values.js";
import { appendStepSummary, inGitHubActions, stepSummaryFile } from "../github/step-summary.js";
import { TargetChecks } from "../github/target-checks.js";
import { readSigningKey } from "../keys/key-files.js";
import { buildableSystems, type NixConfig, readNixConfig } from "../local-nix/nix-config.js";
import { abortOnSigint } from "../util/abort.js";
import { exitCodeOf } from "../util/errors.js";
import { BuildProgress } from "./build-progress.js";
import { addFlags } from "./flag-options.js";
import { applyCommentOnFailure, openChecks } from "./github-flags.js";
import { printJson, UserError } from "./output.js";
import { loadTargets } from "./targets.js";

/** A build ready to run, with what the CLI's reporting needs beside it. */
export type BuildRun = PreparedBuild & {
  nixConfig: NixConfig;
  /** The Garnix config's `commentOnFailure`, when it says. */
  commentOnFailure?: boolean;
};

/** Flags → a build ready to run: Nix config, targets, push caches and upstreams opened. */
export async function setUpBuild(urls: readonly string[], flags: BuildFlags): Promise<BuildRun> {
  checkBuildFlags(flags);
  // Evaluation runs in a Nix process: start it first, and read the key and Nix's settings and
  // open the caches (their HTTP client loads then) while Nix evaluates (bench/build).
  const targetsP = loadTargets(flags);
  targetsP.catch(() => {});
  const signingKey = flags.signingKey ? (await readSigningKey(flags.signingKey)).key : undefined;
  const nixConfigP = readNixConfig();
  nixConfigP.catch(() => {});
  const setup = buildSetupOf(flags, {
    push: urls,
    nixConfig: nixConfigP,
    ...(signingKey ? { signingKey } : {}),
  });
  const preparedP = prepareBuild(setup).catch((e: unknown) => {
    throw new UserError((e as Error).message, exitCodeOf(e) === 2 ? 2 : 1);
  });
  preparedP.catch(() => {});
  // A failure before the build releases what was opened for it (and its log directory, empty
  // yet). Failures are told in the order of before: Nix's settings, the evaluation, the caches.
  const discard = async (e: unknown): Promise<never> => {
    await preparedP.then(
      async (p) => {
        await p.close();
        if (flags.logDir === undefined) await rmdir(p.options.logDir).catch(() => {});
      },
      () => {},
    );
    throw e;
  };
  const nixConfig = await nixConfigP.catch(discard);
  const loaded = await targetsP.catch(discard);
  const prepared = await preparedP;
  prepared.options.targets = loaded.targets;
  return {
    ...prepared,
    nixConfig,
    ...(loaded.commentOnFailure !== undefined ? { commentOnFailure: loaded.commentOnFailure } : {}),
  };
}

/** Writes the GitHub step summary when there is one to write (`--summary`, or the job's own). */
export async function writeSummary(file: string | undefined, markdown: string): Promise<void> {
  const target = stepSummaryFile(file);
  if (target) await appendStepSummary(target, markdown);
}

/** The GitHub statuses of a build or ci run's targets, when they are written (under Actions). */
export async function openTargetChecks(flags: BuildFlags, prepared: BuildRun) {
  const checks = await openChecks(flags);
  if (!checks) return undefined;
  applyCommentOnFailure(checks, flags, prepared.commentOnFailure);
  const t = new TargetChecks(checks, flags.runnerSystems, buildableSystems(prepared.nixConfig));
  t.begin(prepared.options.targets ?? []);
  return t;
}

async function runBuild(flags: BuildFlags): Promise<number> {
  const urls = flags.push ?? [];
  if (urls.length === 0) process.stderr.write("nixcache: warning: no --push cache given: building only\n");
  const prepared = await setUpBuild(urls, flags);
  const checks = await openTargetChecks(flags, prepared).catch(async (e: unknown) => {
    await prepared.close();
    throw e;
  });
  const { result, interrupted } = await runWithProgress(prepared, !!flags.json, build, (e) =>
    checks?.event(e),
  );
  process.stderr.write(inGitHubActions() ? formatLogGroups(result) : formatFailedLogs(result));
  if (flags.json) printJson(buildJson(result));
  else process.stdout.write(formatBuildTable(result));
  process.stderr.write(`nixcache: build logs in ${result.summary.logDir}\n`);
  await writeSummary(flags.summary, formatBuildMarkdown(result));
  if (inGitHubActions()) (flags.json ? process.stderr : process.stdout).write(formatBuildAnnotations(result));
  if (checks && !interrupted) {
    await checks.finish(result.targets);
    if (checks.checks.unreported > 0)
      process.stderr.write(
        `nixcache: ${checks.checks.unreported} targets have no commit status of their own (--max-statuses ${flags.maxStatuses})\n`,
      );
  }
  if (interrupted) return 130;
  return result.summary.ok ? 0 : 1;
}

/** Runs `build` or `ci` with live progress on a terminal and Ctrl-C as cancellation, then releases the caches. */
export async function runWithProgress<R>(
  prepared: BuildRun,
  json: boolean,
  run: (opts: BuildOptions) => Promise<R>,
  /** Also told of every build event (the GitHub checks' pending statuses). */
  listen?: (e: BuildEvent) => void,
): Promise<{ result: R; interrupted: boolean }> {
  const abort = abortOnSigint(() =>
    process.stderr.write(
      "\nnixcache: interrupted; stopping the build and uploads (Ctrl-C again to quit at once)\n",
    ),
  );
  const progress = new BuildProgress(!!process.stderr.isTTY && !json);
  try {
    const result = await run({
      ...prepared.options,
      signal: abort.signal,
      onEvent: (e) => {
        progress.event(e);
        listen?.(e);
      },
    });
    return { result, interrupted: abort.interrupted };
  } finally {
    progress.stop();
    abort.dispose();
    await prepared.close();
  }
}

export function registerBuildCommands(program: Command): void {
  const cmd = program
    .command("build")
    .description(
      "Build the flake's target set (exactly what `nixcache targets` selects) for the systems this machine " +
        "builds, and push each target's closure to every --push cache as soon as that target is built, while " +
        "the others still build. Targets whose outputs every push cache already holds, signed by a key it is " +
        "trusted with, are not built or downloaded at all. Paths an upstream cache (cache.nixos.org) serves " +
        "signed are not pushed. A cache that fails is reported with its reason; the others still get every output.",
    );
  addFlags(cmd, COMMAND_FLAGS.build)
    .addHelpText(
      "after",
      "\nStatus of each target: cached (already in every push cache), built, failed, not-built-here\n" +
        "(a system this machine cannot build), eval-failed.\n" +
        "Exit status: 0 when every buildable target is cached or built (and, with --require-push, pushed\n" +
        "everywhere), 1 otherwise, 2 on usage errors.\n\n" +
        "Examples:\n" +
        "  nixcache build --push http://127.0.0.1:7080/main --keep-going\n" +
        "  nixcache build --push cachix://mycache --push https://cache.example.org/main --json\n" +
        "  nixcache build --system x86_64-linux --push file:///srv/cache --no-upstream",
    )
    .action(async (flags: BuildFlags) => {
      process.exitCode = await runBuild(flags);
    });
}
