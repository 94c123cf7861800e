// Renderers for `nixcache ci` reports (data in, text out).

import { buildAnnotations, buildJson, buildSummaryLine, formatFailedLogsMarkdown } from "../build/render.js";
import { type Annotation, formatAnnotationLines } from "../report/workflow-commands.js";
import type { CiReport, CiTarget } from "./ci.js";

const VERIFY_LABEL: Record<CiTarget["verify"], string> = {
  ok: "substitutable",
  missing: "NOT IN CACHE",
  unsigned: "UNSIGNED",
  incomplete: "CLOSURE INCOMPLETE",
  error: "-",
};

function bySystem(targets: readonly CiTarget[]): Array<[string, CiTarget[]]> {
  const m = new Map<string, CiTarget[]>();
  for (const t of targets) m.set(t.system, [...(m.get(t.system) ?? []), t]);
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}

function detail(t: CiTarget): string {
  if (t.error) return t.error;
  if (t.missing.length > 0)
    return `lacks ${t.missing.slice(0, 3).join(", ")}${t.missing.length > 3 ? ` and ${t.missing.length - 3} more` : ""}`;
  const failed = Object.entries(t.push).filter(([, s]) => s.startsWith("failed"));
  return failed.map(([u, s]) => `${u}: ${s}`).join("; ");
}

export function ciSummaryLine(r: CiReport): string {
  const v = r.verify.counts;
  const bits = [buildSummaryLine(r.build), `${v.ok}/${v.total} substitutable`];
  if (r.summary.otherSystemsMissing)
    bits.push(`${r.summary.otherSystemsMissing} of other systems not in the cache yet`);
  return bits.join("; ");
}

export function formatCiTable(r: CiReport): string {
  const out: string[] = [];
  for (const [system, ts] of bySystem(r.targets)) {
    out.push(system);
    const w = Math.max(...ts.map((t) => t.attr.length));
    for (const t of ts)
      out.push(
        `  ${t.attr.padEnd(w)}  ${t.status.padEnd(14)}  ${VERIFY_LABEL[t.verify].padEnd(18)}  ${detail(t)}`,
      );
  }
  if (r.targets.length === 0) out.push("no targets selected");
  out.push("", `${r.summary.ok ? "OK" : "FAILED"}: ${ciSummaryLine(r)}`);
  return `${out.join("\n")}\n`;
}

const md = (s: string) => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);

export function formatCiMarkdown(r: CiReport): string {
  const out = [`### nixcache ci: ${r.summary.ok ? "✅" : "❌"} ${md(ciSummaryLine(r))}`, ""];
  out.push("| system | target | build | in the cache | detail |", "|---|---|---|---|---|");
  for (const [system, ts] of bySystem(r.targets))
    for (const t of ts)
      out.push(
        `| ${md(system)} | \`${t.attr.replace(/`/g, "'")}\` | ${t.status} | ${VERIFY_LABEL[t.verify]} | ${md(detail(t))} |`,
      );
  return `${out.join("\n")}\n\n${formatFailedLogsMarkdown(r.build.targets)}`;
}

/** Error annotations: the build's, and targets built here that are not substitutable. */
export function ciAnnotations(r: CiReport): Annotation[] {
  const out = buildAnnotations(r.build);
  for (const t of r.targets)
    if (
      t.status !== "not-built-here" &&
      t.status !== "failed" &&
      t.status !== "eval-failed" &&
      t.verify !== "ok"
    )
      out.push({
        title: `nixcache ci: ${t.attr}`,
        message: `${t.system}: ${VERIFY_LABEL[t.verify]}: ${detail(t)}`,
      });
  return out;
}

export function formatCiAnnotations(r: CiReport): string {
  return formatAnnotationLines(ciAnnotations(r));
}

/** The `--json` contract of `nixcache ci` (and the Action's report for `ci`). */
export function ciJson(r: CiReport): unknown {
  const build = buildJson(r.build) as { summary: unknown };
  return {
    targets: r.targets,
    summary: {
      ...r.summary,
      build: build.summary,
      verify: { complete: r.verify.complete, counts: r.verify.counts },
    },
  };
}
