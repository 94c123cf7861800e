// What `nixcache doctor` learns from the live substituters: narinfos sampled through the target
// outputs and Nix's disk cache, the disk cache's stale copies and misses, and the keys the caches
// publish.
import { openCache } from "../caches/open.js";
import { publishedSigningKeys } from "../caches/published-keys.js";
import type { BinaryCache } from "../caches/types.js";
import { verifyNarInfo } from "../nix/narinfo.js";
import type { PublicKey } from "../nix/signing.js";
import { parseStorePath } from "../nix/store-path.js";
import { mapLimit } from "../util/limiter.js";
import { type KeyCheck, parseKeys, type Sample, type SubstituterCheck, signatureFacts } from "./checks.js";
import type { DiskCacheState } from "./disk-cache.js";
import { normUrl } from "./inputs.js";
import { type HiddenPath, metaDifference, type StaleMeta } from "./nix-checks.js";

/** A narinfo Nix keeps on disk unsigned while the cache serves it signed. */
export interface StaleDiskEntry {
  cache: string;
  storePath: string;
}

export interface LiveSamples {
  samples: Sample[];
  stale: StaleDiskEntry[];
  hidden: HiddenPath[];
  staleMeta: StaleMeta[];
}

/**
 * Samples each live cache (`probes` get their sample counts and signature facts) and compares
 * what it serves with what Nix's disk cache remembers of it.
 */
export async function sampleLiveCaches(
  liveUrls: readonly string[],
  probes: SubstituterCheck[],
  trusted: readonly PublicKey[],
  disk: DiskCacheState,
  targetHashes: readonly string[],
  opts: { sampleCount: number; netrc: string | undefined },
): Promise<LiveSamples> {
  const caches: BinaryCache[] = [];
  const out: LiveSamples = { samples: [], stale: [], hidden: [], staleMeta: [] };
  try {
    for (const url of liveUrls)
      caches.push(await openCache(url, { retry: { attempts: 1 }, netrcFile: opts.netrc }));
    await Promise.all(
      caches.map(async (c) => {
        const entries = disk.positive.get(c.url) ?? disk.positive.get(normUrl(c.url)) ?? [];
        const hashes = [...new Set([...targetHashes, ...entries.map((e) => e.hashPart)])].slice(
          0,
          opts.sampleCount,
        );
        const got = await sampleCache(c, hashes);
        out.samples.push(...got);
        const check = probes.find((p) => normUrl(p.url) === normUrl(c.url));
        if (check) Object.assign(check, { samples: got.length }, signatureFacts(got, trusted));
        // The disk cache's copies that lack a signature the cache now serves (the server signed on
        // ingest after `nix copy` stored what it uploaded): Nix reads the copy, not the server.
        const unsigned = entries.filter((e) => verifyNarInfo(e.narInfo, trusted).length === 0).slice(0, 32);
        const served = await sampleCache(
          c,
          unsigned.map((e) => e.hashPart),
        );
        for (const s of served) {
          const copy = unsigned.find((e) => s.narInfo.storePath === e.narInfo.storePath);
          if (copy && s.narInfo.sigs.some((sig) => !copy.narInfo.sigs.includes(sig)))
            out.stale.push({ cache: check?.url ?? c.url, storePath: s.narInfo.storePath });
        }
        // Misses Nix still believes (narinfo-cache-negative-ttl) for paths the cache has now.
        const misses = (disk.negative.get(c.url) ?? disk.negative.get(normUrl(c.url)) ?? []).slice(0, 32);
        const found = await sampleCache(
          c,
          misses.map((m) => m.hashPart),
        );
        for (const f of found) {
          const hash = parseStorePath(f.narInfo.storePath).hash;
          const miss = misses.find((m) => m.hashPart === hash);
          if (miss)
            out.hidden.push({
              cache: check?.url ?? c.url,
              storePath: f.narInfo.storePath,
              missingSince: miss.timestamp,
            });
        }
        const meta = disk.meta.get(c.url) ?? disk.meta.get(normUrl(c.url));
        if (meta && check?.cacheInfo && metaDifference(meta, check.cacheInfo) !== null)
          out.staleMeta.push({ cache: check.url, cached: meta, live: check.cacheInfo });
      }),
    );
  } finally {
    await Promise.all(caches.map((c) => c.close()));
  }
  return out;
}

async function sampleCache(cache: BinaryCache, hashes: readonly string[]): Promise<Sample[]> {
  const found = await mapLimit(hashes, 8, async (h) => {
    try {
      return await cache.getNarInfo(h);
    } catch {
      return null;
    }
  });
  return found.filter((n) => n !== null).map((narInfo) => ({ cache: cache.url, narInfo }));
}

/**
 * What the caches say their keys are, for the caches that need one (a wrong key, or none
 * trusted): only keys that really verify what the cache serves. By cache URL.
 */
export async function publishedKeys(
  keys: readonly KeyCheck[],
  probes: readonly SubstituterCheck[],
  samples: readonly Sample[],
  timeoutMs: number,
): Promise<Map<string, string[]>> {
  const wanting = new Set([
    ...keys.filter((k) => k.status === "wrong").flatMap((k) => k.caches),
    ...probes.filter((p) => p.trustedBy !== null && p.trustedBy.length === 0).map((p) => p.url),
  ]);
  const knownKeys = new Map<string, string[]>();
  await Promise.all(
    [...wanting].map(async (url) => {
      const published = await publishedSigningKeys(url, { timeoutMs });
      const mine = samples.filter((s) => normUrl(s.cache) === normUrl(url));
      const real = published.filter((text) => {
        const [k] = parseKeys([{ key: text, sources: [] }]);
        return (
          k?.parsed !== undefined &&
          mine.some((s) => verifyNarInfo(s.narInfo, [k.parsed as PublicKey]).length > 0)
        );
      });
      if (real.length > 0) knownKeys.set(url, real);
    }),
  );
  return knownKeys;
}
