import cliProgress from "cli-progress";
import type { Command } from "commander";
import { CacheProbeError, openAndProbeCaches } from "../caches/probe.js";
import { COMMAND_FLAGS } from "../flags/table.js";
import type { VerifyFlags } from "../flags/values.js";
import { formatAnnotations } from "../github/annotations.js";
import { appendStepSummary, inGitHubActions, stepSummaryFile } from "../github/step-summary.js";
import { aggregateError, aggregateFinal, aggregatePending } from "../github/target-checks.js";
import { readPublicKeyArg } from "../keys/key-files.js";
import { resolveStorePath } from "../local-nix/path-info.js";
import { KeyFormatError, type PublicKey } from "../nix/signing.js";
import { verifyDashboardReport } from "../report/dashboard-report.js";
import { formatMarkdownSummary, formatTable, waitProgressLine } from "../report/verify-report.js";
import { storePathTargets } from "../targets/store-paths.js";
import { type VerifyProgress, verifyExitCode, verifyTargets } from "../verify/verify.js";
import { addFlags } from "./flag-options.js";
import { applyCommentOnFailure, openChecks } from "./github-flags.js";
import { printJson, UserError } from "./output.js";
import { uploadReportOf } from "./report-flags.js";
import { loadTargets } from "./targets.js";

function progressReporter(quiet: boolean): { onProgress: (p: VerifyProgress) => void; stop: () => void } {
  const tty = process.stderr.isTTY && !quiet;
  const bars = tty ? cliProgress : undefined;
  let bar: cliProgress.SingleBar | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    stop,
    onProgress: (p) => {
      if (p.phase === "check") {
        if (!bars) return;
        if (!bar) {
          bar = new bars.SingleBar(
            {
              format: "checking targets [{bar}] {value}/{total}",
              stream: process.stderr,
              clearOnComplete: true,
            },
            bars.Presets.shades_classic,
          );
          bar.start(p.total, p.done);
        } else bar.update(p.done);
        if (p.done === p.total) stop();
        return;
      }
      stop();
      // Always printed (CI logs are not terminals): the wait can be long and should show life.
      process.stderr.write(`nixcache: ${waitProgressLine(p)}\n`);
    },
  };
}

/** `--path`: targets named by store path; flake-selection flags make no sense beside it. */
async function pathTargets(flags: VerifyFlags) {
  // --branch stays allowed: with --path it names only the report's branch.
  const clash = [flags.config && "--config", flags.system && "--system"].filter(Boolean);
  if (flags.flake !== "." || clash.length > 0) {
    throw new UserError(`--path cannot be combined with ${flags.flake !== "." ? "--flake" : clash[0]}`, 2);
  }
  const paths: string[] = [];
  for (const p of flags.path ?? []) {
    try {
      paths.push(await resolveStorePath(p));
    } catch (e) {
      throw new UserError(`--path ${(e as Error).message}`, 2);
    }
  }
  return storePathTargets(paths);
}

export function registerVerifyCommands(program: Command): void {
  const cmd = program
    .command("verify")
    .description(
      'The "Cache Only" guard: check that every target of the flake (the same set `nixcache targets` ' +
        "lists) is in one of the caches and signed by a trusted key; with --closure, that its whole " +
        "runtime closure is substitutable from the caches together (walked through narinfo References, " +
        "so systems never built here are covered too).",
    )
    .addHelpText(
      "after",
      "\nExit status: 0 when everything is present (and signed), 1 when anything is missing or\n" +
        "unsigned, 2 on usage errors or when a target fails to evaluate. The report goes to the\n" +
        "dashboard of the first cache that is a nixcache server (--report-to, --no-report); a failed\n" +
        "upload only warns (uploading needs a token that may write the cache).\n" +
        "Under GitHub Actions, missing targets are also reported as ::error annotations.\n\n" +
        "Examples:\n" +
        "  nixcache verify --cache https://mycache.cachix.org --trusted-key 'mycache.cachix.org-1:AbC...='\n" +
        "  nixcache verify --closure --cache https://mycache.cachix.org https://cache.nixos.org \\\n" +
        "      --trusted-key 'mycache.cachix.org-1:AbC...=' 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='\n" +
        "  nixcache verify --cache http://localhost:8080/main --wait 45m --interval 30s\n" +
        "  nixcache verify --closure --path ./result --cache http://localhost:7080/main",
    );
  addFlags(cmd, COMMAND_FLAGS.verify).action(async (flags: VerifyFlags) => {
    const keys: PublicKey[] = [];
    for (const [i, k] of (flags.trustedKey ?? []).entries()) {
      try {
        keys.push(await readPublicKeyArg(k));
      } catch (e) {
        if (e instanceof KeyFormatError) throw new UserError(`--trusted-key #${i + 1}: ${e.message}`, 2);
        throw e;
      }
    }
    const wait = flags.wait === undefined ? undefined : { timeoutMs: flags.wait, intervalMs: flags.interval };
    if (wait && wait.intervalMs <= 0) throw new UserError("--interval must be longer than 0s", 2);
    const caches = await openAndProbeCaches(flags.cache).catch((e: unknown) => {
      if (e instanceof CacheProbeError && e.stage === "open") throw new UserError(`--cache ${e.message}`, 2);
      throw e;
    });
    try {
      const checks = await openChecks(flags);
      if (checks) await aggregatePending(checks, "verifying that every target is substitutable");
      const targets = await (flags.path
        ? pathTargets(flags)
        : loadTargets(flags).then((r) => {
            applyCommentOnFailure(checks, flags, r.commentOnFailure);
            return r.targets;
          })
      ).catch(async (e: unknown) => {
        if (checks) await aggregateError(checks, (e as Error).message);
        throw e;
      });
      const progress = progressReporter(flags.json === true);
      const opts: Parameters<typeof verifyTargets>[1] = {
        caches,
        trustedKeys: keys,
        closure: flags.closure === true,
        concurrency: flags.concurrency,
        onProgress: progress.onProgress,
      };
      if (wait) opts.wait = wait;
      const report = await verifyTargets(targets, opts).finally(progress.stop);

      if (flags.json) printJson(report);
      else process.stdout.write(formatTable(report));
      const summaryFile = stepSummaryFile(flags.summary);
      if (summaryFile) await appendStepSummary(summaryFile, formatMarkdownSummary(report));
      if (inGitHubActions()) (flags.json ? process.stderr : process.stdout).write(formatAnnotations(report));
      process.exitCode = verifyExitCode(report);
      const uploaded = await uploadReportOf(
        { ...flags, flake: flags.path ? "." : flags.flake },
        flags.cache,
        (ctx) => verifyDashboardReport(report, ctx, process.exitCode === 0),
      );
      if (checks) {
        await aggregateFinal(
          checks,
          report.targets.map((t) => ({ attr: t.attr, system: t.system, ok: t.status === "ok" })),
          uploaded,
        );
      }
    } finally {
      await Promise.all(caches.map((c) => c.close()));
    }
  });
}
