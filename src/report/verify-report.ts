import { formatDuration } from "../util/quantity.js";
import type { TargetCheck, TargetStatus, VerifyReport } from "../verify/verify.js";
import { bySystem } from "./by-system.js";

/** Reports for `verify`: a terminal table and step-summary Markdown (data in, text out). */

export const LABEL: Record<TargetStatus, string> = {
  ok: "ok",
  missing: "MISSING",
  unsigned: "UNSIGNED",
  incomplete: "INCOMPLETE",
  error: "EVAL ERROR",
};

const MAX_LISTED = 5;

/** What is wrong with a target, in one short line. */
export function whatIsMissing(t: TargetCheck): string {
  if (t.status === "error") return t.error ?? "evaluation failed";
  const parts: string[] = [];
  const list = (paths: string[]) =>
    paths.slice(0, MAX_LISTED).join(", ") +
    (paths.length > MAX_LISTED ? ` and ${paths.length - MAX_LISTED} more` : "");
  if (t.status === "missing") parts.push(`${t.outPath} is in no cache`);
  else if (t.status === "unsigned") parts.push(`${t.outPath} is not signed by a trusted key`);
  else {
    const closureMissing = t.missing.filter((p) => p !== t.outPath);
    const closureUnsigned = t.unsigned.filter((p) => p !== t.outPath);
    if (closureMissing.length > 0)
      parts.push(`closure lacks ${closureMissing.length}: ${list(closureMissing)}`);
    if (closureUnsigned.length > 0)
      parts.push(`unsigned in closure ${closureUnsigned.length}: ${list(closureUnsigned)}`);
  }
  if (t.status !== "ok" && t.error) parts.push(`(${t.error})`);
  return parts.join("; ");
}

function summaryLine(r: VerifyReport): string {
  const c = r.counts;
  const bits = [`${c.ok}/${c.total} ok`];
  if (c.missing) bits.push(`${c.missing} missing`);
  if (c.unsigned) bits.push(`${c.unsigned} unsigned`);
  if (c.incomplete) bits.push(`${c.incomplete} with incomplete closure`);
  if (c.error) bits.push(`${c.error} failed to evaluate`);
  return bits.join(", ");
}

function signatureNote(r: VerifyReport): string {
  return r.signaturesChecked
    ? `signatures checked against ${r.trustedKeys.join(", ")}`
    : "signatures NOT checked (no --trusted-key): only presence was verified";
}

/** The terminal table: one block per system with target, status and what is missing. */
export function formatTable(r: VerifyReport): string {
  const out: string[] = [];
  for (const [system, ts] of bySystem(r.targets)) {
    out.push(`${system}`);
    const w1 = Math.max(6, ...ts.map((t) => t.attr.length));
    const w2 = Math.max(6, ...ts.map((t) => LABEL[t.status].length));
    out.push(`  ${"TARGET".padEnd(w1)}  ${"STATUS".padEnd(w2)}  MISSING`);
    for (const t of ts)
      out.push(`  ${t.attr.padEnd(w1)}  ${LABEL[t.status].padEnd(w2)}  ${whatIsMissing(t)}`.trimEnd());
    out.push("");
  }
  if (r.targets.length === 0) out.push("no targets selected", "");
  out.push(`${summaryLine(r)}${r.closure ? " (runtime closures checked)" : ""}`);
  out.push(`caches: ${r.caches.join(", ")}`);
  out.push(signatureNote(r));
  return `${out.join("\n")}\n`;
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** Markdown for `$GITHUB_STEP_SUMMARY`: a heading, counts, and a table per system. */
export function formatMarkdownSummary(r: VerifyReport): string {
  const icon = r.complete ? "✅" : "❌";
  const out = [
    `## ${icon} nixcache verify: ${r.complete ? "every target is in the cache" : "targets missing from the cache"}`,
    "",
    `${summaryLine(r)}${r.closure ? " (runtime closures checked)" : ""}. Caches: ${r.caches.map((c) => `\`${c}\``).join(", ")}; ${signatureNote(r)}.`,
    "",
  ];
  for (const [system, ts] of bySystem(r.targets)) {
    out.push(`### ${system}`, "", "| target | status | missing |", "|---|---|---|");
    for (const t of ts) {
      out.push(
        `| \`${mdEscape(t.attr)}\` | ${t.status === "ok" ? "ok" : `**${LABEL[t.status]}**`} | ${mdEscape(whatIsMissing(t))} |`,
      );
    }
    out.push("");
  }
  return `${out.join("\n")}\n`;
}

/** The `--json` document. */
export function reportJson(r: VerifyReport): unknown {
  return r;
}

/** The line that says `verify --wait` is still waiting (CI logs are not terminals: always printed). */
export function waitProgressLine(p: {
  incomplete: number;
  total: number;
  nextInMs: number;
  remainingMs: number;
}): string {
  return (
    `${p.incomplete} of ${p.total} targets not yet in the cache; ` +
    `checking again in ${formatDuration(p.nextInMs)} (gives up in ${formatDuration(p.remainingMs)})`
  );
}
