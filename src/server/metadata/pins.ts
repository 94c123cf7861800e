// Pins as both metadata stores keep them: `pins` (name, what it keeps) and `pin_entries` (its
// revisions; the newest is the latest created_at, then the highest id).
import type { PinKeep, PinRow } from "./types.js";

export interface RawPinRow {
  name: string;
  keep_revisions: number | null;
  keep_days: number | null;
  created_at: number;
  hash: string | null;
  store_path: string | null;
  artifacts: string | null;
  added_at: number | null;
}

/** `keep_revisions`, `keep_days` for a PinKeep. */
export function keepColumns(k: PinKeep): [number | null, number | null] {
  if (k === "all") return [null, null];
  return "revisions" in k ? [k.revisions, null] : [null, k.days];
}

/** Pins from rows ordered by name, then newest revision first. */
export function pinsFromRows(cache: string, rows: readonly RawPinRow[]): PinRow[] {
  const pins: PinRow[] = [];
  for (const r of rows) {
    let pin = pins.at(-1);
    if (pin?.name !== r.name) {
      const keep: PinKeep =
        r.keep_revisions !== null
          ? { revisions: r.keep_revisions }
          : r.keep_days !== null
            ? { days: r.keep_days }
            : "all";
      pin = { cache, name: r.name, keep, createdAt: r.created_at, revisions: [] };
      pins.push(pin);
    }
    if (r.hash !== null && r.store_path !== null)
      pin.revisions.push({
        hash: r.hash,
        storePath: r.store_path,
        artifacts: JSON.parse(r.artifacts ?? "[]") as string[],
        createdAt: r.added_at ?? r.created_at,
      });
  }
  return pins;
}
