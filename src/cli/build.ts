import { type Command, Option } from "commander";
import type { BuildEvent, BuildOptions } from "../build/build.js";
import { buildJson } from "../build/render.js";
import type { BuildSetup, PreparedBuild as LibraryPreparedBuild, UpstreamChoice } from "../build/setup.js";
import { COMPRESSIONS, type Compression } from "../codec/compression.js";
import { appendStepSummary, inGitHubActions, stepSummaryFile } from "../github/step-summary.js";
import { readSigningKey } from "../keys/key-files.js";
import type { NixConfig } from "../local-store/nix-config.js";
import { abortOnSigint } from "../util/abort.js";
import { exitCodeOf } from "../util/errors.js";
import { addGitHubFlags, applyCommentOnFailure, type GitHubFlags, openChecks } from "./github-flags.js";
import { printJson, UserError } from "./output.js";
import { addTargetFlags, loadTargets, type TargetFlags } from "./targets.js";

export interface BuildFlags extends TargetFlags, GitHubFlags {
  push?: string[];
  trustedKey?: string[];
  upstream?: string[];
  upstreamKey?: string[];
  upstreamFilter: boolean;
  maxJobs?: string;
  cores?: string;
  keepGoing?: boolean;
  logDir?: string;
  requirePush?: boolean;
  signingKey?: string;
  token?: string;
  netrcFile?: string;
  cachixApi?: string;
  compression: Compression;
  compressionLevel?: string;
  jobs: string;
  json?: boolean;
  summary?: string;
}

/** The flags `build` and `ci` share (everything but where to push). */
export function addBuildFlags(cmd: Command): Command {
  return addGitHubFlags(addTargetFlags(cmd), { runners: true })
    .option(
      "--trusted-key <key...>",
      "public key `name:base64` the caches' signatures are checked against (repeatable)",
    )
    .option(
      "--upstream <url...>",
      "upstream caches whose signed paths are not pushed (default: cache.nixos.org when nix.conf uses it)",
    )
    .option("--upstream-key <key...>", "public keys the upstream caches sign with")
    .option("--no-upstream-filter", "push every path, even those an upstream cache serves")
    .option("--max-jobs <n>", "passed to Nix: builds in parallel")
    .option("--cores <n>", "passed to Nix: cores per build")
    .option("-k, --keep-going", "a failed target does not stop the others")
    .option(
      "--log-dir <dir>",
      "where per-target build logs go (default: a new temporary directory, reported)",
    )
    .option("--require-push", "exit 1 when any output failed to reach any push cache")
    .option("--signing-key <file>", "sign pushed narinfos with this Nix secret key file")
    .option(
      "--token <token>",
      "token for the caches (default: $NIXCACHE_TOKEN; cachix:// $CACHIX_AUTH_TOKEN)",
    )
    .option("--netrc-file <file>", "netrc file for Basic auth (default: the one Nix uses)")
    .option("--cachix-api <url>", "for cachix://NAME: the Cachix-compatible API")
    .addOption(
      new Option("--compression <method>", "NAR compression").choices([...COMPRESSIONS]).default("zstd"),
    )
    .option("--compression-level <n>", "compression level (default: zstd 2, xz 6)")
    .option("-j, --jobs <n>", "NAR uploads in flight per cache", "8")
    .option("--json", "print the report as JSON on stdout")
    .option(
      "--summary <file>",
      "append a Markdown summary to this file (default under GitHub Actions: $GITHUB_STEP_SUMMARY)",
    );
}

function intFlag(v: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UserError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, 2);
  return Number(v);
}

export type PreparedBuild = LibraryPreparedBuild & {
  nixConfig: NixConfig;
  /** The Garnix config's `commentOnFailure`, when it says. */
  commentOnFailure?: boolean;
};

/** Flags → build options: Nix config, targets, push caches and upstreams opened. */
export async function prepareBuild(urls: readonly string[], flags: BuildFlags): Promise<PreparedBuild> {
  const level = intFlag(flags.compressionLevel, "--compression-level", 0, 22);
  const jobs = intFlag(flags.jobs, "--jobs", 1, 256) ?? 8;
  intFlag(flags.maxJobs === "auto" ? undefined : flags.maxJobs, "--max-jobs", 0, 4096);
  intFlag(flags.cores, "--cores", 0, 4096);
  if (flags.upstreamKey && !flags.upstream && flags.upstreamFilter)
    throw new UserError("--upstream-key needs --upstream", 2);
  // Evaluation runs in a Nix process: start it first and load the rest while Nix evaluates
  // (bench/build: most of a warm run is evaluation).
  const targetsP = loadTargets(flags);
  targetsP.catch(() => {});
  const [{ readNixConfig }, setup] = await Promise.all([
    import("../local-store/nix-config.js"),
    import("../build/setup.js"),
  ]);
  const signingKey = flags.signingKey ? (await readSigningKey(flags.signingKey)).key : undefined;
  const trustedKeys = setup.parsePublicKeys(flags.trustedKey ?? [], "--trusted-key");
  const upstreamKeys = setup.parsePublicKeys(flags.upstreamKey ?? [], "--upstream-key");
  const nixConfig = await readNixConfig();
  const { targets, commentOnFailure } = await targetsP;
  const upstream: UpstreamChoice = { disabled: !flags.upstreamFilter, keys: upstreamKeys };
  if (flags.upstream) upstream.urls = flags.upstream;
  const s: BuildSetup = {
    push: urls,
    targets,
    nixConfig,
    token: flags.token,
    netrcFile: flags.netrcFile,
    cachixApi: flags.cachixApi,
    trustedKeys,
    signingKey,
    upstream,
    keepGoing: flags.keepGoing === true,
    requirePush: flags.requirePush === true,
    compression: flags.compression,
    compressionLevel: level,
    jobs,
  };
  if (flags.logDir !== undefined) s.logDir = flags.logDir;
  if (flags.maxJobs !== undefined) s.maxJobs = flags.maxJobs;
  if (flags.cores !== undefined) s.cores = flags.cores;
  try {
    return {
      ...(await setup.prepareBuild(s)),
      nixConfig,
      ...(commentOnFailure !== undefined ? { commentOnFailure } : {}),
    };
  } catch (e) {
    throw new UserError((e as Error).message, exitCodeOf(e) === 2 ? 2 : 1);
  }
}

/** Writes the GitHub step summary when there is one to write (`--summary`, or the job's own). */
export async function writeSummary(file: string | undefined, markdown: string): Promise<void> {
  const target = stepSummaryFile(file);
  if (target) await appendStepSummary(target, markdown);
}

/** The GitHub statuses of a build or ci run's targets, when they are written (under Actions). */
export async function openTargetChecks(flags: BuildFlags, prepared: PreparedBuild) {
  const checks = await openChecks(flags);
  if (!checks) return undefined;
  applyCommentOnFailure(checks, flags, prepared.commentOnFailure);
  const [{ TargetChecks }, { buildableSystems }] = await Promise.all([
    import("../github/target-checks.js"),
    import("../local-store/nix-config.js"),
  ]);
  const t = new TargetChecks(checks, flags.runnerSystems, buildableSystems(prepared.nixConfig));
  t.begin(prepared.options.targets ?? []);
  return t;
}

async function runBuild(flags: BuildFlags): Promise<number> {
  const urls = flags.push ?? [];
  if (urls.length === 0) process.stderr.write("nixcache: warning: no --push cache given: building only\n");
  const preparing = prepareBuild(urls, flags);
  preparing.catch(() => {});
  const [{ build }, report] = await Promise.all([import("../build/build.js"), import("../build/render.js")]);
  const prepared = await preparing;
  const checks = await openTargetChecks(flags, prepared).catch(async (e: unknown) => {
    await prepared.close();
    throw e;
  });
  const { result, interrupted } = await runWithProgress(prepared, !!flags.json, build, (e) =>
    checks?.event(e),
  );
  process.stderr.write(inGitHubActions() ? report.formatLogGroups(result) : report.formatFailedLogs(result));
  if (flags.json) printJson(buildJson(result));
  else process.stdout.write(report.formatBuildTable(result));
  process.stderr.write(`nixcache: build logs in ${result.summary.logDir}\n`);
  await writeSummary(flags.summary, report.formatBuildMarkdown(result));
  if (inGitHubActions())
    (flags.json ? process.stderr : process.stdout).write(report.formatBuildAnnotations(result));
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
  prepared: PreparedBuild,
  json: boolean,
  run: (opts: BuildOptions) => Promise<R>,
  /** Also told of every build event (the GitHub checks' pending statuses). */
  listen?: (e: BuildEvent) => void,
): Promise<{ result: R; interrupted: boolean }> {
  const { BuildProgress } = await import("./build-progress.js");
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
    )
    .option("--push <cache...>", "caches to push to (file://, http(s)://, cachix://NAME); repeatable");
  addBuildFlags(cmd)
    .addHelpText(
      "after",
      "\nStatus of each target: cached (already in every push cache), built, failed, not-built-here\n" +
        "(a system this machine cannot build), eval-failed.\n" +
        "Exit status: 0 when every buildable target is cached or built (and, with --require-push, pushed\n" +
        "everywhere), 1 otherwise, 2 on usage errors.\n\n" +
        "Examples:\n" +
        "  nixcache build --push http://127.0.0.1:7080/main --keep-going\n" +
        "  nixcache build --push cachix://mycache --push https://cache.example.org/main --json\n" +
        "  nixcache build --system x86_64-linux --push file:///srv/cache --no-upstream-filter",
    )
    .action(async (flags: BuildFlags) => {
      process.exitCode = await runBuild(flags);
    });
}
