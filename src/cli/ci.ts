import type { Command } from "commander";
import { formatFailedLogs, formatLogGroups } from "../build/render.js";
import { type CiReport, ci } from "../ci/ci.js";
import { ciDashboardReport } from "../ci/dashboard-report.js";
import type { EmbeddedServer } from "../ci/embedded.js";
import { ciJson, formatCiAnnotations, formatCiMarkdown, formatCiTable } from "../ci/render.js";
import { COMMAND_FLAGS } from "../flags/table.js";
import type { BuildFlags, ReportFlags } from "../flags/values.js";
import { inGitHubActions } from "../github/step-summary.js";
import { aggregateError, aggregatePending } from "../github/target-checks.js";
import { openTargetChecks, runWithProgress, setUpBuild, writeSummary } from "./build.js";
import { addFlags } from "./flag-options.js";
import { printJson, UserError } from "./output.js";
import { uploadReportOf } from "./report-flags.js";

interface CiFlags extends BuildFlags, ReportFlags {
  cache?: string[];
  data?: string;
  port?: number;
}

function ciJsonWithEmbedded(r: CiReport, embedded?: EmbeddedServer): unknown {
  return {
    ...(ciJson(r) as object),
    ...(embedded
      ? {
          embedded: {
            cacheUrl: embedded.cacheUrl,
            publicKey: embedded.publicKey,
            pid: embedded.pid,
            dataDir: embedded.dataDir,
            started: embedded.started,
          },
        }
      : {}),
  };
}

function substituterLines(e: EmbeddedServer): string {
  return (
    `\nThe embedded cache (nixcache serve, pid ${e.pid}${e.started ? ", started now" : ""}, data ${e.dataDir}):\n` +
    "add to nix.conf (or pass with --option) to substitute from it:\n" +
    `  substituters = ${e.cacheUrl}\n` +
    `  trusted-public-keys = ${e.publicKey}\n` +
    `Stop it with: kill ${e.pid}\n`
  );
}

async function runCi(flags: CiFlags): Promise<number> {
  let embedded: EmbeddedServer | undefined;
  let urls = flags.cache ?? [];
  if (urls.length === 0) {
    if (flags.token) throw new UserError("--token needs --cache: the embedded cache uses its own token", 2);
    // Loaded only without --cache: the embedded server's administration brings SQLite with it.
    const { ensureEmbeddedServer } = await import("../ci/embedded.js");
    try {
      embedded = await ensureEmbeddedServer({ dataDir: flags.data, port: flags.port });
    } catch (e) {
      throw new UserError(`embedded cache: ${(e as Error).message}`);
    }
    process.stderr.write(
      `nixcache: no --cache given: using the embedded cache ${embedded.cacheUrl}` +
        `${embedded.started ? " (started nixcache serve)" : " (already running)"}\n`,
    );
    urls = [embedded.cacheUrl];
  } else if (flags.data !== undefined || flags.port !== undefined) {
    throw new UserError(
      "--data and --port choose the embedded cache: they cannot be combined with --cache",
      2,
    );
  }
  const prepared = await setUpBuild(urls, embedded ? { ...flags, token: embedded.token } : flags);
  const checks = await openTargetChecks(flags, prepared).catch(async (e: unknown) => {
    await prepared.close();
    throw e;
  });
  if (checks) await aggregatePending(checks.checks, "building, pushing and verifying every target");
  const { result, interrupted } = await runWithProgress(prepared, !!flags.json, ci, (e) =>
    checks?.event(e),
  ).catch(async (e: unknown) => {
    if (checks) await aggregateError(checks.checks, (e as Error).message);
    throw e;
  });
  process.stderr.write(inGitHubActions() ? formatLogGroups(result.build) : formatFailedLogs(result.build));
  if (flags.json) printJson(ciJsonWithEmbedded(result, embedded));
  else {
    process.stdout.write(formatCiTable(result));
    if (embedded) process.stdout.write(substituterLines(embedded));
  }
  process.stderr.write(`nixcache: build logs in ${result.build.summary.logDir}\n`);
  await writeSummary(flags.summary, formatCiMarkdown(result));
  if (inGitHubActions()) (flags.json ? process.stderr : process.stdout).write(formatCiAnnotations(result));
  if (interrupted) {
    if (checks) await aggregateError(checks.checks, "interrupted");
    return 130;
  }
  const uploaded = await uploadReportOf(
    flags,
    urls,
    (ctx) => ciDashboardReport(result, ctx),
    (url) => (embedded && url === embedded.cacheUrl ? embedded.token : flags.token),
  );
  await checks?.finish(result.targets, { ...(uploaded !== undefined ? { reportUrl: uploaded } : {}) });
  return result.summary.ok ? 0 : 1;
}

export function registerCiCommands(program: Command): void {
  const cmd = program
    .command("ci")
    .description(
      "The whole CI job in one command: select the target set, build what the caches lack (pushing each " +
        "target as it finishes), then verify that every target and its runtime closure is substitutable " +
        "from the caches and signed by a trusted key. Targets of systems this machine cannot build are " +
        "listed as not built here and still verified. With no --cache it uses the embedded default: " +
        "nixcache's own server on a loopback port over the per-user data directory (started when not " +
        "already running), with a cache `main`, and prints the substituter and key to add to nix.conf.",
    );
  addFlags(cmd, COMMAND_FLAGS.ci)
    .addHelpText(
      "after",
      "\nExit status: 0 when every target this machine builds is cached or built and substitutable\n" +
        "(closure included), 1 otherwise, 2 on usage errors. The report goes to the dashboard of the\n" +
        "first cache that is a nixcache server (--report-to, --no-report); a failed upload only warns.\n\n" +
        "Examples:\n" +
        "  nixcache ci --flake ./examples/demo-flake          # the embedded default\n" +
        "  nixcache ci --cache cachix://mycache --branch main --json\n" +
        "  nixcache ci --cache https://cache.example.org/main --trusted-key 'cache.example.org-1:AbC...='",
    )
    .action(async (flags: CiFlags) => {
      process.exitCode = await runCi(flags);
    });
}
