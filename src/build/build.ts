// `nixcache build`: evaluate the target set, skip what the push caches already hold (signed by a
// key they trust), build the rest with one `nix-store --realise`, and push each target's
// closure to every push cache as soon as its outputs are valid, while the others still build.
// The build log of every target built (or failed) goes to each push cache that takes logs, as
// `log/<drv basename>`, where `nix log` and the server's dashboard find it.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { WritableBinaryCache } from "../caches/types.js";
import { buildableSystems, type NixConfig, readNixConfig } from "../local-store/nix-config.js";
import { derivationRequisites, failedBuilds, invalidPaths, realise } from "../local-store/realise.js";
import type { PublicKey } from "../nix/signing.js";
import { parseStorePath } from "../nix/store-path.js";
import type { PushEvent, PushOptions } from "../push/session.js";
import { type ResolveOptions, resolveTargets, type Target } from "../targets/resolve.js";
import { LOG_TAIL_LINES } from "../ui-api/log-text.js";
import { errorCode, errorMessage } from "../util/errors.js";
import { PathLookup } from "../verify/lookup.js";
import { type Upstream, UpstreamFilter } from "./trust.js";

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

/** Lines of a log kept in the report (what the step summary and the job log show). */
const TAIL_LINES = LOG_TAIL_LINES;

function logName(t: Target): string {
  const base = `${t.system}.${t.attr}`.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 200);
  return `${base}.log`;
}

function outputsOf(t: Target): string[] {
  return t.outputs ? Object.values(t.outputs) : t.outPath ? [t.outPath] : [];
}

export async function build(opts: BuildOptions): Promise<BuildReport> {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => {});
  const nixConfig = opts.nixConfig ?? (await readNixConfig());
  const buildable = new Set(buildableSystems(nixConfig));
  const targets = opts.targets ?? (await resolveTargets(opts)).targets;

  const report: BuildTarget[] = targets.map((t) => ({
    attr: t.attr,
    system: t.system,
    status:
      t.error !== undefined || t.outPath === null
        ? "eval-failed"
        : buildable.has(t.system)
          ? "built"
          : "not-built-here",
    outPath: t.outPath,
    push: {},
    log: null,
    ...(t.error !== undefined ? { error: t.error } : {}),
  }));
  const entries = targets.map((t, i) => ({ t, r: report[i] as BuildTarget }));
  const candidates = entries.filter((e) => e.r.status === "built");

  // A cache that cannot be used is found out once, up front, not once per lookup and upload
  // (each of which would wait out its own retries).
  const down = await Promise.all(
    opts.push.map((p) =>
      candidates.length === 0
        ? undefined
        : p.cache.ensureCacheInfo().then(
            () => undefined,
            (e: unknown) => errorMessage(e),
          ),
    ),
  );
  const downReported = new Set<number>();
  down.forEach((reason, i) => {
    const url = opts.push[i]?.cache.url;
    if (reason === undefined || url === undefined) return;
    downReported.add(i);
    emit({ type: "cache-down", cache: url, reason });
  });

  // What each push cache already holds, signed by a key it is trusted with.
  const cachedIn = await Promise.all(
    opts.push.map(async (p, i) => {
      if (down[i] !== undefined) return new Set<Target>();
      const lookup = new PathLookup([p.cache], p.trustedKeys, 32);
      const held = new Set<Target>();
      await Promise.all(
        candidates.map(async ({ t }) => {
          const states = await Promise.all(
            outputsOf(t).map((o) => lookup.lookup(parseStorePath(o).hash).then((l) => l.state)),
          );
          if (states.every((s) => s === "ok")) held.add(t);
        }),
      );
      return held;
    }),
  );
  const toBuild = candidates.filter(({ t, r }) => {
    opts.push.forEach((p, i) => {
      if (cachedIn[i]?.has(t)) r.push[p.cache.url] = "already";
    });
    const cached = opts.push.length > 0 && cachedIn.every((held) => held.has(t));
    if (cached) r.status = "cached";
    return !cached;
  });
  emit({
    type: "evaluated",
    targets: targets.length,
    toBuild: toBuild.length,
    cached: candidates.length - toBuild.length,
    notBuiltHere: report.filter((r) => r.status === "not-built-here").length,
  });

  const filter = new UpstreamFilter(opts.upstreams ?? []);
  // The push machinery (NAR encoder, codecs) loads only when something is to be pushed.
  const { PushSession } = toBuild.length > 0 ? await import("../push/session.js") : { PushSession: null };
  const sessions = PushSession
    ? opts.push.map((p, i) => {
        const session = new PushSession(p.cache, {
          ...opts.pushOptions,
          signal: opts.signal,
          exclude: (paths) => filter.served(paths),
          onEvent: (event) => emit({ type: "push", cache: p.cache.url, event }),
        });
        const reason = down[i];
        if (reason !== undefined) session.markDown(reason);
        return session;
      })
    : [];

  // Pushing a finished target to every cache that lacks it; each target once.
  const pushing: Promise<void>[] = [];
  const pushed = new Set<Target>();
  const pushTarget = (t: Target, r: BuildTarget) => {
    if (pushed.has(t)) return;
    pushed.add(t);
    const work = sessions.map(async (s, i) => {
      const url = s.cache.url;
      if (r.push[url] === "already") return;
      try {
        const res = await s.add(outputsOf(t));
        const fail = res.failed[0];
        if (fail) r.push[url] = `failed: ${fail.path}: ${fail.error}`;
        else r.push[url] = [...res.outcomes.values()].includes("pushed") ? "pushed" : "already";
      } catch (e) {
        const reason = errorMessage(e);
        if (errorCode(e) === "unavailable" && s.down === reason && !downReported.has(i)) {
          downReported.add(i);
          emit({ type: "cache-down", cache: url, reason });
        }
        r.push[url] = `failed: ${reason}`;
      }
    });
    if (sessions.length > 0) emit({ type: "target", attr: t.attr, system: t.system, phase: "pushing" });
    pushing.push(
      Promise.all(work).then(() => {
        emit({ type: "target", attr: t.attr, system: t.system, phase: "done" });
      }),
    );
  };

  // Outputs already valid locally need no build: straight to the push.
  const pending = new Map<Target, BuildTarget>();
  if (toBuild.length > 0) {
    const invalid = await invalidPaths(toBuild.flatMap(({ t }) => outputsOf(t)));
    for (const { t, r } of toBuild) {
      if (outputsOf(t).some((o) => invalid.has(o))) pending.set(t, r);
      else pushTarget(t, r);
    }
  }

  const logs = new Map<string, string[]>();
  const fullLogs = new Map<Target, string[]>();
  if (pending.size > 0) {
    await mkdir(opts.logDir, { recursive: true });
    const byDrv = new Map<string, Target>();
    for (const t of pending.keys()) if (t.drvPath) byDrv.set(t.drvPath, t);
    // One validity check in flight; ticks that arrive meanwhile ask for one more afterwards.
    let checking: Promise<void> | undefined;
    let again = false;
    const check = async (): Promise<void> => {
      const waiting = [...pending.keys()];
      if (waiting.length === 0) return;
      const invalid = await invalidPaths(waiting.flatMap(outputsOf));
      for (const t of waiting) {
        const r = pending.get(t);
        if (!r || outputsOf(t).some((o) => invalid.has(o))) continue;
        pending.delete(t);
        pushTarget(t, r);
      }
    };
    const tick = () => {
      if (checking) {
        again = true;
        return;
      }
      checking = check()
        .catch(() => {})
        .finally(() => {
          checking = undefined;
          if (again) {
            again = false;
            tick();
          }
        });
    };
    const drvs = [...pending.keys()].map((t) => t.drvPath as string);
    const result = await realise(drvs, {
      keepGoing: opts.keepGoing,
      maxJobs: opts.maxJobs,
      cores: opts.cores,
      signal: opts.signal,
      onEvent: (e) => {
        if (e.type === "tick") tick();
        else if (e.type === "log") {
          const lines = logs.get(e.drv) ?? [];
          if (lines.length === 0) logs.set(e.drv, lines);
          lines.push(e.line);
        } else if (e.type === "build-started") {
          // A build that prints nothing still has a log (an empty one).
          if (!logs.has(e.drv)) logs.set(e.drv, []);
          const t = byDrv.get(e.drv);
          if (t) emit({ type: "target", attr: t.attr, system: t.system, phase: "building" });
        }
      },
    });
    while (checking) await checking;
    await check();
    // Whatever is still invalid failed (or was never built because something else failed).
    const failedDrvs = failedBuilds(result.errors);
    for (const [t, r] of pending) {
      r.status = "failed";
      const own = t.drvPath ? failedDrvs.get(t.drvPath) : undefined;
      const deps = own === undefined && t.drvPath ? await failedDependencies(t.drvPath, failedDrvs) : [];
      r.error =
        own ??
        (deps.length > 0
          ? `dependency ${deps.join(", ")} failed to build`
          : opts.signal?.aborted
            ? "interrupted"
            : (result.errors.at(-1) ?? `nix-store --realise exited with ${result.exitCode}`));
      const lines = [...(t.drvPath ? (logs.get(t.drvPath) ?? []) : [])];
      for (const d of deps) lines.push(`--- log of failed dependency ${d} ---`, ...(logs.get(d) ?? []));
      if (lines.length === 0) lines.push(r.error);
      fullLogs.set(t, lines);
      r.logTail = lines.slice(-TAIL_LINES);
      for (const p of sessions) r.push[p.cache.url] ??= "failed: not built";
      emit({ type: "target", attr: t.attr, system: t.system, phase: "failed" });
    }
  }

  // The log of every target Nix built (or tried to) in this run: a file, and a copy in each push
  // cache that takes logs (its outputs pushed or not: a failed build's log is the one wanted).
  const refusedLogs = new Set<number>();
  const storeLog = async (t: Target, r: BuildTarget, text: Buffer) => {
    if (!t.drvPath) return;
    const drv = path.basename(t.drvPath);
    const pages = await Promise.all(
      opts.push.map(async ({ cache }, i) => {
        // A cache that refused one log is not sent the others (its warning said so).
        if (
          !cache.uploadBuildLog ||
          refusedLogs.has(i) ||
          down[i] !== undefined ||
          sessions[i]?.down !== undefined
        )
          return undefined;
        try {
          return (await cache.uploadBuildLog(drv, text, opts.signal)).dashboardUrl;
        } catch (e) {
          if (!refusedLogs.has(i) && !opts.signal?.aborted) {
            refusedLogs.add(i);
            emit({ type: "log-refused", cache: cache.url, reason: errorMessage(e) });
          }
          return undefined;
        }
      }),
    );
    const page = pages.find((u) => u !== undefined);
    if (page !== undefined) r.logUrl = page;
  };
  await Promise.all(
    entries.map(async ({ t, r }) => {
      const lines = fullLogs.get(t) ?? (t.drvPath ? logs.get(t.drvPath) : undefined);
      if (!lines) return;
      r.logTail ??= lines.slice(-TAIL_LINES);
      const text = Buffer.from(lines.length > 0 ? `${lines.join("\n")}\n` : "");
      const file = path.join(opts.logDir, logName(t));
      await Promise.all([writeFile(file, text), storeLog(t, r, text)]);
      r.log = file;
    }),
  );
  await Promise.all(pushing);

  const idle = (url: string, reason?: string): PushCacheSummary => ({
    url,
    status: reason === undefined ? "ok" : "failed",
    ...(reason === undefined ? {} : { reason }),
    pushedPaths: 0,
    alreadyPaths: 0,
    filteredPaths: 0,
    failedPaths: 0,
    narBytes: 0,
    fileBytes: 0,
  });
  const caches =
    sessions.length === 0
      ? opts.push.map((p, i) => idle(p.cache.url, down[i]))
      : sessions.map((s): PushCacheSummary => {
          const failedTargets = report.filter(
            (r) => r.push[s.cache.url]?.startsWith("failed: ") && r.status !== "failed",
          );
          const sum = s.summary;
          const out: PushCacheSummary = {
            url: s.cache.url,
            status:
              s.down !== undefined || sum.failed.length > 0 || failedTargets.length > 0 ? "failed" : "ok",
            pushedPaths: sum.pushed.length,
            alreadyPaths: sum.skipped.length,
            filteredPaths: sum.filtered.length,
            failedPaths: sum.failed.length,
            narBytes: sum.narBytes,
            fileBytes: sum.fileBytes,
          };
          const reason = s.down ?? sum.failed[0]?.error;
          if (reason !== undefined) out.reason = reason;
          return out;
        });
  const count = (s: BuildStatus) => report.filter((r) => r.status === s).length;
  const pushOk = caches.every((c) => c.status === "ok");
  const buildOk = report.every(
    (r) => r.status === "cached" || r.status === "built" || r.status === "not-built-here",
  );
  return {
    targets: report,
    summary: {
      total: report.length,
      cached: count("cached"),
      built: count("built"),
      failed: count("failed"),
      notBuiltHere: count("not-built-here"),
      evalFailed: count("eval-failed"),
      systems: [...buildable],
      caches,
      upstreams: (opts.upstreams ?? []).map((u) => u.cache.url),
      logDir: opts.logDir,
      durationMs: Date.now() - started,
      ok: buildOk && (!opts.requirePush || pushOk),
    },
  };
}

/** Which of the failed derivations are in `drv`'s build closure. */
async function failedDependencies(drv: string, failed: Map<string, string>): Promise<string[]> {
  if (failed.size === 0) return [];
  try {
    return (await derivationRequisites(drv)).filter((d) => failed.has(d));
  } catch {
    return [];
  }
}
