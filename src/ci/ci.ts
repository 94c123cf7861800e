// `nixcache ci`: targets → build → push → verify (with closures), one report. The verify step
// reads back from the caches what the build pushed, through the same lookups `verify` uses, so
// "CI passed" means a fresh machine substitutes every target.
import { build } from "../build/build.js";
import { type BuildOptions, type BuildReport, type TargetOutcome, targetOutcome } from "../build/types.js";
import type { TargetStatus, VerifyReport } from "../verify/verify.js";
import { verifyTargets } from "../verify/verify.js";

/** A target's build outcome with what verify found for it afterwards. */
export interface CiTarget extends TargetOutcome {
  /** What verify found in the caches afterwards (targets of every system are checked). */
  verify: TargetStatus;
  /** Closure paths no cache has, or that are unsigned. */
  missing: string[];
  error?: string;
}

export interface CiReport {
  targets: CiTarget[];
  build: BuildReport;
  verify: VerifyReport;
  /** Each target's derivation (by index, as `targets`), for the dashboard's links to build logs. */
  drvPaths: Array<string | null>;
  summary: {
    ok: boolean;
    /** Buildable targets that are not substitutable after the run. */
    notSubstitutable: number;
    /** Targets of other systems that the caches do not (yet) have. */
    otherSystemsMissing: number;
  };
}

export type CiOptions = BuildOptions & { verifyConcurrency?: number };

export async function ci(opts: CiOptions): Promise<CiReport> {
  const b = await build(opts);
  const targets = opts.targets ?? [];
  const keys = new Map<string, (typeof opts.push)[number]["trustedKeys"][number]>();
  for (const p of opts.push)
    for (const k of p.trustedKeys) keys.set(`${k.name}:${k.key.toString("base64")}`, k);
  for (const u of opts.upstreams ?? [])
    for (const k of u.keys) keys.set(`${k.name}:${k.key.toString("base64")}`, k);
  const v = await verifyTargets(targets, {
    caches: [...opts.push.map((p) => p.cache), ...(opts.upstreams ?? []).map((u) => u.cache)],
    trustedKeys: [...keys.values()],
    closure: true,
    concurrency: opts.verifyConcurrency ?? 32,
  });
  const merged: CiTarget[] = b.targets.map((t, i) => {
    const check = v.targets[i];
    const out: CiTarget = {
      ...targetOutcome(t),
      verify: check?.status ?? "error",
      missing: [...(check?.missing ?? []), ...(check?.unsigned ?? [])],
    };
    const error = t.error ?? (check?.status !== "ok" ? check?.error : undefined);
    if (error !== undefined) out.error = error;
    return out;
  });
  const here = merged.filter((t) => t.status !== "not-built-here");
  const notSubstitutable = here.filter((t) => t.verify !== "ok").length;
  const otherSystemsMissing = merged.filter((t) => t.status === "not-built-here" && t.verify !== "ok").length;
  return {
    targets: merged,
    build: b,
    verify: v,
    drvPaths: b.targets.map((_, i) => targets[i]?.drvPath ?? null),
    summary: { ok: b.summary.ok && notSubstitutable === 0, notSubstitutable, otherSystemsMissing },
  };
}
