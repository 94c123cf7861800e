import type { BinaryCache } from "../caches/types.js";
import type { PublicKey } from "../nix/signing.js";
import { DEFAULT_STORE_DIR, parseStorePath, parseStorePathBase } from "../nix/store-path.js";
import type { Target } from "../targets/resolve.js";
import { type Lookup, PathLookup } from "./lookup.js";

/**
 * The "Cache Only" guard: is every target's output (and, with `closure`, every path of its runtime
 * closure) substitutable from the given caches and signed by a trusted key? The closure is walked
 * through the caches' narinfo References, so it works for systems never built on this machine.
 */

export type TargetStatus = "ok" | "missing" | "unsigned" | "incomplete" | "error";

export interface TargetCheck {
  attr: string;
  system: string;
  name: string | null;
  outPath: string | null;
  status: TargetStatus;
  /** The cache the output comes from (when present). */
  cache: string | null;
  /** Store paths no cache has (the output itself, or closure members). */
  missing: string[];
  /** Store paths present only without a trusted signature. */
  unsigned: string[];
  /** Paths in the closure that were found (with `closure`). */
  closureSize: number | null;
  /** Evaluation error, or cache errors seen while looking. */
  error?: string;
}

export interface VerifyReport {
  caches: string[];
  /** Names of the trusted keys; empty means only presence was checked. */
  trustedKeys: string[];
  signaturesChecked: boolean;
  closure: boolean;
  complete: boolean;
  counts: Record<TargetStatus, number> & { total: number };
  targets: TargetCheck[];
  /** Distinct store paths looked up, and narinfo requests made (over all checks). */
  pathsChecked: number;
  requests: number;
  /** How many times the caches were checked (1 without --wait). */
  rounds: number;
}

export interface WaitOptions {
  /** Give up when this much time has passed since the start. */
  timeoutMs: number;
  intervalMs: number;
}

export type VerifyProgress =
  | { phase: "check"; done: number; total: number }
  | { phase: "wait"; incomplete: number; total: number; nextInMs: number; remainingMs: number };

export interface VerifyOptions {
  caches: readonly BinaryCache[];
  trustedKeys: readonly PublicKey[];
  closure?: boolean;
  wait?: WaitOptions;
  /** Cache requests in flight (default 32). */
  concurrency?: number;
  onProgress?: (p: VerifyProgress) => void;
  /** For tests: how to wait between rounds. */
  sleep?: (ms: number) => Promise<void>;
}

const hashOf = (path: string) => parseStorePath(path).hash;

async function checkTarget(t: Target, lookup: PathLookup, closure: boolean): Promise<TargetCheck> {
  const base = { attr: t.attr, system: t.system, name: t.name, outPath: t.outPath };
  if (t.error !== undefined || t.outPath === null) {
    return {
      ...base,
      status: "error",
      cache: null,
      missing: [],
      unsigned: [],
      closureSize: null,
      error: t.error ?? "no output path",
    };
  }
  const top = await lookup.lookup(hashOf(t.outPath));
  const problems = top.state === "missing" ? top.problems : [];
  const result: TargetCheck = {
    ...base,
    status: top.state,
    cache: top.state === "ok" ? top.cache : null,
    missing: top.state === "missing" ? [t.outPath] : [],
    unsigned: top.state === "unsigned" ? [t.outPath] : [],
    closureSize: null,
  };
  if (closure && top.state !== "missing") {
    // Each path's references are looked up as soon as its narinfo arrives (no level-by-level
    // barrier), so the walk takes about one round trip per step of the longest reference chain.
    const seen = new Set<string>([t.outPath]);
    let found = 1;
    const follow = async (l: Lookup): Promise<void> => {
      if (l.state === "missing") return;
      const next: string[] = [];
      for (const ref of l.narInfo.references) {
        const p = `${DEFAULT_STORE_DIR}/${ref}`;
        if (!seen.has(p)) {
          seen.add(p);
          next.push(p);
        }
      }
      await Promise.all(
        next.map(async (p) => {
          const r = await lookup.lookup(parseStorePathBase(p.slice(DEFAULT_STORE_DIR.length + 1)).hash);
          if (r.state === "missing") {
            result.missing.push(p);
            problems.push(...r.problems);
          } else {
            found++;
            if (r.state === "unsigned") result.unsigned.push(p);
          }
          await follow(r);
        }),
      );
    };
    await follow(top);
    result.closureSize = found;
    if (result.status === "ok" && (result.missing.length > 0 || result.unsigned.length > 0))
      result.status = "incomplete";
  }
  result.missing.sort();
  result.unsigned.sort();
  if (problems.length > 0) result.error = [...new Set(problems)].join("; ");
  return result;
}

function counts(checks: readonly TargetCheck[]): VerifyReport["counts"] {
  const c = { ok: 0, missing: 0, unsigned: 0, incomplete: 0, error: 0, total: checks.length };
  for (const t of checks) c[t.status]++;
  return c;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Checks every target against the caches; with `wait`, re-checks what is incomplete until the deadline. */
export async function verifyTargets(targets: readonly Target[], opts: VerifyOptions): Promise<VerifyReport> {
  const closure = opts.closure ?? false;
  const lookup = new PathLookup(opts.caches, opts.trustedKeys, opts.concurrency ?? 32);
  const start = Date.now();
  const sleep = opts.sleep ?? defaultSleep;
  const checks: TargetCheck[] = new Array(targets.length);
  let pending = targets.map((_, i) => i);
  let rounds = 0;
  for (;;) {
    rounds++;
    let done = 0;
    opts.onProgress?.({ phase: "check", done, total: pending.length });
    await Promise.all(
      pending.map(async (i) => {
        checks[i] = await checkTarget(targets[i] as Target, lookup, closure);
        opts.onProgress?.({ phase: "check", done: ++done, total: pending.length });
      }),
    );
    // Evaluation errors do not heal by waiting; everything else might (a build still pushing).
    pending = pending.filter((i) => {
      const s = (checks[i] as TargetCheck).status;
      return s !== "ok" && s !== "error";
    });
    if (pending.length === 0 || !opts.wait) break;
    const elapsed = Date.now() - start;
    const remainingMs = opts.wait.timeoutMs - elapsed;
    if (remainingMs < opts.wait.intervalMs) break;
    opts.onProgress?.({
      phase: "wait",
      incomplete: pending.length,
      total: targets.length,
      nextInMs: opts.wait.intervalMs,
      remainingMs,
    });
    await sleep(opts.wait.intervalMs);
    await lookup.forgetIncomplete();
  }
  const c = counts(checks);
  return {
    caches: opts.caches.map((x) => x.url),
    trustedKeys: opts.trustedKeys.map((k) => k.name),
    signaturesChecked: opts.trustedKeys.length > 0,
    closure,
    complete: c.ok === c.total,
    counts: c,
    targets: checks,
    pathsChecked: lookup.size,
    requests: lookup.requests,
    rounds,
  };
}

/** Exit status: 0 complete, 1 something missing or unsigned, 2 evaluation errors. */
export function verifyExitCode(r: VerifyReport): number {
  if (r.counts.error > 0) return 2;
  return r.complete ? 0 : 1;
}
