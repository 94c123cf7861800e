// Building derivations with real Nix and learning, as it happens, what Nix is doing.
//
// We run one `nix-store --realise` over every derivation (not one process per target): Nix then
// schedules the whole graph itself under the user's max-jobs/cores, shares dependencies, and the
// flake is not evaluated again (the derivations exist since evaluation). Its
// `--log-format internal-json` stream says when each build starts, carries its log lines, and
// ticks a progress counter whenever a build or substitution finishes; the caller re-checks which
// outputs became valid on each tick (Nix 2.8 only ends a successful build's activity when the
// whole run ends, so the end of an activity is not the signal).
//
// The activity and result types of the stream are the same numbers from Nix 2.8 to 2.35 and in
// Lix (newer versions only add types, which are ignored); what changed is the words of a failed
// build: "builder for '<drv>' failed with exit code 1" up to Nix 2.29 and in Lix, "Cannot build
// '<drv>'.\nReason: builder failed with exit code 1." from 2.30. `failedBuilds` reads both.
import { spawn } from "node:child_process";
import { NixCommandError, runNixProgram, stripAnsi } from "./nix-command.js";

export { stripAnsi } from "./nix-command.js";

export type RealiseEvent =
  | { type: "build-started"; drv: string }
  | { type: "substitute-started"; path: string }
  | { type: "log"; drv: string; line: string }
  /** A build or substitution ended somewhere: outputs may have become valid. */
  | { type: "tick" }
  | { type: "error"; message: string };

export interface RealiseOptions {
  keepGoing?: boolean;
  maxJobs?: string;
  cores?: string;
  /** More `nix-store` arguments, passed as they are. */
  extraArgs?: readonly string[];
  signal?: AbortSignal;
  onEvent: (e: RealiseEvent) => void;
}

export interface RealiseResult {
  /** nix-store's exit status (0 all built; 1, 100-104 some failed). */
  exitCode: number;
  /** Error messages Nix printed (without colour codes). */
  errors: string[];
}

// Activity and result type numbers of Nix's logger (libutil/logging.hh), stable since 2.0.
const ACT_BUILD = 105;
const ACT_SUBSTITUTE = 108;
const RES_BUILD_LOG_LINE = 101;
const RES_PROGRESS = 105;

/** Turns one line of Nix's internal-json stream into events (pure, for tests). */
export class InternalJsonParser {
  private readonly buildOf = new Map<number, string>();
  private readonly doneOf = new Map<number, number>();

  constructor(private readonly emit: (e: RealiseEvent) => void) {}

  line(text: string): void {
    if (!text.startsWith("@nix ")) {
      const t = stripAnsi(text).trim();
      if (t.startsWith("error:")) this.emit({ type: "error", message: t.replace(/^error:\s*/, "") });
      return;
    }
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text.slice(5)) as Record<string, unknown>;
    } catch {
      return;
    }
    const id = typeof m.id === "number" ? m.id : -1;
    const fields = Array.isArray(m.fields) ? (m.fields as unknown[]) : [];
    switch (m.action) {
      case "start":
        if (m.type === ACT_BUILD && typeof fields[0] === "string") {
          this.buildOf.set(id, fields[0]);
          this.emit({ type: "build-started", drv: fields[0] });
        } else if (m.type === ACT_SUBSTITUTE && typeof fields[0] === "string") {
          this.emit({ type: "substitute-started", path: fields[0] });
        }
        return;
      case "stop":
        this.emit({ type: "tick" });
        return;
      case "result":
        if (m.type === RES_BUILD_LOG_LINE && typeof fields[0] === "string") {
          const drv = this.buildOf.get(id);
          if (drv) this.emit({ type: "log", drv, line: stripAnsi(fields[0]) });
        } else if (m.type === RES_PROGRESS && typeof fields[0] === "number") {
          // [done, expected, running, failed] of the builds / copies activity.
          const before = this.doneOf.get(id) ?? 0;
          const failed = typeof fields[3] === "number" ? fields[3] : 0;
          const now = fields[0] + failed;
          if (now > before) {
            this.doneOf.set(id, now);
            this.emit({ type: "tick" });
          }
        }
        return;
      case "msg":
        if (m.level === 0 && typeof m.msg === "string")
          this.emit({ type: "error", message: stripAnsi(m.msg).replace(/^error:\s*/, "") });
        return;
    }
  }
}

/** Builds (or substitutes) the outputs of `drvs` in one `nix-store --realise`. */
export function realise(drvs: readonly string[], opts: RealiseOptions): Promise<RealiseResult> {
  const args = ["--realise", "--log-format", "internal-json"];
  if (opts.keepGoing) args.push("--keep-going");
  if (opts.maxJobs !== undefined) args.push("--max-jobs", opts.maxJobs);
  if (opts.cores !== undefined) args.push("--cores", opts.cores);
  args.push(...(opts.extraArgs ?? []), ...drvs);
  return new Promise((resolve, reject) => {
    const errors: string[] = [];
    const parser = new InternalJsonParser((e) => {
      if (e.type === "error") errors.push(e.message);
      opts.onEvent(e);
    });
    const child = spawn("nix-store", args, { stdio: ["ignore", "ignore", "pipe"] });
    const onAbort = () => child.kill("SIGINT");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let rest = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const l of lines) parser.line(l);
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(
        new NixCommandError(
          e.code === "ENOENT"
            ? "nix-store is not installed or not on PATH"
            : `cannot run nix-store: ${e.message}`,
          null,
          "",
        ),
      );
    });
    child.on("close", (code, sig) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (rest) parser.line(rest);
      resolve({ exitCode: code ?? (sig ? 128 : 1), errors });
    });
  });
}

/** Of these store paths, the ones that are not valid in the local store. */
export async function invalidPaths(paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const out = await runNixProgram("nix-store", ["--check-validity", "--print-invalid", ...paths]);
  return new Set(out.split("\n").filter(Boolean));
}

/**
 * The derivations Nix said failed to build, each with one line saying why (pure). Words of every
 * version are read: Nix up to 2.29 and Lix say "builder for '<drv>' failed with exit code 3"; Nix
 * 2.30+ say "Cannot build '<drv>'.\nReason: builder failed with exit code 3." (normalised to the
 * older sentence, so that a report reads the same on every Nix). "Reason: 1 dependency failed"
 * is not a failure of that derivation's own build and is left out.
 */
export function failedBuilds(errors: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of errors) {
    const e = stripAnsi(raw);
    const old = /builder for '([^']+\.drv)' (failed[^\n;]*)/.exec(e);
    if (old?.[1]) {
      out.set(old[1], `builder for '${old[1]}' ${old[2]?.replace(/[;.]$/, "")}`);
      continue;
    }
    const now = /Cannot build '([^']+\.drv)'\.\s+Reason: ([^\n]*)/.exec(e);
    if (now?.[1]) {
      const reason = (now[2] ?? "").trim().replace(/\.$/, "");
      if (/^\d+ dependenc(?:y|ies) failed/.test(reason)) continue;
      out.set(
        now[1],
        reason.startsWith("builder ")
          ? `builder for '${now[1]}' ${reason.slice("builder ".length)}`
          : `cannot build '${now[1]}': ${reason}`,
      );
      continue;
    }
    const whole = /build of '([^'^]+\.drv)(?:\^[^']*)?' failed[^\n]*/.exec(e);
    if (whole?.[1]) out.set(whole[1], whole[0].replace(/;$/, ""));
  }
  return out;
}

/** Every store path `drv` needs to be built: its closure (`nix-store --query --requisites`). */
export async function derivationRequisites(drv: string): Promise<string[]> {
  const out = await runNixProgram("nix-store", ["--query", "--requisites", drv]);
  return out.split("\n").filter(Boolean);
}
