// Pins as both metadata stores keep them: `pins` (name, what it keeps, how many revisions it has:
// a counter the database keeps) and `pin_entries` (its revisions; the newest is the latest
// created_at, then the highest id).
import type { PinKeep, PinRow } from "./types.js";

/**
 * Artifacts one revision may name, and the length of each (paths inside a store path). Only the
 * newest revision of a pin keeps its artifacts (what Cachix serves a pin's files from), so these
 * bound a pin's as well: a writer adding revisions adds no artifacts to the pin.
 */
export const PIN_ARTIFACTS = 100;
export const PIN_ARTIFACT_LENGTH = 1024;
/** Revisions a listing of pins shows of each (newest first); a pin's own page has them all. */
export const PIN_LISTED_REVISIONS = 10;

/** Why `artifacts` cannot be a revision's, or undefined. */
export function artifactsProblem(artifacts: readonly string[]): string | undefined {
  if (artifacts.length > PIN_ARTIFACTS)
    return `a pin revision names at most ${PIN_ARTIFACTS} artifacts, not ${artifacts.length}`;
  const long = artifacts.findIndex((a) => a.length > PIN_ARTIFACT_LENGTH);
  if (long >= 0)
    return `artifact ${long + 1} is ${artifacts[long]?.length} characters long, more than the ${PIN_ARTIFACT_LENGTH} an artifact may have`;
  return undefined;
}

export interface RawPinRow {
  name: string;
  keep_revisions: number | null;
  keep_days: number | null;
  created_at: number;
  revision_count: number;
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
      pin = {
        cache,
        name: r.name,
        keep,
        createdAt: r.created_at,
        revisions: [],
        revisionCount: Number(r.revision_count),
      };
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
