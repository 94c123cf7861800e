import type { PushSummary } from "../push/push.js";
import { formatBytes } from "../util/bytes.js";

/**
 * What `push` says when it is done: for a dry run the paths it would push (stdout) and a count
 * (stderr); otherwise each failure and the totals (stderr).
 */
export function formatPushSummary(s: PushSummary): { stdout: string; stderr: string } {
  if (s.dryRun) {
    return {
      stdout: s.pushed.map((p) => `${p}\n`).join(""),
      stderr: `would push ${s.pushed.length} paths (${formatBytes(s.narBytes)} of NAR) to ${s.cache}; ${s.skipped.length} already there\n`,
    };
  }
  const failures = s.failed.map((f) => `nixcache: error: ${f.path}: ${f.error}\n`).join("");
  const ratio = s.narBytes > 0 ? ` → ${formatBytes(s.fileBytes)} ${s.compression}` : "";
  return {
    stdout: "",
    stderr:
      failures +
      `pushed ${s.pushed.length} paths (${formatBytes(s.narBytes)}${ratio}) to ${s.cache}; ` +
      `${s.skipped.length} already there${s.failed.length ? `; ${s.failed.length} FAILED` : ""}\n`,
  };
}

/** The `--json` document of `push`. */
export function pushSummaryJson(s: PushSummary) {
  return {
    cache: s.cache,
    dryRun: s.dryRun,
    compression: s.compression,
    pushed: s.pushed,
    skipped: s.skipped,
    failed: s.failed,
    narBytes: s.narBytes,
    fileBytes: s.fileBytes,
  };
}
