// Renderers for `nixcache build` reports: terminal table, GitHub step summary, annotations.
// Data in, text out: nothing here does I/O.

import { type Annotation, formatAnnotationLines } from "../report/workflow-commands.js";
import { formatBytes } from "../util/bytes.js";
import { type BuildReport, type BuildStatus, type BuildTarget, targetOutcome } from "./build.js";

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

/** What a failed target printed last, for the terminal. */
export function formatFailedLogs(r: BuildReport): string {
  const out: string[] = [];
  for (const t of r.targets) {
    if (t.status !== "failed") continue;
    out.push(`nixcache: ${t.attr} (${t.system}) failed: ${t.error ?? "build failed"}`);
    if (t.log) out.push(`  full log: ${t.log}`);
    for (const l of t.logTail ?? []) out.push(`  | ${l}`);
  }
  return out.length > 0 ? `${out.join("\n")}\n` : "";
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
  return `${out.join("\n")}\n`;
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
