import { parseStorePath } from "../nix/store-path.js";
import type { Target } from "./resolve.js";

/** The `system` column for targets named by store path: no flake, so no system is known. */
export const STORE_PATH_SYSTEM = "store paths";

/**
 * Targets for store paths given directly (`nixcache verify --path`), e.g. what `nix build` just
 * produced, so the guard can run without evaluating a flake. Paths need not exist locally.
 */
export function storePathTargets(paths: readonly string[]): Target[] {
  const seen = new Set<string>();
  const out: Target[] = [];
  for (const p of paths) {
    const sp = parseStorePath(p);
    if (seen.has(sp.path)) continue;
    seen.add(sp.path);
    out.push({
      attr: sp.base,
      system: STORE_PATH_SYSTEM,
      name: sp.name,
      outPath: sp.path,
      outputs: { out: sp.path },
      drvPath: null,
    });
  }
  return out;
}
