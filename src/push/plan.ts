import type { WritableBinaryCache } from "../caches/types.js";
import type { PathInfo } from "../local-nix/path-info.js";
import { parseStorePath } from "../nix/store-path.js";

/** The closure split into what the cache lacks (dependencies first) and what it has. */
export interface PushPlan {
  closure: PathInfo[];
  toPush: PathInfo[];
  skipped: PathInfo[];
}

export async function planPush(cache: WritableBinaryCache, closure: PathInfo[]): Promise<PushPlan> {
  const hashOf = (p: PathInfo) => parseStorePath(p.path).hash;
  const missing = await cache.missing(closure.map(hashOf));
  const toPush = topoSort(closure.filter((p) => missing.has(hashOf(p))));
  const skipped = closure.filter((p) => !missing.has(hashOf(p)));
  return { closure, toPush, skipped };
}

/**
 * Orders paths so that each comes after the references it has among them (self-references and
 * references outside the set are ignored). Ties keep the input order, so output is stable.
 */
export function topoSort(paths: readonly PathInfo[]): PathInfo[] {
  const byPath = new Map(paths.map((p) => [p.path, p]));
  const state = new Map<string, "visiting" | "done">();
  const out: PathInfo[] = [];
  for (const root of paths) {
    if (state.has(root.path)) continue;
    // Iterative DFS: closures can be deep enough to overflow recursion.
    const stack: Array<{ p: PathInfo; i: number }> = [{ p: root, i: 0 }];
    state.set(root.path, "visiting");
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { p: PathInfo; i: number };
      const refs = top.p.references;
      if (top.i < refs.length) {
        const r = refs[top.i++] as string;
        const child = r === top.p.path ? undefined : byPath.get(r);
        if (!child) continue;
        const s = state.get(r);
        if (s === "visiting") throw new Error(`reference cycle through ${r}`);
        if (s === "done") continue;
        state.set(r, "visiting");
        stack.push({ p: child, i: 0 });
      } else {
        state.set(top.p.path, "done");
        out.push(top.p);
        stack.pop();
      }
    }
  }
  return out;
}
