// The log of every target Nix built (or tried to) in this run: a file in the log directory, and a
// copy in each push cache that takes logs (its outputs pushed or not: a failed build's log is the
// one wanted), whose dashboard page the report links.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Target } from "../targets/resolve.js";
import { LOG_TAIL_LINES } from "../ui-api/log-text.js";
import { errorMessage } from "../util/errors.js";
import type { Entry } from "./entries.js";
import type { TargetPusher } from "./push-targets.js";
import type { CacheHealth } from "./skip-cached.js";
import type { BuildEvent, BuildOptions, BuildTarget } from "./types.js";

/**
 * `logs`: lines by derivation path (builds Nix started); `fullLogs`: a failed target's whole log,
 * which wins over its own lines.
 */
export async function storeLogs(
  entries: readonly Entry[],
  logs: ReadonlyMap<string, string[]>,
  fullLogs: ReadonlyMap<Target, string[]>,
  ctx: { opts: BuildOptions; health: CacheHealth; pusher: TargetPusher; emit: (e: BuildEvent) => void },
): Promise<void> {
  const { opts, health, pusher, emit } = ctx;
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
          health.down[i] !== undefined ||
          pusher.sessions[i]?.down !== undefined
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
      r.logTail ??= lines.slice(-LOG_TAIL_LINES);
      const text = Buffer.from(lines.length > 0 ? `${lines.join("\n")}\n` : "");
      const file = path.join(opts.logDir, logName(t));
      await Promise.all([writeFile(file, text), storeLog(t, r, text)]);
      r.log = file;
    }),
  );
}

function logName(t: Target): string {
  const base = `${t.system}.${t.attr}`.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 200);
  return `${base}.log`;
}
