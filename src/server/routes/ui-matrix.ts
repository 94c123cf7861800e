// A report's targets as the coverage matrix: one row per target (the attribute with its system
// taken out: `packages.x86_64-linux.hello` → `packages.hello`), one column per system. Pure.
import {
  CELL_STATUSES,
  type MatrixCell,
  type ReportTargetUpload,
  type StatusCounts,
} from "../../ui-api/types.js";

/** The parts of an attribute path, `"`-quoted parts unquoted (`a."b.c"` → [a, b.c]). */
export function attrParts(attr: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < attr.length; i++) {
    const c = attr[i] as string;
    if (quoted) {
      if (c === "\\" && i + 1 < attr.length) cur += attr[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ".") {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_'-]*$/;

function joinParts(parts: readonly string[]): string {
  return parts.map((p) => (PLAIN.test(p) ? p : JSON.stringify(p))).join(".");
}

/** The row a target belongs to: its attribute without the system part (where it has one). */
export function targetRow(attr: string, system: string): string {
  const parts = attrParts(attr);
  if (parts.length >= 3 && parts[1] === system) return joinParts([parts[0] as string, ...parts.slice(2)]);
  return attr;
}

export function countStatuses(targets: readonly Pick<ReportTargetUpload, "status">[]): StatusCounts {
  const c = Object.fromEntries(CELL_STATUSES.map((s) => [s, 0])) as StatusCounts;
  c.total = targets.length;
  for (const t of targets) c[t.status]++;
  return c;
}

export function reportMatrix(targets: readonly ReportTargetUpload[]): {
  systems: string[];
  rows: Array<{ target: string; cells: Record<string, MatrixCell> }>;
} {
  const systems = new Set<string>();
  const rows = new Map<string, Record<string, MatrixCell>>();
  for (const t of targets) {
    systems.add(t.system);
    const row = targetRow(t.attr, t.system);
    // Keyed by a system the uploader names: no prototype, so `__proto__` is a system like any other.
    const cells = rows.get(row) ?? (Object.create(null) as Record<string, MatrixCell>);
    rows.set(row, cells);
    const cell: MatrixCell = {
      status: t.status,
      attr: t.attr,
      outPath: t.outPath,
      missing: t.missing,
      missingCount: t.missingCount,
      unsigned: t.unsigned,
      unsignedCount: t.unsignedCount,
    };
    if (t.detail !== undefined) cell.detail = t.detail;
    if (t.drvPath !== undefined) cell.drvPath = t.drvPath;
    cells[t.system] = cell;
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    systems: [...systems].sort(byName),
    rows: [...rows].sort(([a], [b]) => byName(a, b)).map(([target, cells]) => ({ target, cells })),
  };
}
