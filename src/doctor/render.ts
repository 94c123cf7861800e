// The doctor's report for a terminal: data in, text out.
import type { DoctorReport } from "./doctor.js";

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

export function formatDoctorReport(r: DoctorReport): string {
  const out: string[] = [];
  out.push(`flake ${r.flake}${r.flakeFile ? ` (${r.flakeFile})` : ""}`, "", "substituters");
  if (r.substituters.length === 0) out.push("  (none configured)");
  const w = Math.max(0, ...r.substituters.map((s) => s.url.length)) + 2;
  for (const s of r.substituters) {
    const status = s.status === "ok" ? "ok" : s.status.toUpperCase();
    const cost = s.cost ? `; costs ${s.cost.text}` : "";
    out.push(
      `  ${pad(s.url, w)}${pad(status, 8)}${pad(`${s.ms} ms`, 9)}${s.reason}${cost} [${s.sources.join(", ")}]`,
    );
  }
  out.push("", "trusted public keys");
  if (r.keys.length === 0) out.push("  (none configured)");
  for (const k of r.keys) {
    const status = k.status === "ok" ? "ok" : k.status.toUpperCase();
    out.push(`  ${pad(k.name ?? k.key, 30)}${pad(status, 10)}${k.reason} [${k.sources.join(", ")}]`);
  }
  if (r.coverage) {
    out.push("", "coverage");
    if (r.coverage.error) out.push(`  not checked: ${r.coverage.error}`);
    else
      out.push(
        `  ${r.coverage.ok}/${r.coverage.total} targets substitutable and signed from the live caches`,
      );
    for (const m of r.coverage.missing) out.push(`  ${m.attr}: ${m.status}`);
  }
  if (r.warnings.length > 0) out.push("", "warnings", ...r.warnings.map((x) => `  - ${x}`));
  out.push("");
  if (r.fixes.length === 0) out.push("nothing to fix");
  else out.push(`${r.fixes.length} to fix:`, ...r.fixes.map((f, i) => `  ${i + 1}. ${f}`));
  return `${out.join("\n")}\n`;
}
