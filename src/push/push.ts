// The upload pipeline: closure → what the cache lacks → NAR (verified against the Nix database)
// → compress → upload, with `jobs` NARs in flight. `push` is one push session fed once; see
// session.ts for the ordering guarantee (a narinfo only after its references').
import type { WritableBinaryCache } from "../caches/types.js";
import { queryPathInfos } from "../local-nix/path-info.js";
import { DEFAULT_STORE_DIR } from "../nix/store-path.js";
import { planPush } from "./plan.js";
import { type PushOptions, PushSession, type PushSummary } from "./session.js";

export type { PushEvent, PushOptions, PushSummary } from "./session.js";
export { uploadInfo } from "./session.js";

/** Pushes the runtime closures of `paths`. Per-path failures are reported, not thrown. */
export async function push(
  cache: WritableBinaryCache,
  paths: readonly string[],
  opts: PushOptions & { dryRun?: boolean } = {},
): Promise<PushSummary> {
  const closure = await queryPathInfos(paths, { recursive: true });
  if (!opts.dryRun) {
    const session = new PushSession(cache, opts);
    await session.add(paths, closure);
    return session.summary;
  }
  const info = await cache.cacheInfo().catch(() => undefined);
  if (info && info.storeDir !== DEFAULT_STORE_DIR)
    throw new Error(`${cache.url} is a cache for store ${info.storeDir}, not ${DEFAULT_STORE_DIR}`);
  const plan = await planPush(cache, closure);
  const narBytes = plan.toPush.reduce((n, p) => n + p.narSize, 0);
  opts.onEvent?.({
    type: "planned",
    closure: closure.length,
    toPush: plan.toPush.length,
    skipped: plan.skipped.length,
    narBytes,
  });
  return {
    cache: cache.url,
    dryRun: true,
    pushed: plan.toPush.map((p) => p.path),
    skipped: plan.skipped.map((p) => p.path),
    filtered: [],
    failed: [],
    narBytes,
    fileBytes: 0,
    compression: opts.compression ?? "zstd",
  };
}
