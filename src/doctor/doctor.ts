// `nixcache doctor`: gathers what Nix would use (the flake's nixConfig, the local configuration,
// the substituters' answers, sampled narinfos, Nix's disk cache, the target set's coverage), runs
// the checks of checks.ts over it and returns one report. Printing is render.ts's; the exit status
// is `doctorExitCode`'s: one summary decides it.
import os from "node:os";
import type { NixConfig } from "../local-nix/nix-config.js";
import { olderThanTested } from "../local-nix/nix-version.js";
import type { PublicKey } from "../nix/signing.js";
import { parseStorePath } from "../nix/store-path.js";
import { errorMessage } from "../util/errors.js";
import {
  type ConfigSource,
  checkKey,
  type Finding,
  type FlakeConfigTrust,
  flakeConfigFindings,
  type KeyCheck,
  keyFindings,
  parseKeys,
  type SubstituterCheck,
  substituterFindings,
} from "./checks.js";
import { type CoverageCheck, coverageCheck, type EvaluatedTargets, evaluateTargets } from "./coverage.js";
import { type DiskCacheState, readDiskCacheState } from "./disk-cache.js";
import { type FileEdit, planEdits } from "./edits.js";
import { type DoctorInputs, flakeConfigTrust, merge, numberSetting, readInputs } from "./inputs.js";
import { type LiveSamples, publishedKeys, type StaleDiskEntry, sampleLiveCaches } from "./live-caches.js";
import {
  metaCacheFindings,
  negativeCacheFindings,
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

/** Runs every check; never throws for what it finds, only when the flake cannot be read. */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const inputs = await readInputs(opts);
  const warnings: string[] = [];
  const targetsP: Promise<EvaluatedTargets> =
    opts.coverage === false ? Promise.resolve({ targets: [] }) : evaluateTargets(inputs.flakeRef, inputs.cwd);
  const probes = await checkSubstituters(inputs, opts.slowMs);
  const keysIn = configuredKeys(inputs);
  const trusted: PublicKey[] = keysIn.flatMap((k) => (k.parsed ? [k.parsed] : []));
  const liveUrls = probes
    .filter((p) => (p.status === "ok" || p.status === "slow") && p.stage === "done")
    .map((p) => p.url);
  const disk = await readDiskCache(inputs, liveUrls, warnings);
  const evaluated = await targetsP;
  const live = await sampleLiveCaches(liveUrls, probes, trusted, disk, outputHashes(evaluated), {
    sampleCount: opts.samples ?? 8,
    netrc: inputs.netrc,
  });
  const keys = keysIn.map((k) => checkKey(k, live.samples, probes));
  const knownKeys = await publishedKeys(keys, probes, live.samples, inputs.timeoutMs);
  const trust = flakeConfigTrust(inputs.nixConf, os.userInfo(), inputs.storeTrusted);
  const findings = [
    ...configFindings(inputs, probes, keys, knownKeys, trust),
    ...diskCacheFindings(inputs, live),
  ];
  warnings.push(...nixWarnings(inputs, probes));
  const coverage =
    opts.coverage === false
      ? null
      : await coverageCheck(evaluated, liveUrls, trusted, inputs.netrc, warnings);
  const raw = inputs.nixConf.raw;
  return {
    flake: inputs.flakeRef,
    flakeFile: inputs.flakeFile?.name ?? null,
    substituters: probes,
    keys,
    fixes: findings.map((f) => f.fix),
    edits: inputs.flakeFile
      ? planEdits(
          inputs.flakeFile.text,
          inputs.flakeFile.name,
          findings.flatMap((f) => f.ops),
        )
      : [],
    warnings,
    nix: {
      ...trust,
      version: inputs.nixFacts.text,
      downloadAttempts: numberSetting(raw, "download-attempts", 5),
      connectTimeoutS: numberSetting(raw, "connect-timeout", 0),
    },
    coverage,
    diskCache: { file: inputs.nixFacts.diskFile, stale: live.stale },
  };
}

/** Probes every substituter the flake or nix.conf names; a dead one with what it costs Nix. */
async function checkSubstituters(
  inputs: DoctorInputs,
  slowMs: number | undefined,
): Promise<SubstituterCheck[]> {
  const { flakeConf, nixConf } = inputs;
  const subsIn = merge<string>([
    ...[...flakeConf.substituters, ...flakeConf.extraSubstituters].map((s): [string, ConfigSource] => [
      s,
      "flake",
    ]),
    ...nixConf.substituters.map((s): [string, ConfigSource] => [s, "nix.conf"]),
  ]);
  const attempts = numberSetting(nixConf.raw, "download-attempts", 5);
  const connectTimeoutS = numberSetting(nixConf.raw, "connect-timeout", 0);
  return Promise.all(
    subsIn.map(async ({ key: url, sources }) => {
      const p = await probeSubstituter(url, {
        timeoutMs: inputs.timeoutMs,
        slowMs,
        netrcFile: inputs.netrc,
      });
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
}

/** The trusted public keys the flake or nix.conf names, parsed. */
function configuredKeys({ flakeConf, nixConf }: DoctorInputs) {
  return parseKeys(
    merge<string>([
      ...[...flakeConf.trustedPublicKeys, ...flakeConf.extraTrustedPublicKeys].map(
        (k): [string, ConfigSource] => [k, "flake"],
      ),
      ...nixConf.trustedPublicKeys.map((k): [string, ConfigSource] => [k, "nix.conf"]),
    ]),
  );
}

/** What Nix's narinfo disk cache remembers of the live caches; unreadable: a warning, nothing. */
async function readDiskCache(
  inputs: DoctorInputs,
  liveUrls: readonly string[],
  warnings: string[],
): Promise<DiskCacheState> {
  const raw = inputs.nixConf.raw;
  const file = inputs.nixFacts.diskFile;
  try {
    return await readDiskCacheState(file, liveUrls, {
      positiveTtlS: numberSetting(raw, "narinfo-cache-positive-ttl", 2592000),
      negativeTtlS: numberSetting(raw, "narinfo-cache-negative-ttl", 3600),
    });
  } catch (e) {
    warnings.push(`cannot read Nix's narinfo disk cache ${file}: ${errorMessage(e)}`);
    return { positive: new Map(), negative: new Map(), meta: new Map() };
  }
}

function outputHashes({ targets }: EvaluatedTargets): string[] {
  return targets.flatMap((t) => (t.outPath ? [parseStorePath(t.outPath).hash] : []));
}

/** The substituters, the keys, the flake's settings and whether Nix will take them. */
function configFindings(
  { flakeConf, nixConf, flakeFile, storeTrusted, version, nixFacts }: DoctorInputs,
  probes: readonly SubstituterCheck[],
  keys: readonly KeyCheck[],
  knownKeys: Map<string, string[]>,
  trust: FlakeConfigTrust,
): Finding[] {
  const hasFlakeSettings =
    flakeConf.substituters.length +
      flakeConf.extraSubstituters.length +
      flakeConf.trustedPublicKeys.length +
      flakeConf.extraTrustedPublicKeys.length >
    0;
  return [
    ...substituterFindings(probes, keys, flakeFile, knownKeys),
    ...keyFindings(keys, probes, flakeFile, knownKeys),
    ...flakeConfigFindings(
      trust,
      [...flakeConf.substituters, ...flakeConf.extraSubstituters],
      hasFlakeSettings,
      storeTrusted === undefined ? undefined : trustQueryWords(version),
    ),
    ...unknownSettingFindings(Object.keys(flakeConf.raw), new Set(Object.keys(nixConf.raw)), nixFacts),
  ];
}

/** What Nix's disk cache holds that is no longer so: hidden paths, stale cache-info, unsigned copies. */
function diskCacheFindings({ nixConf, nixFacts }: DoctorInputs, live: LiveSamples): Finding[] {
  const findings: Finding[] = [
    ...negativeCacheFindings(
      live.hidden,
      numberSetting(nixConf.raw, "narinfo-cache-negative-ttl", 3600),
      nixFacts,
    ),
    ...metaCacheFindings(
      live.staleMeta,
      "narinfo-cache-meta-ttl" in nixConf.raw
        ? numberSetting(nixConf.raw, "narinfo-cache-meta-ttl", 604800)
        : undefined,
      nixFacts,
    ),
  ];
  const { diskFile, text: versionText } = nixFacts;
  const byCache = new Map<string, number>();
  for (const s of live.stale) byCache.set(s.cache, (byCache.get(s.cache) ?? 0) + 1);
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
  return findings;
}

/** A slow cache, a Nix older than tested. */
function nixWarnings({ version, nixFacts }: DoctorInputs, probes: readonly SubstituterCheck[]): string[] {
  const warnings: string[] = [];
  for (const p of probes) if (p.status === "slow") warnings.push(`${p.url} is slow: ${p.reason}`);
  if (version && olderThanTested(version))
    warnings.push(`${nixFacts.text} is older than Nix 2.8, the oldest nixcache is tested with`);
  return warnings;
}
