// Upstream caches for the closure rule. A narinfo is served only once its whole closure is, but a
// build pushes only what its upstream (cache.nixos.org) does not already serve: references it
// left out are present upstream, not missing. When a commit leaves references missing, this asks
// the upstreams for them (a narinfo signed by the upstream's key, for that very store path) and
// records those found, which releases every narinfo that was waiting only for them. What no
// upstream has stays missing until it is pushed; a periodic pass re-asks about those.
import type { Pool } from "undici";
import { Pools } from "../http/pool.js";
import { request } from "../http/request.js";
import { NarInfoError, parseNarInfo, verifyNarInfo } from "../nix/narinfo.js";
import { NIXOS_CACHE, NIXOS_CACHE_KEY } from "../nix/nixos-cache.js";
import { type PublicKey, parsePublicKey } from "../nix/signing.js";
import { parseStorePath } from "../nix/store-path.js";
import { NixcacheError } from "../util/errors.js";
import { limiter } from "../util/limiter.js";
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
  now?: () => number;
  onError?: (e: unknown) => void;
}

export class UpstreamResolver {
  private readonly pools = new Pools({ connections: 8 });
  private readonly limit;
  private readonly absentUntil = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<boolean>>();
  private readonly work = new Set<Promise<unknown>>();
  private readonly negativeTtlMs: number;
  private readonly complainedAt = new Map<string, number>();
  private readonly now: () => number;
  private readonly trusted: Array<{ url: string; keys: PublicKey[] }>;

  constructor(
    private readonly meta: Pick<MetadataStore, "markUpstream" | "pendingReferences">,
    readonly upstreams: readonly Upstream[],
    private readonly opts: ResolverOptions = {},
  ) {
    this.limit = limiter(opts.concurrency ?? 8);
    this.negativeTtlMs = opts.negativeTtlMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
    this.trusted = upstreams.map((u) => ({ url: u.url, keys: u.keys.map((k) => parsePublicKey(k)) }));
  }

  /** Looks the references up in the background (commits do not wait on upstreams). */
  enqueue(cache: string, hashes: readonly string[]): void {
    if (this.upstreams.length === 0 || hashes.length === 0) return;
    const job = this.resolve(cache, hashes).catch((e) => this.opts.onError?.(e));
    this.work.add(job);
    void job.finally(() => this.work.delete(job));
  }

  /** Marks those of `hashes` that an upstream serves; returns them. */
  async resolve(cache: string, hashes: readonly string[]): Promise<string[]> {
    const found = (
      await Promise.all(
        [...new Set(hashes)].map(async (h) => ((await this.servedUpstream(h)) ? h : undefined)),
      )
    ).filter((h): h is string => h !== undefined);
    if (found.length > 0) await this.meta.markUpstream(cache, found);
    return found;
  }

  /** One pass over what pending narinfos still wait for (the periodic recheck). */
  async recheck(limit = 10_000): Promise<number> {
    if (this.upstreams.length === 0) return 0;
    const pending = await this.meta.pendingReferences(undefined, limit);
    const byCache = new Map<string, string[]>();
    for (const p of pending) byCache.set(p.cache, [...(byCache.get(p.cache) ?? []), p.hash]);
    let n = 0;
    for (const [cache, hashes] of byCache) n += (await this.resolve(cache, hashes)).length;
    return n;
  }

  /** Waits for background lookups, then closes the connections. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.work]);
    await this.pools.close();
  }

  private servedUpstream(hash: string): Promise<boolean> {
    if ((this.absentUntil.get(hash) ?? 0) > this.now()) return Promise.resolve(false);
    let p = this.inflight.get(hash);
    if (!p) {
      p = this.limit.run(() => this.lookAll(hash)).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, p);
    }
    return p;
  }

  private async lookAll(hash: string): Promise<boolean> {
    for (const u of this.trusted) if (await this.lookOne(u, hash)) return true;
    if (this.absentUntil.size > 100_000) this.absentUntil.clear();
    this.absentUntil.set(hash, this.now() + this.negativeTtlMs);
    return false;
  }

  /** Whether `u` serves a narinfo for `hash` signed by one of its keys; errors count as no. */
  private async lookOne(u: { url: string; keys: PublicKey[] }, hash: string): Promise<boolean> {
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
          refused: (status, _b, what) => new Error(`${what}: HTTP ${status}`),
        },
        { attempts: 2 },
      );
      if (res.status !== 200) return false;
      const ni = parseNarInfo(res.body.toString("utf8"));
      if (parseStorePath(ni.storePath).hash !== hash) return false;
      return verifyNarInfo(ni, u.keys).length > 0;
    } catch (e) {
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
