// What a build takes (its options, the push caches), tells as it goes (events) and returns (the
// report, whose JSON is the `--json` contract).
import type { WritableBinaryCache } from "../caches/types.js";
import type { NixConfig } from "../local-nix/nix-config.js";
import type { PublicKey } from "../nix/signing.js";
import type { PushEvent, PushOptions } from "../push/session.js";
import type { ResolveOptions, Target } from "../targets/resolve.js";
import type { Upstream } from "./trust.js";

export type BuildStatus = "cached" | "built" | "failed" | "not-built-here" | "eval-failed";

/** Per push cache: `pushed`, `already`, or `failed: <reason>`. */
export type PushStatus = "pushed" | "already" | `failed: ${string}`;

export interface BuildTarget {
  attr: string;
  system: string;
  status: BuildStatus;
  outPath: string | null;
  push: Record<string, PushStatus>;
  /** The target's build log file, when Nix built it in this run. */
  log: string | null;
  /** Why it failed (evaluation or build). */
  error?: string;
  /** Last lines (at most 100) of the log of a target built or failed in this run. */
  logTail?: string[];
  /**
   * The log's page on the dashboard of the first push cache that is a nixcache server and stored
   * it: `<server>/ui/#/cache/<cache>/log/<drv basename>`.
   */
  logUrl?: string;
}

export interface PushCacheSummary {
  url: string;
  /** `failed` when the cache could not be used at all, or some path failed to upload. */
  status: "ok" | "failed";
  reason?: string;
  pushedPaths: number;
  alreadyPaths: number;
  filteredPaths: number;
  failedPaths: number;
  narBytes: number;
  fileBytes: number;
}

export interface BuildReport {
  targets: BuildTarget[];
  summary: {
    total: number;
    cached: number;
    built: number;
    failed: number;
    notBuiltHere: number;
    evalFailed: number;
    /** Systems this machine builds. */
    systems: string[];
    caches: PushCacheSummary[];
    upstreams: string[];
    logDir: string;
    durationMs: number;
    /** Every buildable target cached or built (and pushed, with requirePush). */
    ok: boolean;
  };
}

/** What every report shows of a target (the `--json` contract's fields, error aside). */
export type TargetOutcome = Pick<
  BuildTarget,
  "attr" | "system" | "status" | "outPath" | "push" | "log" | "logUrl"
>;

export function targetOutcome(t: BuildTarget): TargetOutcome {
  const o: TargetOutcome = {
    attr: t.attr,
    system: t.system,
    status: t.status,
    outPath: t.outPath,
    push: t.push,
    log: t.log,
  };
  if (t.logUrl !== undefined) o.logUrl = t.logUrl;
  return o;
}

export type BuildEvent =
  | { type: "evaluated"; targets: number; toBuild: number; cached: number; notBuiltHere: number }
  | { type: "target"; attr: string; system: string; phase: "building" | "pushing" | "done" | "failed" }
  | { type: "push"; cache: string; event: PushEvent }
  | { type: "cache-down"; cache: string; reason: string }
  /** A push cache refused a build log: told once per cache (the build and its status go on). */
  | { type: "log-refused"; cache: string; reason: string };

export interface PushTarget {
  cache: WritableBinaryCache;
  /** Keys the cache's signatures are checked against when deciding a target is cached. */
  trustedKeys: readonly PublicKey[];
}

export interface BuildOptions extends ResolveOptions {
  push: readonly PushTarget[];
  upstreams?: readonly Upstream[];
  keepGoing?: boolean;
  maxJobs?: string;
  cores?: string;
  /** Where per-target logs go. */
  logDir: string;
  requirePush?: boolean;
  pushOptions?: Omit<PushOptions, "onEvent" | "signal" | "exclude">;
  /** Already-resolved targets (the `ci` pipeline resolves them once for build and verify). */
  targets?: Target[];
  nixConfig?: NixConfig;
  signal?: AbortSignal;
  onEvent?: (e: BuildEvent) => void;
}
