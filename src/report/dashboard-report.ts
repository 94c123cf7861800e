// Reports for the dashboard: `nixcache ci` and `nixcache verify` upload their result, with the
// commit, branch and CI run, to a nixcache server (`POST /api/v1/cache/<name>/reports`, a write
// token). The target is `--report-to URL`, else the first of the command's caches that is a
// nixcache server; none is fine (nothing is sent). An upload that fails is a warning: the
// command's own result stands.
import { execFile } from "node:child_process";
import { type CiRun, ciRun } from "../caches/ci-run.js";
import type { HttpCache } from "../caches/http-cache.js";
import { REPORT_MAX_LISTED, type ReportTargetUpload, type ReportUpload } from "../ui-api/types.js";
import { errorMessage } from "../util/errors.js";
import type { TargetCheck, VerifyReport } from "../verify/verify.js";

/** What a report says besides its targets. */
export interface ReportContext {
  commit: string | null;
  branch: string | null;
  run: CiRun | null;
}

const MAX_DETAIL = 500;

export function detailText(s: string | undefined): string | undefined {
  if (s === undefined || s === "") return undefined;
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > MAX_DETAIL ? `${one.slice(0, MAX_DETAIL - 1)}…` : one;
}

/** The members listed (the first REPORT_MAX_LISTED) and how many there were. */
export function listed(paths: readonly string[]): { paths: string[]; count: number } {
  return { paths: paths.slice(0, REPORT_MAX_LISTED), count: paths.length };
}

/** A verify result's target as a matrix cell. */
export function verifyCell(t: TargetCheck): Omit<ReportTargetUpload, "attr" | "system" | "outPath"> {
  const missing = listed(t.missing);
  const unsigned = listed(t.unsigned);
  const status =
    t.status === "error"
      ? "eval-failed"
      : t.status === "ok"
        ? "ok"
        : t.status === "unsigned" || (t.status === "incomplete" && t.missing.length === 0)
          ? "unsigned"
          : "missing";
  const cell: Omit<ReportTargetUpload, "attr" | "system" | "outPath"> = {
    status,
    missing: missing.paths,
    missingCount: missing.count,
    unsigned: unsigned.paths,
    unsignedCount: unsigned.count,
  };
  const detail = status === "ok" ? undefined : detailText(t.error);
  if (detail !== undefined) cell.detail = detail;
  return cell;
}

export function verifyDashboardReport(r: VerifyReport, ctx: ReportContext, ok: boolean): ReportUpload {
  return {
    version: 1,
    kind: "verify",
    commit: ctx.commit,
    branch: ctx.branch,
    run: ctx.run,
    ok,
    targets: r.targets.map((t) => ({ attr: t.attr, system: t.system, outPath: t.outPath, ...verifyCell(t) })),
  };
}

function git(dir: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", ["-C", dir, ...args], { timeout: 5000, encoding: "utf8" }, (err, out) =>
      resolve(err ? undefined : out.trim() || undefined),
    );
  });
}

/**
 * The commit and branch: the flags, else GitHub Actions' (GITHUB_SHA; GITHUB_HEAD_REF for a pull
 * request, else GITHUB_REF_NAME), else what git says of `dir` (a local flake), else unknown.
 */
export async function reportContext(
  o: { commit?: string; branch?: string; dir?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ReportContext> {
  const inActions = env.GITHUB_ACTIONS === "true";
  let commit = o.commit ?? (inActions ? env.GITHUB_SHA : undefined);
  let branch = o.branch ?? (inActions ? env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME : undefined);
  if (o.dir !== undefined && (commit === undefined || branch === undefined)) {
    const [c, b] = await Promise.all([
      commit === undefined ? git(o.dir, ["rev-parse", "HEAD"]) : commit,
      branch === undefined ? git(o.dir, ["rev-parse", "--abbrev-ref", "HEAD"]) : branch,
    ]);
    commit = c;
    // A detached HEAD has no branch.
    branch = b === "HEAD" ? undefined : b;
  }
  const hex = commit?.toLowerCase();
  return {
    commit: hex !== undefined && /^[0-9a-f]{4,64}$/.test(hex) ? hex : null,
    branch: branch ? branch.slice(0, 255) : null,
    run: ciRun(env) ?? null,
  };
}

export type ReportOutcome =
  | { kind: "uploaded"; cache: string; id: number; url: string }
  | { kind: "none"; reason: string }
  | { kind: "failed"; cache: string; reason: string };

/**
 * Uploads the report to `explicit` (an http(s) cache URL of a nixcache server), else to the first
 * of `candidates` that is one. `open` opens an HTTP cache with the command's credentials.
 */
export async function sendDashboardReport(
  report: ReportUpload,
  o: { explicit?: string; candidates: readonly string[]; open: (url: string) => Promise<HttpCache> },
): Promise<ReportOutcome> {
  const urls = o.explicit !== undefined ? [o.explicit] : o.candidates.filter((u) => /^https?:\/\//i.test(u));
  for (const url of urls) {
    let cache: HttpCache | undefined;
    try {
      cache = await o.open(url);
      if (!(await cache.isNixcacheServer())) {
        if (o.explicit !== undefined)
          return { kind: "failed", cache: url, reason: "it is not a nixcache server (or did not answer)" };
        continue;
      }
      const r = await cache.uploadReport(report);
      return { kind: "uploaded", cache: url, id: r.id, url: r.url };
    } catch (e) {
      return { kind: "failed", cache: url, reason: errorMessage(e) };
    } finally {
      await cache?.close();
    }
  }
  return { kind: "none", reason: "no cache is a nixcache server" };
}
