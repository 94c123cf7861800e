import type { Target } from "../targets/resolve.js";
import { bySystem } from "./by-system.js";

/** `nixcache targets`' table: per system, each target's attribute and output path (or its error). */
export function formatTargetsTable(targets: readonly Target[]): string {
  const out: string[] = [];
  for (const [system, ts] of bySystem(targets)) {
    out.push(`${system} (${ts.length})\n`);
    const w = Math.max(...ts.map((t) => t.attr.length));
    for (const t of ts)
      out.push(`  ${t.attr.padEnd(w)}  ${t.error !== undefined ? `error: ${t.error}` : t.outPath}\n`);
  }
  if (targets.length === 0) out.push("no targets selected\n");
  return out.join("");
}
