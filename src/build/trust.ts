// Which keys a push cache is trusted to sign with, and the upstream filter.
import type { BinaryCache } from "../caches/types.js";
import type { PathInfo } from "../local-nix/path-info.js";
import { type PublicKey, parsePublicKey } from "../nix/signing.js";
import { parseStorePath } from "../nix/store-path.js";
import { PathLookup } from "../verify/lookup.js";

/** cache.nixos.org is the default upstream when the machine's Nix uses it. */
export { NIXOS_CACHE, NIXOS_CACHE_KEY } from "../nix/nixos-cache.js";

/** The well-formed keys among `texts` (a malformed one can vouch for nothing). */
export function keysFrom(texts: readonly string[]): PublicKey[] {
  const out: PublicKey[] = [];
  for (const t of texts) {
    try {
      out.push(parsePublicKey(t));
    } catch {
      // A malformed key vouches for nothing: left out.
    }
  }
  return out;
}

/**
 * The public keys a cache says it signs with (its `advertisedKeys`: a Cachix cache's API, what an
 * HTTP cache publishes); a cache that cannot say, or fails to, advertises none.
 */
export async function advertisedKeys(cache: BinaryCache, token?: string): Promise<PublicKey[]> {
  if (!cache.advertisedKeys) return [];
  return keysFrom(await cache.advertisedKeys(token).catch((): string[] => []));
}

/** The keys trusted for a push cache: the given ones and what it advertises, without repeats. */
export async function trustedKeysFor(
  cache: BinaryCache,
  given: readonly PublicKey[] | Promise<readonly PublicKey[]>,
  token?: string,
): Promise<PublicKey[]> {
  const [known, advertised] = await Promise.all([given, advertisedKeys(cache, token)]);
  const all = [...known, ...advertised];
  const seen = new Set<string>();
  return all.filter((k) => {
    const id = `${k.name}:${k.key.toString("base64")}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export interface Upstream {
  cache: BinaryCache;
  keys: PublicKey[];
}

/**
 * The upstream filter: of these paths, those an upstream cache serves signed by its key, so
 * that pushing them again would only copy nixpkgs into the project's cache. Each upstream
 * answers once per path, however many push caches ask.
 */
export class UpstreamFilter {
  private readonly lookups: PathLookup[];

  constructor(readonly upstreams: readonly Upstream[]) {
    this.lookups = upstreams.map((u) => new PathLookup([u.cache], u.keys, 32));
  }

  async served(paths: readonly PathInfo[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (this.lookups.length === 0) return out;
    await Promise.all(
      paths.map(async (p) => {
        const hash = parseStorePath(p.path).hash;
        for (const l of this.lookups) {
          if ((await l.lookup(hash)).state === "ok") {
            out.add(p.path);
            return;
          }
        }
      }),
    );
    return out;
  }
}
