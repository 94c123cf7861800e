// Text for a terminal: data in, text out.
import type { MigrationReport, MigrationStatus, RollbackReport } from "./runner.js";

export function formatMigrationReport(r: MigrationReport): string {
  const lines = [`migrate ${r.command}: ${r.from} → ${r.to}`];
  for (const s of r.steps) {
    lines.push(`  [${s.status}${s.resumed ? ", earlier" : ""}] ${s.title}: ${s.detail}`);
    const verb = s.status === "done" ? "did" : "will";
    if (s.status !== "done" || r.command === "apply")
      for (const a of s.actions)
        lines.push(`      ${s.status === "done" && s.resumed ? "" : `${verb}: `}${a}`);
    for (const [i, m] of (s.manualSteps ?? []).entries()) lines.push(`      by hand ${i + 1}. ${m}`);
    if (s.remedy) lines.push(`      fix: ${s.remedy}`);
  }
  lines.push(r.complete ? "migration complete" : `state: ${r.stateFile}`);
  return `${lines.join("\n")}\n`;
}

export function formatStatus(s: MigrationStatus): string {
  if (!s.state) return `no migration under way (no ${s.stateFile})\n`;
  const st = s.state;
  const lines = [`migration ${st.from} → ${st.to}, started ${st.startedAt}, updated ${st.updatedAt}`];
  for (const [id, rec] of Object.entries(st.steps))
    lines.push(`  ${id}: ${rec.status} (${rec.at}) ${rec.detail}`);
  for (const f of st.files)
    lines.push(`  file ${f.path}: ${f.created ? "created" : `changed (original in ${f.backup})`}`);
  for (const r of st.remote)
    lines.push(
      `  remote: ${r.kind} ${r.name} on ${r.where}${r.branch !== undefined ? ` (${r.branch})` : ""}`,
    );
  return `${lines.join("\n")}\n`;
}

export function formatRollback(r: RollbackReport): string {
  const lines = [
    ...r.restored.map((f) => `restored ${f}`),
    ...r.removed.map((f) => `removed ${f}`),
    ...r.undone.map((u) => `undone: ${u}`),
    ...r.notUndone.map((n) => `not undone: ${n.undo}`),
  ];
  lines.push("rollback done; the migration's state is gone");
  return `${lines.join("\n")}\n`;
}
