// `nixcache doctor`: gathers what Nix would use (the flake's nixConfig, the local configuration,
// the substituters' answers, sampled narinfos, Nix's disk cache, the target set's coverage), runs
// the checks of checks.ts over it and returns one report. Printing is render.ts's; the exit status
// is `doctorExitCode`'s: one summary decides it.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openCache } from "../caches/open.js";
import { publishedSigningKeys } from "../caches/published-keys.js";
import type { BinaryCache } from "../caches/types.js";
import { resolveFlakeRef } from "../local-store/flake-eval.js";
import { type FlakeNixConfig, readFlakeNixConfig } from "../local-store/flake-nix-config.js";
import { nixVersion } from "../local-store/nix-command.js";
import { listOf, type NixConfig, readNixConfig, readStoreTrust } from "../local-store/nix-config.js";
import { describeNix, olderThanTested } from "../local-store/nix-version.js";
import { verifyNarInfo } from "../nix/narinfo.js";
import type { PublicKey } from "../nix/signing.js";
import { parseStorePath } from "../nix/store-path.js";
import { resolveTargets, type Target } from "../targets/resolve.js";
import { errorMessage, NixcacheError } from "../util/errors.js";
import { mapLimit } from "../util/limiter.js";
import { verifyTargets } from "../verify/verify.js";
import {
  type ConfigSource,
  checkKey,
  type Finding,
  type FlakeConfigTrust,
  flakeConfigFindings,
  type KeyCheck,
  keyFindings,
  parseKeys,
  type Sample,
  type SubstituterCheck,
  signatureFacts,
  substituterFindings,
} from "./checks.js";
import { type DiskCacheState, defaultDiskCacheFile, readDiskCacheState } from "./disk-cache.js";
import { type FileEdit, planEdits } from "./edits.js";
import {
  type HiddenPath,
  metaCacheFindings,
  metaDifference,
  type NixFacts,
  negativeCacheFindings,
  type StaleMeta,
  trustQueryWords,
  unknownSettingFindings,
} from "./nix-checks.js";
import { deadCost, probeSubstituter } from "./probe.js";

export interface DoctorOptions {
  /** Flake reference (default `.`). */
  flake?: string;
  cwd?: string;
  /** Deadline for each connection step (default 5 s). */
  timeoutMs?: number;
  /** A live cache slower than this is reported slow (default 2 s). */
  slowMs?: number;
  /** Evaluate the target set and check its coverage (default true). */
  coverage?: boolean;
  /** narinfos sampled per cache (default 8). */
  samples?: number;
  /** Nix's narinfo disk cache (default `$XDG_CACHE_HOME/nix/binary-cache-vN.sqlite`, N by Nix version). */
  diskCacheFile?: string;
  /** The local Nix configuration (default: read with `nix config show` / `nix show-config`). */
  nixConfig?: NixConfig;
  /** Whether the store trusts this user (default: asked with `nix store info`; undefined: cannot say). */
  storeTrusted?: boolean;
}

export interface CoverageCheck {
  total: number;
  ok: number;
  complete: boolean;
  /** Targets not substitutable and signed from the live caches, by attribute. */
  missing: Array<{ attr: string; status: string }>;
  error?: string;
}

/** A narinfo Nix keeps on disk unsigned while the cache serves it signed. */
export interface StaleDiskEntry {
  cache: string;
  storePath: string;
}

export interface DoctorReport {
  flake: string;
  /** flake.nix as named in edits, or null for a remote flake. */
  flakeFile: string | null;
  substituters: SubstituterCheck[];
  keys: KeyCheck[];
  /** Each thing to fix, in words, with the edit. Empty means all is well. */
  fixes: string[];
  /** Every fix that is an edit of flake.nix, planned together (one edit per line): apply these. */
  edits: FileEdit[];
  /** Worth knowing, nothing to fix (a slow cache, targets not yet pushed). */
  warnings: string[];
  nix: FlakeConfigTrust & {
    /** `nix --version` in words ("Nix 2.35.2", "Lix 2.93.0", ...). */
    version: string;
    downloadAttempts: number;
    connectTimeoutS: number;
  };
  coverage: CoverageCheck | null;
  diskCache: { file: string; stale: StaleDiskEntry[] };
}

/** 0 when nothing needs fixing, 1 otherwise. */
export function doctorExitCode(r: DoctorReport): number {
  return r.fixes.length > 0 ? 1 : 0;
}

function numberSetting(raw: Record<string, unknown>, name: string, fallback: number): number {
  const v = raw[name];
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : fallback;
}

function userGroups(user: string): string[] {
  try {
    const groups: string[] = [];
    for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
      const [name, , , members] = line.split(":");
      if (name && members?.split(",").includes(user)) groups.push(name);
    }
    return groups;
  } catch {
    return [];
  }
}

/**
 * Whether Nix lets this user set substituters: what the store says when it can (`storeTrusted`,
 * from `nix store info`), else single-user root or `trusted-users` of the configuration.
 */
export function flakeConfigTrust(
  c: NixConfig,
  user = os.userInfo(),
  storeTrusted?: boolean,
): FlakeConfigTrust {
  const trusted = listOf(c.raw["trusted-users"]);
  const groups = userGroups(user.username);
  const trustedUser =
    storeTrusted ??
    (user.uid === 0 ||
      trusted.includes("*") ||
      trusted.includes(user.username) ||
      groups.some((g) => trusted.includes(`@${g}`)));
  return {
    user: user.username,
    acceptFlakeConfig: c.raw["accept-flake-config"] === true || c.raw["accept-flake-config"] === "true",
    trustedUser,
    trustedSubstituters: listOf(c.raw["trusted-substituters"]),
  };
}

function merge<T extends string>(
  entries: Array<[T, ConfigSource]>,
): Array<{ key: T; sources: ConfigSource[] }> {
  const m = new Map<T, ConfigSource[]>();
  for (const [k, s] of entries) {
    const cur = m.get(k) ?? [];
    if (!cur.includes(s)) cur.push(s);
    m.set(k, cur);
  }
  return [...m].map(([key, sources]) => ({ key, sources }));
}

const normUrl = (u: string) => u.replace(/\/+$/, "");

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

/** Runs every check; never throws for what it finds, only when the flake cannot be read. */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const cwd = opts.cwd ?? process.cwd();
  const flakeRef = opts.flake ?? ".";
  const flake = resolveFlakeRef(flakeRef, cwd);
  if (flake === undefined) throw new NixcacheError("usage", `no flake.nix in ${flakeRef}`);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const sampleCount = opts.samples ?? 8;
  const [nixConf, flakeConf, version, storeTrusted] = await Promise.all([
    opts.nixConfig ? Promise.resolve(opts.nixConfig) : readNixConfig(),
    readFlakeNixConfig(flake),
    nixVersion(),
    "storeTrusted" in opts ? Promise.resolve(opts.storeTrusted) : readStoreTrust(),
  ]);
  const versionText = version ? describeNix(version) : "this Nix (an unrecognised version)";
  const flakeFile = flakeFileRef(flakeConf, cwd);
  const warnings: string[] = [];

  // Targets, evaluated while the substituters are probed.
  const targetsP: Promise<{ targets: Target[]; error?: string }> =
    opts.coverage === false
      ? Promise.resolve({ targets: [] })
      : resolveTargets({ flake: flakeRef, cwd }).then(
          (r) => ({ targets: r.targets }),
          (e: unknown) => ({ targets: [], error: errorMessage(e) }),
        );

  const subsIn = merge<string>([
    ...[...flakeConf.substituters, ...flakeConf.extraSubstituters].map((s): [string, ConfigSource] => [
      s,
      "flake",
    ]),
    ...nixConf.substituters.map((s): [string, ConfigSource] => [s, "nix.conf"]),
  ]);
  const attempts = numberSetting(nixConf.raw, "download-attempts", 5);
  const connectTimeoutS = numberSetting(nixConf.raw, "connect-timeout", 0);
  const netrc =
    typeof nixConf.raw["netrc-file"] === "string" ? (nixConf.raw["netrc-file"] as string) : undefined;
  const probes = await Promise.all(
    subsIn.map(async ({ key: url, sources }) => {
      const p = await probeSubstituter(url, { timeoutMs, slowMs: opts.slowMs, netrcFile: netrc });
      const check: SubstituterCheck = { ...p, sources, samples: 0, signedBy: [], trustedBy: null };
      if (p.status === "dead") {
        const hangS =
          p.stage === "cache-info"
            ? numberSetting(nixConf.raw, "stalled-download-timeout", 300)
            : connectTimeoutS > 0
              ? connectTimeoutS
              : 300;
        check.cost = deadCost(p, attempts, hangS);
      }
      return check;
    }),
  );

  const keysIn = parseKeys(
    merge<string>([
      ...[...flakeConf.trustedPublicKeys, ...flakeConf.extraTrustedPublicKeys].map(
        (k): [string, ConfigSource] => [k, "flake"],
      ),
      ...nixConf.trustedPublicKeys.map((k): [string, ConfigSource] => [k, "nix.conf"]),
    ]),
  );
  const trusted: PublicKey[] = keysIn.flatMap((k) => (k.parsed ? [k.parsed] : []));

  // Live caches: sampled through the target outputs and what Nix's disk cache says it saw there.
  const diskFile = opts.diskCacheFile ?? defaultDiskCacheFile(process.env, version ?? null);
  const nixFacts: NixFacts = { version, text: versionText, diskFile };
  const negativeTtlS = numberSetting(nixConf.raw, "narinfo-cache-negative-ttl", 3600);
  const liveUrls = probes
    .filter((p) => (p.status === "ok" || p.status === "slow") && p.stage === "done")
    .map((p) => p.url);
  let disk: DiskCacheState = { positive: new Map(), negative: new Map(), meta: new Map() };
  try {
    disk = await readDiskCacheState(diskFile, liveUrls, {
      positiveTtlS: numberSetting(nixConf.raw, "narinfo-cache-positive-ttl", 2592000),
      negativeTtlS,
    });
  } catch (e) {
    warnings.push(`cannot read Nix's narinfo disk cache ${diskFile}: ${errorMessage(e)}`);
  }
  const { targets, error: targetsError } = await targetsP;
  const targetHashes = targets.flatMap((t) => (t.outPath ? [parseStorePath(t.outPath).hash] : []));
  const caches: BinaryCache[] = [];
  const samples: Sample[] = [];
  const stale: StaleDiskEntry[] = [];
  const hidden: HiddenPath[] = [];
  const staleMeta: StaleMeta[] = [];
  try {
    for (const url of liveUrls)
      caches.push(await openCache(url, { retry: { attempts: 1 }, netrcFile: netrc }));
    await Promise.all(
      caches.map(async (c) => {
        const entries = disk.positive.get(c.url) ?? disk.positive.get(normUrl(c.url)) ?? [];
        const hashes = [...new Set([...targetHashes, ...entries.map((e) => e.hashPart)])].slice(
          0,
          sampleCount,
        );
        const got = await sampleCache(c, hashes);
        samples.push(...got);
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
            stale.push({ cache: check?.url ?? c.url, storePath: s.narInfo.storePath });
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
            hidden.push({
              cache: check?.url ?? c.url,
              storePath: f.narInfo.storePath,
              missingSince: miss.timestamp,
            });
        }
        const meta = disk.meta.get(c.url) ?? disk.meta.get(normUrl(c.url));
        if (meta && check?.cacheInfo && metaDifference(meta, check.cacheInfo) !== null)
          staleMeta.push({ cache: check.url, cached: meta, live: check.cacheInfo });
      }),
    );
  } finally {
    await Promise.all(caches.map((c) => c.close()));
  }

  const keys = keysIn.map((k) => checkKey(k, samples, probes));

  // What the caches say their keys are, for the caches that need one.
  const wanting = new Set([
    ...keys.filter((k) => k.status === "wrong").flatMap((k) => k.caches),
    ...probes.filter((p) => p.trustedBy !== null && p.trustedBy.length === 0).map((p) => p.url),
  ]);
  const knownKeys = new Map<string, string[]>();
  await Promise.all(
    [...wanting].map(async (url) => {
      const published = await publishedSigningKeys(url, { timeoutMs });
      const mine = samples.filter((s) => normUrl(s.cache) === normUrl(url));
      // Only keys that really verify what the cache serves.
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

  const trust = flakeConfigTrust(nixConf, os.userInfo(), storeTrusted);
  const hasFlakeSettings =
    flakeConf.substituters.length +
      flakeConf.extraSubstituters.length +
      flakeConf.trustedPublicKeys.length +
      flakeConf.extraTrustedPublicKeys.length >
    0;
  const findings: Finding[] = [
    ...substituterFindings(probes, keys, flakeFile, knownKeys),
    ...keyFindings(keys, probes, flakeFile, knownKeys),
    ...flakeConfigFindings(
      trust,
      [...flakeConf.substituters, ...flakeConf.extraSubstituters],
      hasFlakeSettings,
      storeTrusted === undefined ? undefined : trustQueryWords(version),
    ),
    ...unknownSettingFindings(Object.keys(flakeConf.raw), new Set(Object.keys(nixConf.raw)), nixFacts),
    ...negativeCacheFindings(hidden, negativeTtlS, nixFacts),
    ...metaCacheFindings(
      staleMeta,
      "narinfo-cache-meta-ttl" in nixConf.raw
        ? numberSetting(nixConf.raw, "narinfo-cache-meta-ttl", 604800)
        : undefined,
      nixFacts,
    ),
  ];
  const byCache = new Map<string, number>();
  for (const s of stale) byCache.set(s.cache, (byCache.get(s.cache) ?? 0) + 1);
  for (const [cache, n] of byCache)
    findings.push({
      fix:
        `Nix's narinfo disk cache (${diskFile}) holds ${n} unsigned narinfo${n === 1 ? "" : "s"} for ${cache} that the cache serves signed ` +
        `(what \`nix copy --to\` leaves behind): substituting from it on this machine fails with "not signed by any of the keys" until they expire; ` +
        `delete them: sqlite3 ${diskFile} "DELETE FROM NARs WHERE cache = (SELECT id FROM BinaryCaches WHERE url = '${cache}')", ` +
        `or run Nix with --option narinfo-cache-positive-ttl 0 (the file is ${versionText}'s)`,
      ops: [],
      edits: [],
    });

  for (const p of probes) if (p.status === "slow") warnings.push(`${p.url} is slow: ${p.reason}`);
  if (version && olderThanTested(version))
    warnings.push(`${versionText} is older than Nix 2.8, the oldest nixcache is tested with`);
  let coverage: CoverageCheck | null = null;
  if (opts.coverage !== false) {
    if (targetsError !== undefined) {
      coverage = { total: 0, ok: 0, complete: false, missing: [], error: targetsError };
      warnings.push(`the target set could not be evaluated: ${targetsError}`);
    } else {
      coverage = await checkCoverage(targets, liveUrls, trusted, netrc);
      if (!coverage.complete && coverage.total > 0)
        warnings.push(
          `${coverage.total - coverage.ok} of ${coverage.total} targets are not substitutable from the live caches (nixcache verify says which)`,
        );
    }
  }

  return {
    flake: flakeRef,
    flakeFile: flakeFile?.name ?? null,
    substituters: probes,
    keys,
    fixes: findings.map((f) => f.fix),
    edits: flakeFile
      ? planEdits(
          flakeFile.text,
          flakeFile.name,
          findings.flatMap((f) => f.ops),
        )
      : [],
    warnings,
    nix: { ...trust, version: versionText, downloadAttempts: attempts, connectTimeoutS },
    coverage,
    diskCache: { file: diskFile, stale },
  };
}

async function checkCoverage(
  targets: readonly Target[],
  urls: readonly string[],
  trusted: readonly PublicKey[],
  netrcFile: string | undefined,
): Promise<CoverageCheck> {
  const caches: BinaryCache[] = [];
  try {
    for (const u of urls) caches.push(await openCache(u, { retry: { attempts: 1 }, netrcFile }));
    const r = await verifyTargets(targets, { caches, trustedKeys: trusted });
    return {
      total: r.counts.total,
      ok: r.counts.ok,
      complete: r.complete,
      missing: r.targets.filter((t) => t.status !== "ok").map((t) => ({ attr: t.attr, status: t.status })),
    };
  } finally {
    await Promise.all(caches.map((c) => c.close()));
  }
}

function flakeFileRef(c: FlakeNixConfig, cwd: string): { name: string; text: string } | null {
  if (c.file === null) return null;
  const rel = path.relative(cwd, c.file);
  return { name: rel && !rel.startsWith("..") ? rel : c.file, text: c.text };
}
