// The build's first phase: which push caches can be used at all, and which targets they all hold
// already (signed by a key they are trusted with), so they need neither a build nor a push.
import { parseStorePath } from "../nix/store-path.js";
import type { Target } from "../targets/resolve.js";
import { errorMessage } from "../util/errors.js";
import { PathLookup } from "../verify/lookup.js";
import { type Entry, outputsOf } from "./entries.js";
import type { BuildEvent, PushTarget } from "./types.js";

/** Per push cache (by index): why it cannot be used, and whether that was told (`cache-down`). */
export interface CacheHealth {
  down: Array<string | undefined>;
  reported: Set<number>;
}

/**
 * A cache that cannot be used is found out once, up front, not once per lookup and upload (each
 * of which would wait out its own retries). With nothing to build, no cache is asked.
 */
export async function probePushCaches(
  push: readonly PushTarget[],
  needed: boolean,
  emit: (e: BuildEvent) => void,
): Promise<CacheHealth> {
  const down = await Promise.all(
    push.map((p) =>
      !needed
        ? undefined
        : p.cache.ensureCacheInfo().then(
            () => undefined,
            (e: unknown) => errorMessage(e),
          ),
    ),
  );
  const reported = new Set<number>();
  down.forEach((reason, i) => {
    const url = push[i]?.cache.url;
    if (reason === undefined || url === undefined) return;
    reported.add(i);
    emit({ type: "cache-down", cache: url, reason });
  });
  return { down, reported };
}

/**
 * Marks the candidates every push cache holds `cached` (and `already` in each cache that holds
 * them); returns the others, those to build.
 */
export async function skipCached(
  push: readonly PushTarget[],
  candidates: readonly Entry[],
  health: CacheHealth,
): Promise<Entry[]> {
  const cachedIn = await Promise.all(
    push.map(async (p, i) => {
      if (health.down[i] !== undefined) return new Set<Target>();
      const lookup = new PathLookup([p.cache], p.trustedKeys, 32);
      const held = new Set<Target>();
      await Promise.all(
        candidates.map(async ({ t }) => {
          const states = await Promise.all(
            outputsOf(t).map((o) => lookup.lookup(parseStorePath(o).hash).then((l) => l.state)),
          );
          if (states.every((s) => s === "ok")) held.add(t);
        }),
      );
      return held;
    }),
  );
  return candidates.filter(({ t, r }) => {
    push.forEach((p, i) => {
      if (cachedIn[i]?.has(t)) r.push[p.cache.url] = "already";
    });
    const cached = push.length > 0 && cachedIn.every((held) => held.has(t));
    if (cached) r.status = "cached";
    return !cached;
  });
}
