// Upstream caches for the closure rule. A narinfo is served only once its whole closure is, but a
// build pushes only what its upstream (cache.nixos.org) does not already serve: references it
// left out are present upstream, not missing. When a commit leaves references missing, this asks
// the upstreams for them (a narinfo signed by the upstream's key, for that very store path) and
// records those found, which releases every narinfo that was waiting only for them. What no
// upstream has stays missing until it is pushed; a periodic pass re-asks about those.
//
// A slow upstream and a flood of references it lacks must not cost memory, hide a fresh push or
// hold up shutdown: the references waiting to be asked about are de-duplicated and bounded (the
// oldest beyond the bound are dropped: they stay pending in the database, and the periodic pass
// owns them), the newest are asked about first (a push is looked up at once, whatever the
// backlog), the periodic pass goes only where fresh pushes leave room, and closing aborts what is
// being asked.
import type { Pool } from "undici";
import { Pools } from "../http/pool.js";
import { request } from "../http/request.js";
import { NarInfoError, parseNarInfo, verifyNarInfo } from "../nix/narinfo.js";
import { NIXOS_CACHE, NIXOS_CACHE_KEY } from "../nix/nixos-cache.js";
import { type PublicKey, parsePublicKey } from "../nix/signing.js";
import { parseStorePath } from "../nix/store-path.js";
import { NixcacheError } from "../util/errors.js";
import type { MetadataStore } from "./metadata/store.js";

/** What a server uses when not told: cache.nixos.org, as `nixcache build` leaves its paths out. */
export function defaultUpstreams(): Upstream[] {
  return [{ url: NIXOS_CACHE, keys: [NIXOS_CACHE_KEY] }];
}

/** Plain data (it crosses to the workers of `serve --workers` as JSON). */
export interface Upstream {
  url: string;
  /** A narinfo counts only when signed by one of these (`name:base64`). */
  keys: string[];
}

/** `--upstream URL` (repeatable) with `--upstream-key KEY` (repeatable, trusted for all of them). */
export function parseUpstreams(urls: readonly string[], keys: readonly string[]): Upstream[] {
  for (const k of keys) {
    try {
      parsePublicKey(k);
    } catch (e) {
      throw new NixcacheError("usage", `--upstream-key ${JSON.stringify(k)}: ${(e as Error).message}`);
    }
  }
  return urls.map((raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new NixcacheError("usage", `--upstream ${raw}: not a URL`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new NixcacheError("usage", `--upstream ${raw}: must be http:// or https://`);
    if (keys.length === 0)
      throw new NixcacheError(
        "usage",
        `--upstream ${raw} needs --upstream-key: a path counts as served upstream only when signed by a key you trust`,
      );
    return { url: raw.replace(/\/+$/, ""), keys: [...keys] };
  });
}

export interface ResolverOptions {
  /** Upstream lookups at once (default 8). */
  concurrency?: number;
  /** How long "no upstream has it" is believed before asking again (default 10 minutes). */
  negativeTtlMs?: number;
  /** References kept waiting to be asked about (default 10,000); the oldest beyond are dropped. */
  maxQueued?: number;
  now?: () => number;
  onError?: (e: unknown) => void;
}

export const DEFAULT_MAX_QUEUED_LOOKUPS = 10_000;

/** A reference to ask about, and the caches whose narinfos wait for it. */
interface Wanted {
  caches: Set<string>;
  /** Its place in the stack: the latest push of it (older places are stale). */
  seq: number;
}

/** One pass of the periodic recheck: what it still has to ask about, and its outcome so far. */
interface Pass {
  todo: Array<[string, Set<string>]>;
  next: number;
  active: number;
  found: number;
  done: (found: number) => void;
}

export class UpstreamResolver {
  private readonly pools = new Pools({ connections: 8 });
  private readonly aborter = new AbortController();
  private closed = false;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  /** Fresh references by hash, and a stack of them (newest last; stale places skipped). */
  private readonly wanted = new Map<string, Wanted>();
  private stack: Array<{ hash: string; seq: number }> = [];
  /** Where the stack's live part begins (below: dropped, compacted away now and then). */
  private bottom = 0;
  private seq = 0;
  private pass: Pass | undefined;
  /** Lookups being made, by hash, with the caches waiting for each. */
  private readonly inflight = new Map<string, Set<string>>();
  private readonly running = new Set<Promise<void>>();
  private droppedCount = 0;
  private readonly absentUntil = new Map<string, number>();
  private readonly negativeTtlMs: number;
  private readonly complainedAt = new Map<string, number>();
  private readonly now: () => number;
  private readonly trusted: Array<{ url: string; keys: PublicKey[] }>;

  constructor(
    private readonly meta: Pick<MetadataStore, "markUpstream" | "pendingReferences">,
    readonly upstreams: readonly Upstream[],
    private readonly opts: ResolverOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 8;
    this.maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED_LOOKUPS;
    this.negativeTtlMs = opts.negativeTtlMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
    this.trusted = upstreams.map((u) => ({ url: u.url, keys: u.keys.map((k) => parsePublicKey(k)) }));
  }

  /** References waiting to be asked about (not counting the periodic pass's). */
  get queued(): number {
    return this.wanted.size;
  }

  /** References dropped from the queue over its bound (left to the periodic pass). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Looks the references up in the background (commits do not wait on upstreams), newest first. */
  enqueue(cache: string, hashes: readonly string[]): void {
    if (this.upstreams.length === 0 || this.closed) return;
    for (const hash of hashes) {
      if (this.knownAbsent(hash)) continue;
      const asking = this.inflight.get(hash);
      if (asking) {
        asking.add(cache);
        continue;
      }
      const w = this.wanted.get(hash);
      const seq = ++this.seq;
      if (w) {
        w.caches.add(cache);
        w.seq = seq;
      } else this.wanted.set(hash, { caches: new Set([cache]), seq });
      this.stack.push({ hash, seq });
    }
    this.trim();
    this.pump();
  }

  /**
   * One pass over what pending narinfos still wait for (the periodic recheck), asked about when
   * fresh pushes leave room; resolves with the number found once done, or at close.
   */
  async recheck(limit = 10_000): Promise<number> {
    if (this.upstreams.length === 0 || this.closed || this.pass) return 0;
    const pending = await this.meta.pendingReferences(undefined, limit);
    if (this.closed) return 0;
    const byHash = new Map<string, Set<string>>();
    for (const p of pending) {
      const caches = byHash.get(p.hash) ?? new Set<string>();
      caches.add(p.cache);
      byHash.set(p.hash, caches);
    }
    return new Promise<number>((done) => {
      this.pass = { todo: [...byHash], next: 0, active: 0, found: 0, done };
      this.pump();
    });
  }

  /** Aborts what is being asked and drops what waits, then closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    this.wanted.clear();
    this.stack = [];
    this.bottom = 0;
    this.finishPass();
    this.aborter.abort(new Error("the server is shutting down"));
    await Promise.allSettled([...this.running]);
    await this.pools.close();
  }

  private knownAbsent(hash: string): boolean {
    return (this.absentUntil.get(hash) ?? 0) > this.now();
  }

  /** Drops the oldest fresh references over the bound, and stale places from the stack. */
  private trim(): void {
    while (this.wanted.size > this.maxQueued && this.bottom < this.stack.length) {
      const e = this.stack[this.bottom++] as { hash: string; seq: number };
      if (this.wanted.get(e.hash)?.seq !== e.seq) continue;
      this.wanted.delete(e.hash);
      this.droppedCount++;
    }
    if (
      this.stack.length - this.bottom > 2 * this.wanted.size + 1024 ||
      this.bottom > this.stack.length / 2
    ) {
      this.stack = this.stack.slice(this.bottom).filter((e) => this.wanted.get(e.hash)?.seq === e.seq);
      this.bottom = 0;
    }
  }

  /** The newest fresh reference, taken off the queue. */
  private takeFresh(): [string, Set<string>] | undefined {
    while (this.stack.length > this.bottom) {
      const e = this.stack.pop() as { hash: string; seq: number };
      const w = this.wanted.get(e.hash);
      if (w?.seq !== e.seq) continue;
      this.wanted.delete(e.hash);
      return [e.hash, w.caches];
    }
    return undefined;
  }

  /** The periodic pass's next reference not asked about or known absent already. */
  private takeRechecked(pass: Pass): [string, Set<string>] | undefined {
    while (pass.next < pass.todo.length) {
      const [hash, caches] = pass.todo[pass.next++] as [string, Set<string>];
      const asking = this.inflight.get(hash) ?? this.wanted.get(hash)?.caches;
      if (asking) for (const c of caches) asking.add(c);
      else if (!this.knownAbsent(hash)) return [hash, caches];
    }
    return undefined;
  }

  /** Starts lookups while there are free slots: fresh references first, then the periodic pass's. */
  private pump(): void {
    while (!this.closed && this.inflight.size < this.concurrency) {
      const fresh = this.takeFresh();
      const pass = fresh ? undefined : this.pass;
      const next = fresh ?? (pass ? this.takeRechecked(pass) : undefined);
      if (!next) break;
      const [hash, caches] = next;
      this.inflight.set(hash, caches);
      if (pass) pass.active++;
      const run = this.lookup(hash, caches).then((found) => {
        this.inflight.delete(hash);
        this.running.delete(run);
        if (pass) {
          pass.active--;
          if (found) pass.found++;
        }
        this.pump();
      });
      this.running.add(run);
    }
    const pass = this.pass;
    if (pass && pass.next >= pass.todo.length && pass.active === 0) this.finishPass();
  }

  private finishPass(): void {
    const pass = this.pass;
    this.pass = undefined;
    pass?.done(pass.found);
  }

  /** Asks the upstreams about `hash`; marks it present for `caches` (which may grow meanwhile). */
  private async lookup(hash: string, caches: Set<string>): Promise<boolean> {
    try {
      if (!(await this.lookAll(hash)) || this.closed) return false;
      for (const cache of caches) await this.meta.markUpstream(cache, [hash]);
      return true;
    } catch (e) {
      if (!this.closed) this.opts.onError?.(e);
      return false;
    }
  }

  private async lookAll(hash: string): Promise<boolean> {
    for (const u of this.trusted) if (await this.lookOne(u, hash)) return true;
    if (this.closed) return false;
    if (this.absentUntil.size > 100_000) this.absentUntil.clear();
    this.absentUntil.set(hash, this.now() + this.negativeTtlMs);
    return false;
  }

  /** Whether `u` serves a narinfo for `hash` signed by one of its keys; errors count as no. */
  private async lookOne(u: { url: string; keys: PublicKey[] }, hash: string): Promise<boolean> {
    if (this.closed) return false;
    const base = new URL(u.url);
    const pool: Pool = this.pools.get(base.origin);
    const path = `${base.pathname.replace(/\/+$/, "")}/${hash}.narinfo`;
    try {
      const res = await request(
        pool,
        {
          method: "GET",
          path,
          what: `GET ${base.origin}${path}`,
          ok: [200, 404],
          signal: this.aborter.signal,
          refused: (status, _b, what) => new Error(`${what}: HTTP ${status}`),
        },
        { attempts: 2 },
      );
      if (res.status !== 200) return false;
      const ni = parseNarInfo(res.body.toString("utf8"));
      if (parseStorePath(ni.storePath).hash !== hash) return false;
      return verifyNarInfo(ni, u.keys).length > 0;
    } catch (e) {
      if (this.closed) return false;
      // An unreachable upstream fails every lookup: said once a minute, not once per path.
      const last = this.complainedAt.get(u.url) ?? 0;
      if (!(e instanceof NarInfoError) && this.now() - last > 60_000) {
        this.complainedAt.set(u.url, this.now());
        this.opts.onError?.(
          new Error(
            `upstream ${u.url} could not be asked (paths waiting for it stay hidden): ${(e as Error).message}`,
          ),
        );
      }
      return false;
    }
  }
}
