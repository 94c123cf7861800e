import cliProgress from "cli-progress";
import type { Command } from "commander";
import { cacheToken } from "../caches/credentials.js";
import { openCache } from "../caches/open.js";
import { COMMAND_FLAGS } from "../flags/table.js";
import type { PushFlags } from "../flags/values.js";
import { readSigningKey } from "../keys/key-files.js";
import { resolveStorePath } from "../local-nix/path-info.js";
import type { SecretKey } from "../nix/signing.js";
import { type PushEvent, type PushSummary, push } from "../push/push.js";
import { formatPushSummary, pushSummaryJson } from "../report/push-report.js";
import { abortOnSigint } from "../util/abort.js";
import { formatBytes } from "../util/bytes.js";
import { readStdin } from "../util/stdin.js";
import { addFlags } from "./flag-options.js";
import { printJson, UserError } from "./output.js";

export function registerPushCommands(program: Command): void {
  const cmd = program
    .command("push")
    .summary("push store paths and their closures to a binary cache")
    .description(
      "Push the runtime closure of each PATH to CACHE, skipping what the cache already has. " +
        "CACHE is file:///dir or http(s)://host[:port][/prefix] (any Nix HTTP cache that accepts PUT). " +
        "NARs are streamed from the store, checked against the Nix database, compressed and uploaded " +
        "in one pass; a narinfo is written only after its NAR and its references, so an interrupted " +
        "push leaves the cache consistent and the next run uploads only what is still missing.",
    )
    .argument("<cache>", "cache URL")
    .argument("[paths...]", "store paths (or symlinks to them, like ./result)");
  addFlags(cmd, COMMAND_FLAGS.push)
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  nixcache push file:///var/cache/nix ./result\n" +
        "  nix build --print-out-paths | nixcache push https://cache.example.org/main --stdin \\\n" +
        "      --signing-key ./cache-key.sec --json\n",
    )
    .action(async (cacheUrl: string, args: string[], flags: PushFlags) => {
      const code = await runPush(cacheUrl, args, flags);
      process.exitCode = code;
    });
}

async function runPush(cacheUrl: string, args: string[], flags: PushFlags): Promise<number> {
  const raw = [...args];
  if (flags.stdin) {
    raw.push(...(await readStdin()).split(/\s+/).filter(Boolean));
  }
  if (raw.length === 0) throw new UserError("no paths to push: give PATH arguments or --stdin", 2);
  const paths = await Promise.all(
    raw.map((a) => resolveStorePath(a).catch((e: Error) => Promise.reject(new UserError(e.message)))),
  );
  let signingKey: SecretKey | undefined;
  if (flags.signingKey) {
    // Exit 1 for a bad key file, as push always had (provision says 2 for the same).
    const read = await readSigningKey(flags.signingKey, { formats: ["nix"] }).catch((e: Error) => {
      throw new UserError(e.message);
    });
    signingKey = read.key;
  }
  let cache: Awaited<ReturnType<typeof openCache>>;
  try {
    cache = await openCache(cacheUrl, {
      token: cacheToken(cacheUrl, flags.token),
      netrcFile: flags.netrcFile,
      cachixApi: flags.cachixApi,
      connections: Math.max(16, flags.jobs * 2),
    });
  } catch (e) {
    throw new UserError((e as Error).message);
  }

  const interrupt = abortOnSigint(() =>
    process.stderr.write("\nnixcache: interrupted; stopping uploads (Ctrl-C again to quit at once)\n"),
  );
  const progress = flags.json ? undefined : new Progress(!!process.stderr.isTTY, !!flags.dryRun);
  let summary: PushSummary;
  try {
    summary = await push(cache, paths, {
      compression: flags.compression,
      level: flags.compressionLevel,
      jobs: flags.jobs,
      signingKey,
      dryRun: flags.dryRun,
      signal: interrupt.signal,
      onEvent: (e) => progress?.event(e),
    });
  } finally {
    progress?.stop();
    interrupt.dispose();
    await cache.close();
  }
  if (flags.json) printJson(pushSummaryJson(summary));
  else {
    const text = formatPushSummary(summary);
    process.stdout.write(text.stdout);
    process.stderr.write(text.stderr);
  }
  if (interrupt.interrupted) return 130;
  return summary.failed.length > 0 ? 1 : 0;
}

/** A bar on a terminal (paths, bytes, rate, current paths); one line per path otherwise. */
class Progress {
  private bar?: cliProgress.SingleBar;
  private readonly current = new Set<string>();
  private bytes = 0;
  private total = 0;
  private done = 0;
  private readonly start = Date.now();

  constructor(
    private readonly tty: boolean,
    private readonly dryRun: boolean,
  ) {}

  event(e: PushEvent): void {
    switch (e.type) {
      case "planned":
        this.total = e.toPush;
        if (this.dryRun) return;
        if (!this.tty) {
          process.stderr.write(
            `${e.closure} paths in the closure, ${e.skipped} already in the cache, pushing ${e.toPush} (${formatBytes(e.narBytes)})\n`,
          );
        } else if (e.toPush > 0) {
          this.bar = new cliProgress.SingleBar(
            {
              format: "{bar} {value}/{total} paths | {bytes} | {rate} | {current}",
              hideCursor: true,
              clearOnComplete: true,
              barsize: 20,
              stream: process.stderr,
            },
            cliProgress.Presets.shades_classic,
          );
          this.bar.start(e.toPush, 0, this.payload());
        }
        return;
      case "started":
        this.current.add(e.path);
        break;
      case "progress":
        this.bytes += e.narBytes;
        break;
      case "pushed":
        this.current.delete(e.path);
        this.done++;
        if (!this.tty)
          process.stderr.write(
            `[${this.done}/${this.total}] pushed ${e.path} (${formatBytes(e.narSize)} → ${formatBytes(e.fileSize)})\n`,
          );
        break;
      case "failed":
        this.current.delete(e.path);
        if (!this.tty) process.stderr.write(`failed ${e.path}: ${e.error}\n`);
        break;
    }
    this.bar?.update(this.done, this.payload());
  }

  private payload(): Record<string, string> {
    const secs = Math.max(0.001, (Date.now() - this.start) / 1000);
    const names = [...this.current].map((p) => p.slice(p.indexOf("-") + 1));
    const cur = names.slice(0, 3).join(", ") + (names.length > 3 ? ` +${names.length - 3}` : "");
    return { bytes: formatBytes(this.bytes), rate: `${formatBytes(this.bytes / secs)}/s`, current: cur };
  }

  stop(): void {
    this.bar?.stop();
  }
}
