// After the realisation: why each target still without valid outputs failed (its own build, a
// dependency's, an interruption, or Nix's last error), and the log that shows it.
import { derivationRequisites, failedBuilds } from "../local-nix/realise.js";
import type { Target } from "../targets/resolve.js";
import { LOG_TAIL_LINES } from "../ui-api/log-text.js";
import type { TargetPusher } from "./push-targets.js";
import type { BuildEvent, BuildOptions, BuildTarget } from "./types.js";
import type { Realised } from "./watch-realisation.js";

/**
 * Marks every target left in `pending` failed, with its error and log tail; returns each one's
 * whole log (its own lines, then those of the failed dependencies).
 */
export async function attributeFailures(
  pending: ReadonlyMap<Target, BuildTarget>,
  { result, logs }: Realised,
  pusher: TargetPusher,
  opts: BuildOptions,
  emit: (e: BuildEvent) => void,
): Promise<Map<Target, string[]>> {
  const fullLogs = new Map<Target, string[]>();
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
    r.logTail = lines.slice(-LOG_TAIL_LINES);
    for (const p of pusher.sessions) r.push[p.cache.url] ??= "failed: not built";
    emit({ type: "target", attr: t.attr, system: t.system, phase: "failed" });
  }
  return fullLogs;
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
