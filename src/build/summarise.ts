// The build's last phase: each push cache's totals and the counts of the report, with its verdict.
import type { PushSession } from "../push/session.js";
import type { CacheHealth } from "./skip-cached.js";
import type { BuildOptions, BuildReport, BuildStatus, BuildTarget, PushCacheSummary } from "./types.js";

export function summarise(
  report: BuildTarget[],
  sessions: readonly PushSession[],
  health: CacheHealth,
  opts: BuildOptions,
  buildable: ReadonlySet<string>,
  started: number,
): BuildReport {
  const caches =
    sessions.length === 0
      ? opts.push.map((p, i) => idle(p.cache.url, health.down[i]))
      : sessions.map((s) => pushSummary(s, report));
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

/** A cache nothing was pushed to (nothing was to be); `reason`: why it could not be used. */
function idle(url: string, reason?: string): PushCacheSummary {
  return {
    url,
    status: reason === undefined ? "ok" : "failed",
    ...(reason === undefined ? {} : { reason }),
    pushedPaths: 0,
    alreadyPaths: 0,
    filteredPaths: 0,
    failedPaths: 0,
    narBytes: 0,
    fileBytes: 0,
  };
}

/** A session's totals; a target built but not pushed to the cache fails it too. */
function pushSummary(s: PushSession, report: readonly BuildTarget[]): PushCacheSummary {
  const failedTargets = report.filter(
    (r) => r.push[s.cache.url]?.startsWith("failed: ") && r.status !== "failed",
  );
  const sum = s.summary;
  const out: PushCacheSummary = {
    url: s.cache.url,
    status: s.down !== undefined || sum.failed.length > 0 || failedTargets.length > 0 ? "failed" : "ok",
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
}
