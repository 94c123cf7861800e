import type { Command } from "commander";
import { type CopyProgress, type CopyReport, copyDataBetween } from "../server/copy-data.js";
import { RECORD_KINDS } from "../server/metadata/records.js";
import { formatBytes } from "../util/bytes.js";
import { addOptionAlias } from "./flag-options.js";
import { printJson, UserError } from "./output.js";
import { addStateOptions, type StateFlags, stateLocation } from "./state-flags.js";

interface CopyFlags extends StateFlags {
  fromData?: string;
  fromDb?: string;
  fromStorage?: string;
  dryRun?: boolean;
  json?: boolean;
}

function progressLine(p: CopyProgress): string {
  return `nixcache: copied ${p.records} ${p.kind}, ${p.blobs} blobs (${formatBytes(p.bytes)})`;
}

/** Left-out paths named in the summary; the JSON report has them all. */
const LEFT_OUT_LINES = 20;

function summary(r: CopyReport): string {
  const verb = r.dryRun ? "would copy" : "copied";
  const lines = RECORD_KINDS.filter((k) => r.records[k] > 0).map(
    (k) => `  ${k}: ${r.records[k]} read${r.dryRun ? "" : `, ${r.written[k]} new in the target`}`,
  );
  lines.push(
    `  blobs: ${verb} ${r.blobsCopied} (${formatBytes(r.bytesCopied)}), ${r.blobsPresent} already in the target`,
  );
  for (const b of r.badBlobs) lines.push(`  BAD blob ${b.blob}: ${b.problem}`);
  for (const p of r.leftOut.slice(0, LEFT_OUT_LINES))
    lines.push(
      p.because === p.storePath
        ? `  left out of cache ${JSON.stringify(p.cache)}: ${p.storePath} (its NAR's blob is bad)`
        : `  left out of cache ${JSON.stringify(p.cache)}: ${p.storePath} (its closure holds ${p.because}, whose NAR's blob is bad)`,
    );
  if (r.leftOut.length > LEFT_OUT_LINES)
    lines.push(`  … and ${r.leftOut.length - LEFT_OUT_LINES} more paths left out (--json lists them all)`);
  if (r.skippedRecords > 0)
    lines.push(
      `  ${r.skippedRecords} records left out: a bad blob's, or of a path whose closure holds one ` +
        "(restore the blobs and run the copy again to complete it)",
    );
  return `${r.dryRun ? "dry run: nothing was written\n" : ""}${lines.join("\n")}\n`;
}

export function registerDataCommands(program: Command): void {
  const data = program
    .command("data")
    .description("move a server's state between backends (a data directory → PostgreSQL + S3)");
  const copy = data
    .command("copy")
    .description(
      "Copy every cache, token, narinfo, NAR and side file from one server state to another, checking " +
        "each blob's SHA-256 on the way. Records are written only after their blobs, so the target never " +
        "names a missing blob. Safe to interrupt: running it again resumes (what the target has is kept). " +
        "Stop the server (or let its uploads finish) first: open multipart uploads are not copied. " +
        "Exit status 1 when a blob was missing or corrupt in the source: its paths, and every path whose " +
        "closure holds one, are left out (none is served with a hole in its closure); once the blob is " +
        "restored, running the copy again completes it.",
    )
    .option("--from-data <dir>", "source data directory (SQLite + files)")
    .option("--from-db <url>", "source metadata database (instead of --from-data)")
    .option("--from-storage <url>", "source blob storage (instead of --from-data)")
    .option("--dry-run", "read everything and say what would be copied; write nothing")
    .option("--json", "print the report as JSON");
  addOptionAlias(copy, "from-data", "from");
  addStateOptions(copy)
    .addHelpText(
      "after",
      "\nThe source is given with --from-data (or --from-db and --from-storage), the target with --db and\n" +
        "--storage (or --data), as every other command names a server's state.\n\nExample:\n" +
        "  nixcache data copy --from-data /var/lib/nixcache --dry-run \\\n" +
        "    --db postgres://nixcache@db/nixcache --storage 's3://nix-cache?endpoint=https://s3.example.com'\n" +
        "  nixcache data copy --from-data /var/lib/nixcache \\\n" +
        "    --db postgres://nixcache@db/nixcache --storage 's3://nix-cache?endpoint=https://s3.example.com'",
    )
    .action(async (o: CopyFlags) => {
      if (o.fromData === undefined && o.fromDb === undefined && o.fromStorage === undefined)
        throw new UserError("say what to copy: --from-data DIR (or --from-db URL and --from-storage URL)", 2);
      if (o.data === undefined && o.db === undefined && o.storage === undefined)
        throw new UserError("say where to copy to: --db URL and --storage URL (or --data DIR)", 2);
      const from = { dataDir: o.fromData, db: o.fromDb, storage: o.fromStorage };
      const tty = process.stderr.isTTY && !o.json;
      let last = 0;
      const report = await copyDataBetween(from, stateLocation(o), {
        dryRun: o.dryRun,
        onProgress: (p) => {
          const now = Date.now();
          if (now - last < (tty ? 200 : 5000)) return;
          last = now;
          process.stderr.write(tty ? `\r${progressLine(p)}\x1b[K` : `${progressLine(p)}\n`);
        },
      }).catch((e: unknown) => {
        if (tty) process.stderr.write("\n");
        throw e;
      });
      if (tty) process.stderr.write("\r\x1b[K");
      if (o.json) printJson(report);
      else process.stdout.write(summary(report));
      if (report.badBlobs.length > 0) process.exitCode = 1;
    });
}
