import type { BinaryCache } from "../caches/types.js";
import type { NarInfo } from "../nix/narinfo.js";
import { verifyNarInfo } from "../nix/narinfo.js";
import type { PublicKey } from "../nix/signing.js";
import { parseStorePath } from "../nix/store-path.js";
import { type Limiter, limiter } from "../util/limiter.js";

/** What the caches, asked in order, say about one store path. */
export type Lookup =
  | { state: "ok"; cache: string; narInfo: NarInfo; keys: string[] }
  | { state: "unsigned"; caches: string[]; narInfo: NarInfo }
  | { state: "missing"; problems: string[] };

/**
 * Looks store paths up in several caches, the way a Nix substituter list does: the first cache
 * whose narinfo is signed by a trusted key wins (with no trusted keys, the first that has it).
 * Each hash is looked up once however many targets share it: lookups are memoised as promises.
 */
export class PathLookup {
  private readonly memo = new Map<string, Promise<Lookup>>();
  private readonly limiter: Limiter;
  /** narinfo requests made, for reports and benchmarks. */
  requests = 0;

  constructor(
    private readonly caches: readonly BinaryCache[],
    private readonly trusted: readonly PublicKey[],
    concurrency = 32,
  ) {
    this.limiter = limiter(concurrency);
  }

  get checkSignatures(): boolean {
    return this.trusted.length > 0;
  }

  lookup(hash: string): Promise<Lookup> {
    let p = this.memo.get(hash);
    if (!p) {
      p = this.resolve(hash);
      this.memo.set(hash, p);
    }
    return p;
  }

  /** Forgets every answer that was not "ok", so a re-check asks the caches again for just those. */
  async forgetIncomplete(): Promise<void> {
    for (const [h, p] of this.memo) if ((await p).state !== "ok") this.memo.delete(h);
  }

  get size(): number {
    return this.memo.size;
  }

  private async resolve(hash: string): Promise<Lookup> {
    const problems: string[] = [];
    const unsignedIn: string[] = [];
    let unsigned: NarInfo | undefined;
    for (const cache of this.caches) {
      let ni: NarInfo | null;
      try {
        this.requests++;
        ni = await this.limiter.run(() => cache.getNarInfo(hash));
      } catch (e) {
        problems.push(`${cache.url}: ${(e as Error).message}`);
        continue;
      }
      if (ni === null) continue;
      let pathHash: string;
      try {
        pathHash = parseStorePath(ni.storePath).hash;
      } catch (e) {
        problems.push(`${cache.url}: narinfo for ${hash}: ${(e as Error).message}`);
        continue;
      }
      if (pathHash !== hash) {
        problems.push(`${cache.url}: narinfo for ${hash} describes ${ni.storePath}`);
        continue;
      }
      if (!this.checkSignatures) return { state: "ok", cache: cache.url, narInfo: ni, keys: [] };
      const keys = verifyNarInfo(ni, this.trusted);
      if (keys.length > 0) return { state: "ok", cache: cache.url, narInfo: ni, keys };
      unsignedIn.push(cache.url);
      unsigned ??= ni;
    }
    if (unsigned) return { state: "unsigned", caches: unsignedIn, narInfo: unsigned };
    return { state: "missing", problems };
  }
}
