// A push session: one cache, fed store paths over time (`nixcache build` adds each target's
// outputs as soon as they are built), each closure path uploaded at most once per session.
// Within a session a narinfo is committed only after the narinfos of every reference the session
// is pushing, whichever `add` brought them, so the cache is consistent at every instant.

import type { UploadInfo, WritableBinaryCache } from "../caches/types.js";
import type { Compression } from "../codec/compression.js";
import { type PathInfo, queryPathInfos } from "../local-nix/path-info.js";
import { narInfoFingerprint } from "../nix/narinfo.js";
import { type SecretKey, signDetached } from "../nix/signing.js";
import { DEFAULT_STORE_DIR, parseStorePath } from "../nix/store-path.js";
import { NixcacheError } from "../util/errors.js";
import { type Limiter, limiter } from "../util/limiter.js";
import { topoSort } from "./plan.js";
import { checkNar, verifiedNar } from "./verified-nar.js";

export interface PushOptions {
  compression?: Compression;
  level?: number;
  /** Paths in flight (default 8). */
  jobs?: number;
  signingKey?: SecretKey;
  signal?: AbortSignal;
  onEvent?: (e: PushEvent) => void;
  /**
   * Of the paths the cache lacks, those not to push because another cache already serves them
   * (the upstream filter of `nixcache build`).
   */
  exclude?: (paths: readonly PathInfo[]) => Promise<Set<string>>;
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
  /** Missing from the cache but served by an upstream cache, so not pushed. */
  filtered: string[];
  failed: Array<{ path: string; error: string }>;
  /** Uncompressed NAR bytes of the pushed paths. */
  narBytes: number;
  /** Bytes stored after compression (0 for a dry run). */
  fileBytes: number;
  compression: Compression;
}

/** What became of one closure path in this session. */
export type PathOutcome = "pushed" | "already" | "filtered";

/** What one `add` found for the closure it was given. */
export interface AddResult {
  outcomes: Map<string, PathOutcome>;
  failed: Array<{ path: string; error: string }>;
}

/** The cache itself could not be used (unreachable, refused the token, wrong store). */
export class CacheUnavailableError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class PushSession {
  readonly summary: PushSummary;
  /** Settles when the path is committed (or known present); rejects when it was not published. */
  private readonly states = new Map<string, Promise<PathOutcome>>();
  private prepared?: Promise<void>;
  private downReason?: string;
  /** NAR uploads in flight; a slot is held for the upload only, not the wait for references. */
  private readonly uploads: Limiter;
  private readonly emit: (e: PushEvent) => void;

  constructor(
    readonly cache: WritableBinaryCache,
    private readonly opts: PushOptions = {},
  ) {
    this.emit = opts.onEvent ?? (() => {});
    this.uploads = limiter(Math.max(1, opts.jobs ?? 8));
    this.summary = {
      cache: cache.url,
      dryRun: false,
      pushed: [],
      skipped: [],
      filtered: [],
      failed: [],
      narBytes: 0,
      fileBytes: 0,
      compression: opts.compression ?? "zstd",
    };
  }

  /** Why this cache cannot be used, once that is known (every later `add` fails with it). */
  get down(): string | undefined {
    return this.downReason;
  }

  /** Marks the cache unusable (found out elsewhere): every later `add` fails with `reason`. */
  markDown(reason: string): void {
    this.downReason ??= reason;
  }

  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const info = await this.cache.ensureCacheInfo();
      if (info.storeDir !== DEFAULT_STORE_DIR)
        throw new Error(`${this.cache.url} is a cache for store ${info.storeDir}, not ${DEFAULT_STORE_DIR}`);
    })();
    return this.prepared;
  }

  private fail(e: unknown): never {
    this.downReason ??= message(e);
    throw e instanceof CacheUnavailableError ? e : new CacheUnavailableError(message(e), { cause: e });
  }

  /**
   * Pushes the runtime closures of `paths` (or the given `closure`, already queried) and resolves
   * once every path of it is published or has failed. Paths an earlier `add` handles are not
   * uploaded again. Throws CacheUnavailableError when the cache cannot be used at all.
   */
  async add(paths: readonly string[], closure?: readonly PathInfo[]): Promise<AddResult> {
    if (this.downReason !== undefined) throw new CacheUnavailableError(this.downReason);
    const infos = closure ?? (await queryPathInfos(paths, { recursive: true }));
    try {
      await this.prepare();
    } catch (e) {
      this.fail(e);
    }
    const fresh = infos.filter((p) => !this.states.has(p.path));
    if (fresh.length > 0) await this.start(fresh, infos.length);
    const outcomes = new Map<string, PathOutcome>();
    const failed: AddResult["failed"] = [];
    await Promise.all(
      infos.map(async (p) => {
        try {
          outcomes.set(p.path, await (this.states.get(p.path) as Promise<PathOutcome>));
        } catch (e) {
          failed.push({ path: p.path, error: this.opts.signal?.aborted ? "interrupted" : message(e) });
        }
      }),
    );
    return { outcomes, failed };
  }

  /** Plans `fresh` (what the cache lacks, minus what upstream serves) and starts its uploads. */
  private async start(fresh: PathInfo[], closureSize: number): Promise<void> {
    const hashOf = (p: PathInfo) => parseStorePath(p.path).hash;
    let missing: Set<string>;
    let excluded = new Set<string>();
    try {
      missing = await this.cache.missing(fresh.map(hashOf));
    } catch (e) {
      this.fail(e);
    }
    const lacking = fresh.filter((p) => missing.has(hashOf(p)));
    if (this.opts.exclude && lacking.length > 0) excluded = await this.opts.exclude(lacking);
    // Registered synchronously (no await between here and the uploads) so that a concurrent
    // `add` of a shared path waits on this one instead of uploading it again.
    for (const p of fresh) {
      if (this.states.has(p.path)) continue;
      if (!missing.has(hashOf(p))) {
        this.summary.skipped.push(p.path);
        this.states.set(p.path, Promise.resolve("already"));
      } else if (excluded.has(p.path)) {
        this.summary.filtered.push(p.path);
        this.states.set(p.path, Promise.resolve("filtered"));
      }
    }
    const order = topoSort(lacking.filter((p) => !this.states.has(p.path)));
    this.emit({
      type: "planned",
      closure: closureSize,
      toPush: order.length,
      skipped: closureSize - order.length,
      narBytes: order.reduce((n, p) => n + p.narSize, 0),
    });
    for (const p of order) {
      const done = this.pushOne(p).catch((e: unknown) => {
        const error = this.opts.signal?.aborted ? "interrupted" : message(e);
        this.summary.failed.push({ path: p.path, error });
        this.emit({ type: "failed", path: p.path, error });
        throw e;
      });
      done.catch(() => {});
      this.states.set(p.path, done);
    }
  }

  private async pushOne(p: PathInfo): Promise<PathOutcome> {
    const { opts, cache } = this;
    const staged = await this.uploads.run(() => {
      opts.signal?.throwIfAborted();
      this.emit({ type: "started", path: p.path });
      return cache.uploadNar({
        info: uploadInfo(p, opts.signingKey),
        compression: this.summary.compression,
        level: opts.level,
        nar: () => verifiedNar(p.path, p),
        narSource: { fsPath: p.path, check: (size, hash) => checkNar(p.path, p, size, hash) },
        onProgress: (n) => this.emit({ type: "progress", path: p.path, narBytes: n }),
        signal: opts.signal,
      });
    });
    for (const r of p.references) {
      if (r === p.path) continue;
      const dep = this.states.get(r);
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
    this.summary.pushed.push(p.path);
    this.summary.narBytes += p.narSize;
    this.summary.fileBytes += staged.narInfo.fileSize ?? 0;
    this.emit({ type: "pushed", path: p.path, narSize: p.narSize, fileSize: staged.narInfo.fileSize ?? 0 });
    return "pushed";
  }
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
