// `nixcache ci`'s report as the dashboard takes it: one cell per target, from what the build did
// and what verify found afterwards.
import { detailText, type ReportContext, verifyCell } from "../report/dashboard-report.js";
import type { ReportTargetUpload, ReportUpload } from "../ui-api/types.js";
import type { CiReport } from "./ci.js";

export function ciDashboardReport(r: CiReport, ctx: ReportContext): ReportUpload {
  const targets = r.targets.map((t, i): ReportTargetUpload => {
    const check = r.verify.targets[i];
    const base = { attr: t.attr, system: t.system, outPath: t.outPath };
    if (t.status === "eval-failed" || !check)
      return {
        ...base,
        status: "eval-failed",
        missing: [],
        missingCount: 0,
        unsigned: [],
        unsignedCount: 0,
        ...(detailText(t.error) ? { detail: detailText(t.error) } : {}),
      };
    const cell: ReportTargetUpload = { ...base, ...verifyCell(check) };
    // Another system's target the caches do not have yet: not built (by this run), rather than missing.
    if (t.status === "not-built-here" && cell.status === "missing") {
      cell.status = "not-built";
      delete cell.detail;
    } else if (t.status === "failed") {
      cell.detail = detailText(`build failed${t.error ? `: ${t.error}` : ""}`);
    }
    // Targets this machine builds have their log in the cache (from this run or the one that built them).
    const drv = r.drvPaths[i];
    if (drv && (t.status === "built" || t.status === "failed" || t.status === "cached")) cell.drvPath = drv;
    return cell;
  });
  return {
    version: 1,
    kind: "ci",
    commit: ctx.commit,
    branch: ctx.branch,
    run: ctx.run,
    ok: r.summary.ok,
    targets,
  };
}
