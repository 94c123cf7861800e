// The upload pipeline: closure → what the cache lacks → NAR (verified against the Nix database)
// → compress → upload, with `jobs` NARs in flight. A narinfo is committed only after the
// narinfos of all references it has among the pushed paths, so the cache is consistent at every
// instant, and an interrupted push leaves nothing visible that is incomplete.

import type { StagedPath, UploadInfo, WritableBinaryCache } from "../caches/types.js";
import type { Compression } from "../codec/compression.js";
import { type PathInfo, queryPathInfos } from "../local-store/path-info.js";
import { narInfoFingerprint } from "../nix/narinfo.js";
import { type SecretKey, signDetached } from "../nix/signing.js";
import { DEFAULT_STORE_DIR, parseStorePath } from "../nix/store-path.js";
import { planPush } from "./plan.js";
import { checkNar, verifiedNar } from "./verified-nar.js";

export interface PushOptions {
  compression?: Compression;
  level?: number;
  /** Paths in flight (default 8). */
  jobs?: number;
  signingKey?: SecretKey;
  /** Plan only: report what would be pushed. */
  dryRun?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: PushEvent) => void;
}

export type PushEvent =
  | { type: "planned"; closure: number; toPush: number; skipped: number; narBytes: number }
  | { type: "started"; path: string }
  /** Uncompressed bytes read (negative when a failed attempt is retried). */
  | { type: "progress"; path: string; narBytes: number }
  | { type: "pushed"; path: string; narSize: number; fileSize: number }
  | { type: "failed"; path: string; error: string };

export interface PushSummary {
  cache: string;
  dryRun: boolean;
  /** Paths pushed (or, for a dry run, that would be). */
  pushed: string[];
  /** Already in the cache. */
  skipped: string[];
  failed: Array<{ path: string; error: string }>;
  /** Uncompressed NAR bytes of the pushed paths. */
  narBytes: number;
  /** Bytes stored after compression (0 for a dry run). */
  fileBytes: number;
  compression: Compression;
}

/** Pushes the runtime closures of `paths`. Per-path failures are reported, not thrown. */
export async function push(
  cache: WritableBinaryCache,
  paths: readonly string[],
  opts: PushOptions = {},
): Promise<PushSummary> {
  const compression = opts.compression ?? "zstd";
  const emit = opts.onEvent ?? (() => {});
  const closure = await queryPathInfos(paths, { recursive: true });
  const info = opts.dryRun ? await cache.cacheInfo().catch(() => undefined) : await cache.ensureCacheInfo();
  if (info && info.storeDir !== DEFAULT_STORE_DIR)
    throw new Error(`${cache.url} is a cache for store ${info.storeDir}, not ${DEFAULT_STORE_DIR}`);
  const plan = await planPush(cache, closure);
  const narTotal = plan.toPush.reduce((n, p) => n + p.narSize, 0);
  emit({
    type: "planned",
    closure: closure.length,
    toPush: plan.toPush.length,
    skipped: plan.skipped.length,
    narBytes: narTotal,
  });
  const summary: PushSummary = {
    cache: cache.url,
    dryRun: !!opts.dryRun,
    pushed: [],
    skipped: plan.skipped.map((p) => p.path),
    failed: [],
    narBytes: 0,
    fileBytes: 0,
    compression,
  };
  if (opts.dryRun) {
    summary.pushed = plan.toPush.map((p) => p.path);
    summary.narBytes = narTotal;
    return summary;
  }

  const jobs = Math.max(1, opts.jobs ?? 8);
  let running = 0;
  const waiting: Array<() => void> = [];
  const acquire = async () => {
    if (running < jobs) {
      running++;
      return;
    }
    await new Promise<void>((r) => waiting.push(r));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };

  // Settles when the path's narinfo is committed; rejects when it was not.
  const committed = new Map<string, Promise<void>>();
  const pushOne = async (p: PathInfo): Promise<void> => {
    let staged: StagedPath;
    await acquire();
    try {
      opts.signal?.throwIfAborted();
      emit({ type: "started", path: p.path });
      staged = await cache.uploadNar({
        info: uploadInfo(p, opts.signingKey),
        compression,
        level: opts.level,
        nar: () => verifiedNar(p.path, p),
        narSource: { fsPath: p.path, check: (size, hash) => checkNar(p.path, p, size, hash) },
        onProgress: (n) => emit({ type: "progress", path: p.path, narBytes: n }),
        signal: opts.signal,
      });
    } finally {
      release();
    }
    for (const r of p.references) {
      if (r === p.path) continue;
      const dep = committed.get(r);
      if (!dep) continue;
      try {
        await dep;
      } catch {
        throw new Error(`not published because its reference ${r} failed`);
      }
    }
    opts.signal?.throwIfAborted();
    // Not aborted once started: a narinfo is small, and the summary must say what is published.
    await staged.commit();
    summary.pushed.push(p.path);
    summary.narBytes += p.narSize;
    summary.fileBytes += staged.narInfo.fileSize ?? 0;
    emit({ type: "pushed", path: p.path, narSize: p.narSize, fileSize: staged.narInfo.fileSize ?? 0 });
  };

  // Started in dependency order, so the NARs of references tend to finish first.
  for (const p of plan.toPush) {
    const done = pushOne(p).catch((e: unknown) => {
      const error = opts.signal?.aborted ? "interrupted" : e instanceof Error ? e.message : String(e);
      summary.failed.push({ path: p.path, error });
      emit({ type: "failed", path: p.path, error });
      throw e;
    });
    done.catch(() => {});
    committed.set(p.path, done);
  }
  await Promise.allSettled(committed.values());
  return summary;
}

/** What a narinfo says about a path, with `key`'s signature added (other signatures kept). */
export function uploadInfo(p: PathInfo, key?: SecretKey): UploadInfo {
  const base = (full: string) => parseStorePath(full).base;
  const info: UploadInfo = {
    storePath: p.path,
    narHash: p.narHash,
    narSize: p.narSize,
    references: p.references.map(base).sort(),
    sigs: [...p.signatures],
  };
  if (p.deriver) info.deriver = base(p.deriver);
  if (p.ca) info.ca = p.ca;
  if (key) {
    const sig = signDetached(key, narInfoFingerprint(info));
    info.sigs = [...info.sigs.filter((s) => !s.startsWith(`${key.name}:`)), sig];
  }
  return info;
}
