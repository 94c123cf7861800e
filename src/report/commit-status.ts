// GitHub commit statuses as Garnix named its checks: one context per target (`package hello
// [x86_64-linux]`), one aggregate (`All nixcache checks`), descriptions within GitHub's 140
// characters. Pure: what to say; src/github/ says it.
import { parseAttrText } from "../targets/select.js";

/** The aggregate context to require in branch protection. */
export const AGGREGATE_CONTEXT = "All nixcache checks";

/** GitHub cuts (or refuses) longer descriptions. */
export const DESCRIPTION_MAX = 140;

export type StatusState = "pending" | "success" | "failure" | "error";

/** One status to write on the commit. */
export interface StatusUpdate {
  context: string;
  state: StatusState;
  description: string;
  /** The log, report or job it links to. */
  targetUrl?: string;
}

/** A name as it appears in a context: raw when readable, quoted when it would be ambiguous. */
function shown(name: string): string {
  // Printable, no brackets (the system's delimiters), no edge spaces: as is (Garnix printed names raw).
  if (
    /^[\x21-\x7e\u00a0-\uffff]([\x20-\x7e\u00a0-\uffff]*[\x21-\x7e\u00a0-\uffff])?$/.test(name) &&
    !/[[\]"]/.test(name)
  )
    return name;
  return JSON.stringify(name);
}

const KINDS: Record<string, string> = {
  packages: "package",
  checks: "check",
  devShells: "devShell",
  apps: "app",
};
const CONFIGS: Record<string, string> = {
  nixosConfigurations: "nixosConfig",
  homeConfigurations: "homeConfig",
  darwinConfigurations: "darwinConfig",
};

/** The commit status context of a target attribute (as `nixcache targets` prints it). */
export function statusContext(attr: string): string {
  const path = parseAttrText(attr);
  const [kind, second, third] = path;
  if (kind !== undefined && second !== undefined) {
    const perSystem = KINDS[kind];
    if (perSystem && third !== undefined && path.length === 3)
      return `${perSystem} ${shown(third)} [${second}]`;
    if (path.length === 2) {
      if (kind === "defaultPackage") return `default package [${second}]`;
      if (kind === "devShell") return `default devShell [${second}]`;
      const config = CONFIGS[kind];
      if (config) return `${config} ${shown(second)}`;
    }
  }
  return attr;
}

/** Whether a context is one nixcache writes (for the pull-request comment's reading of the commit). */
export function isNixcacheContext(context: string): boolean {
  return (
    context === AGGREGATE_CONTEXT ||
    /^(package|check|devShell|app) .+ \[[^\]]+\]$/.test(context) ||
    /^default (package|devShell) \[[^\]]+\]$/.test(context) ||
    /^(nixosConfig|homeConfig|darwinConfig) .+$/.test(context)
  );
}

/** One line, within GitHub's limit (cut with an ellipsis); `keep` is kept whole at the end. */
export function statusDescription(text: string, keep = ""): string {
  const one = text.replace(/\s+/g, " ").trim();
  const room = DESCRIPTION_MAX - keep.length;
  return `${one.length > room ? `${one.slice(0, room - 1)}…` : one}${keep}`;
}

/** The first line that says something of an error message (Nix's start with `error:`). */
export function firstErrorLine(error: string): string {
  const lines = error
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /^error\b/i.test(l)) ?? lines[0] ?? "failed";
}

/** `12s`, `1m 05s`, `1h 02m`. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** What a build or ci run knows of a target, for its status (structural: build's and ci's targets). */
export interface TargetResult {
  attr: string;
  system: string;
  /** build's BuildStatus. */
  status: "cached" | "built" | "failed" | "not-built-here" | "eval-failed";
  error?: string;
  push: Record<string, string>;
  /** The target's log on a nixcache dashboard, when it was uploaded there. */
  logUrl?: string;
  /** ci only: what verify found afterwards (`ok`, `missing`, …). */
  verify?: string;
}

export interface TargetStatusOptions {
  /** How long the target took (from its first build event to its last), when it was built. */
  durationMs?: number;
  /** The job's page, when no log is on a dashboard. */
  jobUrl?: string;
}

/** The final status of one target. */
export function targetStatus(t: TargetResult, o: TargetStatusOptions = {}): StatusUpdate {
  const context = statusContext(t.attr);
  const url = t.logUrl ?? o.jobUrl;
  const out = (state: StatusState, text: string): StatusUpdate => ({
    context,
    state,
    description: statusDescription(text),
    ...(url !== undefined ? { targetUrl: url } : {}),
  });
  const took = o.durationMs !== undefined ? ` in ${shortDuration(o.durationMs)}` : "";
  if (t.status === "failed" || t.status === "eval-failed") {
    const what = t.status === "eval-failed" ? "evaluation failed" : "build failed";
    return out("failure", t.error ? firstErrorLine(t.error) : what);
  }
  if (t.status === "not-built-here") {
    if (t.verify === "ok") return out("success", `cached (not built: no runner for ${t.system})`);
    return out("success", `not built: no runner for ${t.system}`);
  }
  const pushFailed = Object.entries(t.push).find(([, s]) => s.startsWith("failed: "));
  const did = t.status === "cached" ? "cached: already in the cache" : `built${took}`;
  if (pushFailed)
    return out("failure", `${did}, but not pushed to ${pushFailed[0]}: ${pushFailed[1].slice(8)}`);
  if (t.verify !== undefined && t.verify !== "ok")
    return out("failure", `${did}, but not substitutable (${t.verify})`);
  return out("success", did);
}

/** What verify found for one target (structural: VerifyReport's targets and ci's). */
export interface CheckedTarget {
  attr: string;
  system: string;
  ok: boolean;
}

/** The aggregate over every target of every system: success only when all are substitutable and signed. */
export function aggregateStatus(
  targets: readonly CheckedTarget[],
  o: { targetUrl?: string; unreported?: number } = {},
): StatusUpdate {
  const bad = targets.filter((t) => !t.ok);
  const extra = o.unreported ? ` (${o.unreported} without a status of their own)` : "";
  const base = {
    context: AGGREGATE_CONTEXT,
    ...(o.targetUrl !== undefined ? { targetUrl: o.targetUrl } : {}),
  };
  if (targets.length === 0)
    return { ...base, state: "success", description: statusDescription("no targets to check", extra) };
  if (bad.length === 0)
    return {
      ...base,
      state: "success",
      description: statusDescription(
        `${targets.length}/${targets.length} targets substitutable and signed${extra}`,
      ),
    };
  // As many names as fit (at most three), then how many more: the count must never be cut off.
  const head = `${bad.length} of ${targets.length} not substitutable: `;
  let text = `${head}${statusContext(bad[0]?.attr ?? "")}${bad.length > 1 ? `, +${bad.length - 1} more` : ""}`;
  for (let n = 2; n <= Math.min(3, bad.length); n++) {
    const names = bad.slice(0, n).map((t) => statusContext(t.attr));
    const more = bad.length > n ? `, +${bad.length - n} more` : "";
    const candidate = `${head}${names.join(", ")}${more}`;
    if (candidate.length + extra.length > DESCRIPTION_MAX) break;
    text = candidate;
  }
  return { ...base, state: "failure", description: statusDescription(text, extra) };
}

/** Failures first (they matter most when only some statuses may be written), then the rest in order. */
export function failuresFirst(updates: readonly StatusUpdate[]): StatusUpdate[] {
  const rank = (s: StatusUpdate) => (s.state === "failure" || s.state === "error" ? 0 : 1);
  return [...updates].sort((a, b) => rank(a) - rank(b));
}
