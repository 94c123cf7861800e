// The Action's dashboard report, as the CLI sends it (cli/report-flags.ts): to `--report-to`, else
// the first cache that is a nixcache server. A failed upload is a warning, never the step's failure.
import * as core from "@actions/core";
import { cacheToken } from "../caches/credentials.js";
import { HttpCache } from "../caches/http-cache.js";
import type { ActionInputs, RunContext } from "../github/action-inputs.js";
import { type ReportContext, reportContext, sendDashboardReport } from "../report/dashboard-report.js";
import type { ReportUpload } from "../ui-api/types.js";
import type { ExtraArgs } from "./extra-args.js";

export async function uploadDashboardReport(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  caches: readonly string[],
  make: (c: ReportContext) => ReportUpload,
): Promise<string | undefined> {
  if (x.values.report === false) return undefined;
  const context = await reportContext({ commit: x.values.commit, branch: x.values.branch ?? ctx.branch });
  const explicit = x.values.reportTo;
  const outcome = await sendDashboardReport(make(context), {
    ...(explicit !== undefined ? { explicit } : {}),
    candidates: caches,
    open: async (url) => new HttpCache(url, { token: cacheToken(url, inputs.token) }),
  });
  if (outcome.kind === "uploaded") {
    core.info(`Report uploaded: ${outcome.url}`);
    return outcome.url;
  }
  if (outcome.kind === "failed")
    core.warning(`the report was not uploaded to ${outcome.cache}: ${outcome.reason}`, {
      title: "nixcache report",
    });
  return undefined;
}
