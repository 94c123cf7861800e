import type { Command } from "commander";
import { adminGc } from "../server/admin.js";
import type { GcReport } from "../server/gc.js";
import { formatBytes } from "../util/bytes.js";
import { parseDurationFlag } from "../util/flag-values.js";
import { admin } from "./cache.js";
import { addOptionAlias, typedFlag } from "./flag-options.js";
import { printJson } from "./output.js";
import { addStateOptions, type StateFlags, stateLocation } from "./state-flags.js";

/** `--json`: per cache `{deletedPaths, deletedBytes, keptPaths, markedPaths, retentionSeconds}`. */
export function gcJson(r: GcReport) {
  return Object.fromEntries(
    Object.entries(r.caches).map(([name, c]) => [
      name,
      {
        deletedPaths: c.deletedPaths,
        deletedBytes: c.deletedBytes,
        keptPaths: c.keptPaths,
        markedPaths: c.markedPaths,
        retentionSeconds: c.retentionMs === null ? null : c.retentionMs / 1000,
      },
    ]),
  );
}

export function registerGcCommands(program: Command): void {
  const gc = program
    .command("gc")
    .description(
      "Collect garbage once: per cache with a retention, narinfos neither pinned nor pushed or fetched " +
        "within the retention, nor in the closure of one that is, are marked; those marked at least the grace " +
        "ago are deleted (with --gc-grace 0s, in the same run; never one a kept narinfo references), then NAR records no narinfo names " +
        "and blobs nothing names. " +
        "Without --cache, also the sweep of stale uploads, expired pending narinfos and orphan blobs. Caches kept forever lose " +
        "nothing. Safe while servers run (one GC at a time holds a lease; this fails when one is running).",
    )
    .option("--cache <name>", "only this cache")
    .option(
      "--gc-grace <duration>",
      "how long a narinfo stays marked before it is deleted (0s: this run deletes what it marks), as serve's --gc-grace",
      "1h",
    )
    .option("-n, --dry-run", "report what would be deleted now; change nothing")
    .option(
      "--json",
      'print {"<cache>": {deletedPaths, deletedBytes, keptPaths, markedPaths, retentionSeconds}} on stdout',
    )
    .addHelpText(
      "after",
      "\nExamples:\n  nixcache cache update main --retention 30d --data /var/lib/nixcache\n" +
        "  nixcache gc --data /var/lib/nixcache --dry-run\n  nixcache gc --data /var/lib/nixcache --json",
    );
  addOptionAlias(gc, "gc-grace", "grace");
  addStateOptions(gc).action(
    async (o: StateFlags & { cache?: string; gcGrace: string; dryRun?: boolean; json?: boolean }) => {
      const graceMs = parseDurationFlag(o.gcGrace, typedFlag(gc, "gc-grace"));
      const report = await admin(() =>
        adminGc(stateLocation(o), { cache: o.cache, graceMs, dryRun: o.dryRun }),
      );
      if (o.json) return printJson(gcJson(report));
      const verb = report.dryRun ? "would delete" : "deleted";
      for (const [name, c] of Object.entries(report.caches))
        process.stdout.write(
          c.retentionMs === null
            ? `${name}\tkept forever: ${c.keptPaths} paths\n`
            : `${name}\t${verb} ${c.deletedPaths} paths (${formatBytes(c.deletedBytes)}), kept ${c.keptPaths}, ${c.markedPaths} marked\n`,
        );
      const s = report.sweep;
      if (s && (s.blobs > 0 || s.nars > 0 || s.aborted.length > 0 || s.pending > 0))
        process.stdout.write(
          `sweep\t${s.aborted.length} stale uploads, ${s.pending} expired pending paths, ${s.nars} abandoned NARs, ${s.blobs} orphan blobs (${formatBytes(s.bytes)})\n`,
        );
    },
  );
}
