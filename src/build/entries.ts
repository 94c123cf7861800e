// The targets as a build tracks them: each evaluated target beside its line in the report.
import type { Target } from "../targets/resolve.js";
import type { BuildTarget } from "./types.js";

export interface Entry {
  t: Target;
  r: BuildTarget;
}

/** Each target's first status: evaluation failed, to build here, or for another machine. */
export function initialEntries(targets: readonly Target[], buildable: ReadonlySet<string>): Entry[] {
  return targets.map((t) => ({
    t,
    r: {
      attr: t.attr,
      system: t.system,
      status:
        t.error !== undefined || t.outPath === null
          ? "eval-failed"
          : buildable.has(t.system)
            ? "built"
            : "not-built-here",
      outPath: t.outPath,
      push: {},
      log: null,
      ...(t.error !== undefined ? { error: t.error } : {}),
    },
  }));
}

export function outputsOf(t: Target): string[] {
  return t.outputs ? Object.values(t.outputs) : t.outPath ? [t.outPath] : [];
}
