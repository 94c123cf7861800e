// The doctor's checks of what differs between Nix versions (pure: runDoctor gathers, these say
// what it means and how to fix it on this version):
// - a flake's nixConfig setting this Nix does not know (it warns "unknown setting" and ignores it);
// - narinfos Nix remembers as missing (`narinfo-cache-negative-ttl`) that the cache now serves: a
//   fresh push this machine's Nix will not substitute until the entry expires;
// - a cache's `nix-cache-info` Nix keeps (7 days; forever before 2.10; `narinfo-cache-meta-ttl`
//   from 2.34) that no longer says what the cache says;
// and the commands that clear each, for the Nix at hand.

import { type MetaTtl, type NixVersion, narinfoMetaTtl } from "../local-nix/nix-version.js";
import type { CacheInfo } from "../nix/cache-info.js";
import type { Finding } from "./checks.js";
import type { DiskCacheMeta } from "./disk-cache.js";

export interface NixFacts {
  /** Undefined: `nix --version` named no version nixcache reads. */
  version: NixVersion | undefined;
  /** "Nix 2.35.2", "Lix 2.93.0", ... */
  text: string;
  /** Nix's narinfo disk cache file for this version. */
  diskFile: string;
}

/** Settings whose first release the release notes name (for saying what to upgrade to). */
const SETTING_SINCE: Record<string, string> = {
  "always-allow-substitutes": "Nix 2.19",
  "narinfo-cache-meta-ttl": "Nix 2.34",
};

/** The flake's nixConfig settings the local Nix does not know (`known`: what `nix config show` lists). */
export function unknownSettingFindings(
  flakeSettings: readonly string[],
  known: ReadonlySet<string>,
  nix: NixFacts,
): Finding[] {
  const out: Finding[] = [];
  for (const key of flakeSettings) {
    const base = key.replace(/^extra-/, "");
    if (known.has(base)) continue;
    const since = SETTING_SINCE[base];
    out.push({
      fix:
        `the flake's nixConfig sets \`${key}\`, which ${nix.text} does not know: it warns "unknown setting '${key}'" and ignores it` +
        (since
          ? `; \`${base}\` needs ${since} or later: upgrade Nix on this machine`
          : "; upgrade Nix on this machine, or drop the setting"),
      ops: [],
      edits: [],
    });
  }
  return out;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** `nix` with what the new CLI needs on installs where it is still experimental. */
function nixCli(v: NixVersion | undefined): string {
  return v?.implementation === "determinate" ? "nix" : "nix --extra-experimental-features nix-command";
}

/** A store path Nix remembers as missing from `cache`, though the cache serves it now. */
export interface HiddenPath {
  cache: string;
  storePath: string;
  /** Unix seconds when Nix found it missing. */
  missingSince: number;
}

/** Pushes this machine's Nix will not see until its negative entries expire, and how to clear them. */
export function negativeCacheFindings(
  hidden: readonly HiddenPath[],
  negativeTtlS: number,
  nix: NixFacts,
): Finding[] {
  const byCache = new Map<string, HiddenPath[]>();
  for (const h of hidden) byCache.set(h.cache, [...(byCache.get(h.cache) ?? []), h]);
  return [...byCache].map(([cache, hs]) => {
    const until = Math.max(...hs.map((h) => h.missingSince)) + negativeTtlS;
    const paths = hs.map((h) => h.storePath);
    const shown = paths.slice(0, 3).join(" ") + (paths.length > 3 ? " ..." : "");
    return {
      fix:
        `${nix.text} on this machine remembers ${hs.length} path${hs.length === 1 ? "" : "s"} as missing from ${cache} that it serves now ` +
        `(e.g. ${paths[0]}; narinfo-cache-negative-ttl = ${negativeTtlS} s, until ${new Date(until * 1000).toISOString()}): ` +
        "it builds them instead of substituting; make it look again: " +
        `${nixCli(nix.version)} path-info --refresh --store ${cache} ${shown}, ` +
        `or delete the misses: sqlite3 ${nix.diskFile} "DELETE FROM NARs WHERE present = 0 AND cache IN (SELECT id FROM BinaryCaches WHERE url = ${quote(cache.replace(/\/+$/, ""))})", ` +
        "or pass --option narinfo-cache-negative-ttl 0",
      ops: [],
      edits: [],
    };
  });
}

/** A cache whose `nix-cache-info` Nix remembers differently from what the cache says now. */
export interface StaleMeta {
  cache: string;
  cached: DiskCacheMeta;
  live: CacheInfo;
}

/** Whether what Nix remembers of nix-cache-info differs from the live answer, in words (null: same). */
export function metaDifference(cached: DiskCacheMeta, live: CacheInfo): string | null {
  const diffs: string[] = [];
  if (cached.storeDir !== live.storeDir) diffs.push(`StoreDir ${cached.storeDir}, now ${live.storeDir}`);
  if (cached.wantMassQuery !== live.wantMassQuery)
    diffs.push(`WantMassQuery ${cached.wantMassQuery ? 1 : 0}, now ${live.wantMassQuery ? 1 : 0}`);
  // A cache that names no priority gets Nix's default, 50.
  const livePriority = live.priority ?? 50;
  if (cached.priority !== livePriority) diffs.push(`Priority ${cached.priority}, now ${livePriority}`);
  return diffs.length > 0 ? diffs.join("; ") : null;
}

function metaKept(ttl: MetaTtl, cached: DiskCacheMeta, settingS: number | undefined): string {
  if (ttl.kind === "forever") return "and keeps it forever (Nix before 2.10 never refreshes nix-cache-info)";
  const s = ttl.kind === "fixed" ? ttl.seconds : (settingS ?? 7 * 24 * 3600);
  const why = ttl.kind === "fixed" ? "7 days, fixed in this version" : `narinfo-cache-meta-ttl = ${s} s`;
  return `and keeps it until ${new Date((cached.timestamp + s) * 1000).toISOString()} (${why})`;
}

/** nix-cache-info Nix keeps that the cache no longer says, and the command that refreshes it here. */
export function metaCacheFindings(
  stale: readonly StaleMeta[],
  metaTtlSettingS: number | undefined,
  nix: NixFacts,
): Finding[] {
  const ttl = narinfoMetaTtl(nix.version);
  const out: Finding[] = [];
  for (const s of stale) {
    const diff = metaDifference(s.cached, s.live);
    if (diff === null) continue;
    const url = s.cache.replace(/\/+$/, "");
    const clear =
      ttl.kind === "setting"
        ? `${nixCli(nix.version)} store info --refresh --store ${url}`
        : `sqlite3 ${nix.diskFile} "DELETE FROM BinaryCaches WHERE url = ${quote(url)}"`;
    out.push({
      fix:
        `${nix.text} on this machine uses the nix-cache-info of ${s.cache} it read on ${new Date(s.cached.timestamp * 1000).toISOString()} ` +
        `(${diff}) ${metaKept(ttl, s.cached, metaTtlSettingS)}: refresh it: ${clear}`,
      ops: [],
      edits: [],
    });
  }
  return out;
}

/** How to ask this Nix whether the daemon trusts the user, in words (for the untrusted-user finding). */
export function trustQueryWords(v: NixVersion | undefined): string {
  if (v === undefined) return "`nix store info` (or `nix store ping`) says Trusted";
  if (v.implementation === "lix") return "`nix store ping` says Trusted";
  const [maj, min] = v.version;
  if (maj > 2 || min >= 20) return "`nix store info` says Trusted";
  if (min >= 15) return "`nix store ping` says Trusted";
  return "Nix before 2.15 cannot say; `trusted-users` in /etc/nix/nix.conf decides";
}
