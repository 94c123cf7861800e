// Turning what a user names (cache URLs, keys, upstreams) into what `build` runs with.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { cacheToken } from "../caches/credentials.js";
import { openCache } from "../caches/open.js";
import type { NixConfig } from "../local-nix/nix-config.js";
import { type PublicKey, parsePublicKey, publicKeyOf, type SecretKey } from "../nix/signing.js";
import type { PushOptions } from "../push/session.js";
import type { Target } from "../targets/resolve.js";
import { NixcacheError } from "../util/errors.js";
import { keysFrom, NIXOS_CACHE, NIXOS_CACHE_KEY, trustedKeysFor, type Upstream } from "./trust.js";
import type { BuildOptions, PushTarget } from "./types.js";

export interface PushCacheOptions {
  token?: string;
  netrcFile?: string;
  cachixApi?: string;
  /** Keys trusted for every push cache (besides what each advertises). */
  trustedKeys?: readonly PublicKey[];
  /** The key pushes are signed with: its signatures count as trusted too. */
  signingKey?: SecretKey;
  /** Nix's settings (their trusted keys count too); may still be on their way from Nix. */
  nixConfig?: NixConfig | Promise<NixConfig>;
  connections?: number;
}

/** Parses `name:base64` public keys, naming the flag and position of a bad one. */
export function parsePublicKeys(texts: readonly string[], flag: string): PublicKey[] {
  return texts.map((k, i) => {
    try {
      return parsePublicKey(k);
    } catch (e) {
      throw new NixcacheError("usage", `${flag} #${i + 1}: ${(e as Error).message}`);
    }
  });
}

/** Opens each push cache and works out the keys it is trusted to sign with. */
export async function openPushTargets(
  urls: readonly string[],
  o: PushCacheOptions = {},
): Promise<PushTarget[]> {
  // Awaited only once a cache is opened: opening needs nothing of Nix's settings.
  const given = Promise.resolve(o.nixConfig).then((nixConfig) => [
    ...(o.trustedKeys ?? []),
    ...(o.signingKey ? [publicKeyOf(o.signingKey)] : []),
    ...keysFrom(nixConfig?.trustedPublicKeys ?? []),
  ]);
  given.catch(() => {});
  const seen = new Set<string>();
  const out: PushTarget[] = [];
  try {
    for (const url of urls) {
      if (seen.has(url)) throw new NixcacheError("usage", `--push ${url} is given twice`);
      seen.add(url);
      let cache: PushTarget["cache"];
      const token = cacheToken(url, o.token);
      try {
        cache = await openCache(url, {
          token,
          netrcFile: o.netrcFile,
          cachixApi: o.cachixApi,
          connections: o.connections ?? 16,
        });
      } catch (e) {
        throw new NixcacheError("usage", `--push ${url}: ${(e as Error).message}`);
      }
      out.push({ cache, trustedKeys: await trustedKeysFor(cache, given, token) });
    }
  } catch (e) {
    await Promise.all(out.map((p) => p.cache.close()));
    throw e;
  }
  return out;
}

export interface UpstreamChoice {
  /** Upstream cache URLs; undefined means the default. */
  urls?: readonly string[];
  keys?: readonly PublicKey[];
  /** `--no-upstream`. */
  disabled?: boolean;
}

/**
 * The upstream caches whose signed paths are not pushed. Default: cache.nixos.org with its key
 * when the machine's Nix substitutes from it. An upstream is trusted with the given keys, the
 * keys the machine's Nix trusts, and cache.nixos.org's own key for cache.nixos.org.
 */
export async function openUpstreams(choice: UpstreamChoice, nixConfig: NixConfig): Promise<Upstream[]> {
  if (choice.disabled) return [];
  const norm = (u: string) => u.replace(/\/+$/, "");
  const urls = choice.urls ?? (nixConfig.substituters.map(norm).includes(NIXOS_CACHE) ? [NIXOS_CACHE] : []);
  const machine = keysFrom(nixConfig.trustedPublicKeys);
  const out: Upstream[] = [];
  for (const url of urls) {
    const keys = [...(choice.keys ?? []), ...machine];
    if (norm(url) === NIXOS_CACHE) keys.push(parsePublicKey(NIXOS_CACHE_KEY));
    if (keys.length === 0)
      throw new NixcacheError(
        "usage",
        `--upstream ${url} needs --upstream-key (paths are only left out when signed by a key you trust)`,
      );
    let cache: Upstream["cache"];
    try {
      cache = await openCache(url, {});
    } catch (e) {
      throw new NixcacheError("usage", `--upstream ${url}: ${(e as Error).message}`);
    }
    out.push({ cache, keys });
  }
  return out;
}

export interface BuildSetup {
  /** Caches to push to. */
  push: readonly string[];
  /** The evaluated targets; absent, `build` evaluates them (or the caller sets them on the options). */
  targets?: Target[];
  /**
   * Nix's settings; may be a promise still on its way from Nix (the push caches are opened, and
   * their client loaded, meanwhile).
   */
  nixConfig: NixConfig | Promise<NixConfig>;
  token?: string;
  netrcFile?: string;
  cachixApi?: string;
  trustedKeys?: readonly PublicKey[];
  signingKey?: SecretKey;
  upstream?: UpstreamChoice;
  /** Where per-target logs go; default a new temporary directory. */
  logDir?: string;
  keepGoing?: boolean;
  requirePush?: boolean;
  compression?: PushOptions["compression"];
  compressionLevel?: number;
  /** NAR uploads in flight per cache. */
  jobs?: number;
  maxJobs?: string;
  cores?: string;
}

export interface PreparedBuild {
  options: BuildOptions;
  /** Closes the push caches and upstreams (call once the build has run). */
  close: () => Promise<void>;
}

/**
 * What the CLI and the Action both do before `build`/`ci`: open the push caches (with the keys
 * each is trusted with) and the upstreams, and put the options together.
 */
export async function prepareBuild(s: BuildSetup): Promise<PreparedBuild> {
  const jobs = s.jobs ?? 8;
  let push: PushTarget[] = [];
  let upstreams: Upstream[] = [];
  const close = async () => {
    await Promise.all([...push.map((p) => p.cache.close()), ...upstreams.map((u) => u.cache.close())]);
  };
  try {
    push = await openPushTargets(s.push, {
      token: s.token,
      netrcFile: s.netrcFile,
      cachixApi: s.cachixApi,
      trustedKeys: s.trustedKeys,
      signingKey: s.signingKey,
      nixConfig: s.nixConfig,
      connections: Math.max(16, jobs * 2),
    });
    upstreams = await openUpstreams(s.upstream ?? {}, await s.nixConfig);
  } catch (e) {
    await close();
    throw e;
  }
  const logDir = s.logDir ?? (await mkdtemp(path.join(tmpdir(), "nixcache-logs-")));
  const options: BuildOptions = {
    nixConfig: await s.nixConfig,
    push,
    upstreams,
    keepGoing: s.keepGoing === true,
    logDir,
    requirePush: s.requirePush === true,
    pushOptions: {
      compression: s.compression ?? "zstd",
      level: s.compressionLevel,
      jobs,
      signingKey: s.signingKey,
    },
  };
  if (s.targets !== undefined) options.targets = s.targets;
  if (s.maxJobs !== undefined) options.maxJobs = s.maxJobs;
  if (s.cores !== undefined) options.cores = s.cores;
  return { options, close };
}
