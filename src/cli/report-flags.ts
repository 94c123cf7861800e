// What `--report-to`, `--no-report` and `--commit` of `ci` and `verify` do: after the command, its report
// goes to the dashboard of a nixcache server. Never changes the exit status: a failed upload is a
// warning (and a GitHub Actions ::warning), so an unreachable dashboard cannot fail CI.
import path from "node:path";
import { cacheToken } from "../caches/credentials.js";
import { HttpCache } from "../caches/http-cache.js";
import type { ReportFlags } from "../flags/values.js";
import { type ReportContext, reportContext, sendDashboardReport } from "../report/dashboard-report.js";
import { warningAnnotation } from "../report/workflow-commands.js";
import type { ReportUpload } from "../ui-api/types.js";

/** The flake's directory when it is a local path (for git's commit and branch). */
function localDir(f: string): string | undefined {
  if (f.startsWith("path:")) return path.resolve(f.slice(5).replace(/\?.*$/, ""));
  if (/^[a-z][a-z0-9+.-]*:/i.test(f)) return undefined;
  return path.resolve(f);
}

/**
 * Uploads the report built by `make` (given the commit, branch and run) unless --no-report;
 * `candidates` are the command's caches, `token` the token for one of them. Returns the
 * report's dashboard URL when it was uploaded.
 */
export async function uploadReportOf(
  flags: ReportFlags,
  candidates: readonly string[],
  make: (ctx: ReportContext) => ReportUpload,
  token?: (url: string) => string | undefined,
): Promise<string | undefined> {
  if (!flags.report) return undefined;
  const ctx = await reportContext({ commit: flags.commit, branch: flags.branch, dir: localDir(flags.flake) });
  const outcome = await sendDashboardReport(make(ctx), {
    explicit: flags.reportTo,
    candidates,
    open: async (url) =>
      new HttpCache(url, { token: token?.(url) ?? cacheToken(url), netrcFile: flags.netrcFile }),
  });
  if (outcome.kind === "uploaded") {
    process.stderr.write(`nixcache: report uploaded: ${outcome.url}\n`);
    return outcome.url;
  }
  if (outcome.kind === "failed") {
    const msg = `the report was not uploaded to ${outcome.cache}: ${outcome.reason}`;
    process.stderr.write(`nixcache: warning: ${msg}\n`);
    if (process.env.GITHUB_ACTIONS === "true")
      process.stderr.write(`${warningAnnotation("nixcache report", msg)}\n`);
  }
  return undefined;
}
