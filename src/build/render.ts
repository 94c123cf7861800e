// Renderers for `nixcache build` reports: terminal table, GitHub step summary, annotations.
// Data in, text out: nothing here does I/O.

import { randomUUID } from "node:crypto";
import { type Annotation, foldedLines, formatAnnotationLines } from "../report/workflow-commands.js";
import { cleanLogLine, shownLineText } from "../ui-api/log-text.js";
import { formatBytes } from "../util/bytes.js";
import { type BuildReport, type BuildStatus, type BuildTarget, targetOutcome } from "./types.js";

const LABEL: Record<BuildStatus, string> = {
  cached: "cached",
  built: "built",
  failed: "FAILED",
  "not-built-here": "not built here",
  "eval-failed": "EVAL FAILED",
};

function bySystem(targets: readonly BuildTarget[]): Array<[string, BuildTarget[]]> {
  const m = new Map<string, BuildTarget[]>();
  for (const t of targets) m.set(t.system, [...(m.get(t.system) ?? []), t]);
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}

function pushText(t: BuildTarget): string {
  const parts = Object.entries(t.push).map(([url, s]) => `${url}: ${s}`);
  return parts.join("; ");
}

/** One line: counts by status and what was pushed where. */
export function buildSummaryLine(r: BuildReport): string {
  const s = r.summary;
  const bits = [`${s.built} built`, `${s.cached} cached`];
  if (s.failed) bits.push(`${s.failed} FAILED`);
  if (s.evalFailed) bits.push(`${s.evalFailed} failed to evaluate`);
  if (s.notBuiltHere) bits.push(`${s.notBuiltHere} not built here`);
  return `${bits.join(", ")} (of ${s.total} targets)`;
}

function cacheLines(r: BuildReport): string[] {
  return r.summary.caches.map((c) => {
    const what =
      `${c.pushedPaths} paths pushed (${formatBytes(c.narBytes)} of NAR → ${formatBytes(c.fileBytes)}), ` +
      `${c.alreadyPaths} already there` +
      (c.filteredPaths ? `, ${c.filteredPaths} served upstream` : "") +
      (c.failedPaths ? `, ${c.failedPaths} FAILED` : "");
    return c.status === "ok"
      ? `${c.url}: ${what}`
      : `${c.url}: FAILED: ${c.reason ?? "some targets failed to push"}; ${what}`;
  });
}

/** The terminal report: targets per system with status and push results, then the caches. */
export function formatBuildTable(r: BuildReport): string {
  const out: string[] = [];
  for (const [system, ts] of bySystem(r.targets)) {
    out.push(`${system}`);
    const w = Math.max(...ts.map((t) => t.attr.length));
    for (const t of ts) {
      const detail = t.error ?? pushText(t);
      out.push(`  ${t.attr.padEnd(w)}  ${LABEL[t.status].padEnd(14)}  ${detail}`);
    }
  }
  if (r.targets.length === 0) out.push("no targets selected");
  out.push("", ...cacheLines(r));
  out.push(buildSummaryLine(r));
  return `${out.join("\n")}\n`;
}

/** Lines of a failed target's log the terminal shows (the job log and step summary show more). */
const TERMINAL_TAIL = 25;

/** What a failed target printed last, for the terminal. */
export function formatFailedLogs(r: BuildReport): string {
  const out: string[] = [];
  for (const t of r.targets) {
    if (t.status !== "failed") continue;
    out.push(`nixcache: ${t.attr} (${t.system}) failed: ${t.error ?? "build failed"}`);
    if (t.log) out.push(`  full log: ${t.log}`);
    if (t.logUrl) out.push(`  on the dashboard: ${t.logUrl}`);
    for (const l of (t.logTail ?? []).slice(-TERMINAL_TAIL)) out.push(`  | ${cleanLogLine(l)}`);
  }
  return out.length > 0 ? `${out.join("\n")}\n` : "";
}

/**
 * For the GitHub Actions job log: each target built or failed in this run, its log's last lines
 * folded under `::group::<target>` (workflow commands in the log itself are not run: see
 * foldedLines; `token` is for tests, a random one otherwise).
 */
export function formatLogGroups(r: BuildReport, token: string = randomUUID()): string {
  const out: string[] = [];
  for (const t of r.targets) {
    if (!t.logTail || (t.status !== "built" && t.status !== "failed")) continue;
    const title = `${t.attr} (${t.system}): ${t.status === "failed" ? `FAILED: ${t.error ?? "build failed"}` : "built"}`;
    const where = [...(t.logUrl ? [`whole log: ${t.logUrl}`] : []), ...(t.log ? [`log file: ${t.log}`] : [])];
    out.push(
      foldedLines(title, [...t.logTail.map(cleanLogLine), ...(where.length ? ["", ...where] : [])], token),
    );
  }
  return out.join("");
}

const md = (s: string) => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);

/** GitHub step-summary Markdown. */
export function formatBuildMarkdown(r: BuildReport): string {
  const out = [`### nixcache build: ${r.summary.ok ? "✅" : "❌"} ${buildSummaryLine(r)}`, ""];
  const caches = r.summary.caches.map((c) => c.url);
  out.push(`| system | target | status | ${caches.map(md).join(" | ")} |`);
  out.push(`|---|---|---|${caches.map(() => "---|").join("")}`);
  for (const [system, ts] of bySystem(r.targets))
    for (const t of ts)
      out.push(
        `| ${md(system)} | \`${t.attr.replace(/`/g, "'")}\` | ${LABEL[t.status]}${t.error ? `: ${md(t.error)}` : ""} | ${caches
          .map((c) => md(t.push[c] ?? ""))
          .join(" | ")} |`,
      );
  out.push("", ...cacheLines(r).map((l) => `- ${md(l)}`), "");
  return `${out.join("\n")}\n${formatFailedLogsMarkdown(r.targets)}`;
}

const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Markdown bytes of log blocks one step summary holds (GitHub takes 1 MiB per step). */
const SUMMARY_LOG_BUDGET = 512 * 1024;

/**
 * For the step summary: per failed target, its log's last lines in a collapsed `<details>`
 * block, in a code fence no line of the log can close, with a link to the whole log.
 */
export function formatFailedLogsMarkdown(targets: readonly BuildTarget[]): string {
  const out: string[] = [];
  let used = 0;
  let left = 0;
  for (const t of targets) {
    if (t.status !== "failed" || !t.logTail) continue;
    const lines = t.logTail.map((l) => shownLineText(l));
    const longest = Math.max(
      0,
      ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((m) => m.length))),
    );
    const fence = "`".repeat(Math.max(3, longest + 1));
    const block = [
      `<details><summary>❌ <code>${html(t.attr)}</code> (${html(t.system)}): the last ${lines.length} line${lines.length === 1 ? "" : "s"} of its build log</summary>`,
      "",
      `${fence}text`,
      ...lines,
      fence,
      "",
      ...(t.logUrl ? [`[The whole log](${t.logUrl.replace(/[()\s]/g, encodeURIComponent)})`, ""] : []),
      "</details>",
      "",
      "",
    ].join("\n");
    const bytes = Buffer.byteLength(block);
    if (used + bytes > SUMMARY_LOG_BUDGET) {
      left++;
      continue;
    }
    used += bytes;
    out.push(block);
  }
  if (left > 0)
    out.push(`${left} more failed target${left === 1 ? "" : "s"}: their logs are in the job log.\n\n`);
  return out.join("");
}

/** Error annotations: failed targets and caches that failed. */
export function buildAnnotations(r: BuildReport): Annotation[] {
  const out: Annotation[] = [];
  for (const t of r.targets)
    if (t.status === "failed" || t.status === "eval-failed")
      out.push({ title: `nixcache build: ${t.attr}`, message: `${t.system}: ${t.error ?? t.status}` });
  for (const c of r.summary.caches)
    if (c.status === "failed")
      out.push({ title: `nixcache push: ${c.url}`, message: c.reason ?? "some paths failed" });
  return out;
}

/** `::error` lines for failed targets and caches that failed. */
export function formatBuildAnnotations(r: BuildReport): string {
  return formatAnnotationLines(buildAnnotations(r));
}

/**
 * The `--json` contract of `nixcache build` (and the Action's report): targets with attr, system,
 * status, outPath, push, log (and error); and the summary.
 */
export function buildJson(r: BuildReport): unknown {
  return {
    targets: r.targets.map((t) => ({
      ...targetOutcome(t),
      ...(t.error !== undefined ? { error: t.error } : {}),
    })),
    summary: r.summary,
  };
}

/** Paths pushed to the caches in this run (summed over caches). */
export function pushedPaths(r: BuildReport): number {
  return r.summary.caches.reduce((n, c) => n + c.pushedPaths, 0);
}
