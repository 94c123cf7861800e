// `nixcache doctor`'s coverage check: whether the target set is substitutable, and signed, from
// the live caches (what `nixcache verify` says in detail).
import { openCache } from "../caches/open.js";
import type { BinaryCache } from "../caches/types.js";
import type { PublicKey } from "../nix/signing.js";
import { resolveTargets, type Target } from "../targets/resolve.js";
import { errorMessage } from "../util/errors.js";
import { verifyTargets } from "../verify/verify.js";

export interface CoverageCheck {
  total: number;
  ok: number;
  complete: boolean;
  /** Targets not substitutable and signed from the live caches, by attribute. */
  missing: Array<{ attr: string; status: string }>;
  error?: string;
}

export interface EvaluatedTargets {
  targets: Target[];
  /** Why the target set could not be evaluated. */
  error?: string;
}

/** The target set, evaluated (while the substituters are probed); never rejects. */
export function evaluateTargets(flake: string, cwd: string): Promise<EvaluatedTargets> {
  return resolveTargets({ flake, cwd }).then(
    (r) => ({ targets: r.targets }),
    (e: unknown) => ({ targets: [], error: errorMessage(e) }),
  );
}

/** The coverage, with a warning when the targets cannot be evaluated or some are not covered. */
export async function coverageCheck(
  evaluated: EvaluatedTargets,
  urls: readonly string[],
  trusted: readonly PublicKey[],
  netrcFile: string | undefined,
  warnings: string[],
): Promise<CoverageCheck> {
  if (evaluated.error !== undefined) {
    warnings.push(`the target set could not be evaluated: ${evaluated.error}`);
    return { total: 0, ok: 0, complete: false, missing: [], error: evaluated.error };
  }
  const coverage = await checkCoverage(evaluated.targets, urls, trusted, netrcFile);
  if (!coverage.complete && coverage.total > 0)
    warnings.push(
      `${coverage.total - coverage.ok} of ${coverage.total} targets are not substitutable from the live caches (nixcache verify says which)`,
    );
  return coverage;
}

async function checkCoverage(
  targets: readonly Target[],
  urls: readonly string[],
  trusted: readonly PublicKey[],
  netrcFile: string | undefined,
): Promise<CoverageCheck> {
  const caches: BinaryCache[] = [];
  try {
    for (const u of urls) caches.push(await openCache(u, { retry: { attempts: 1 }, netrcFile }));
    const r = await verifyTargets(targets, { caches, trustedKeys: trusted });
    return {
      total: r.counts.total,
      ok: r.counts.ok,
      complete: r.complete,
      missing: r.targets.filter((t) => t.status !== "ok").map((t) => ({ attr: t.attr, status: t.status })),
    };
  } finally {
    await Promise.all(caches.map((c) => c.close()));
  }
}
