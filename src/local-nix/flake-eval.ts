import { fileURLToPath } from "node:url";
import { z } from "zod";
import { mapLimit } from "../util/limiter.js";
import { FlakeEvalError, type FlakeSource, flakeRefDir } from "./flake-ref.js";
import { NixCommandError, runNix } from "./nix-command.js";

/**
 * Evaluating a flake's targets: every selected attribute for every system in one `nix eval`
 * process, without building. Selection data comes in as plain pattern parts (the matching rules
 * live in src/targets/select.ts; the Nix copy below mirrors them and the caller cross-checks).
 */

export interface SelectionSection {
  include: string[][];
  exclude: string[][];
}

export interface EvaluatedTarget {
  path: string[];
  name: string;
  system: string;
  drvPath: string;
  /** The `out` output (or the first output when there is no `out`). */
  outPath: string;
  outputs: Record<string, string>;
}

export interface FailedTarget {
  path: string[];
  error: string;
}

export type TargetResult = EvaluatedTarget | FailedTarget;

export interface FlakeEvalResult {
  /** Every candidate attribute the flake has (before selection). */
  candidates: string[][];
  /** The selected attributes, in candidate order. */
  selected: string[][];
  /** One entry per selected attribute, same order. */
  results: TargetResult[];
  /**
   * The `configFlake`'s `garnix.config` output as JSON, when it has one; nothing was evaluated or
   * selected then (the lists are empty): select again with it.
   */
  garnixConfig?: unknown;
  /** Set instead when the `configFlake` has `garnix.config` but it does not evaluate: Nix's message. */
  garnixConfigError?: string;
}

/** What a flake's `garnix.config` output gave: its JSON, Nix's error, or nothing (no such output). */
export type FlakeConfigResult = { garnixConfig: unknown } | { garnixConfigError: string } | undefined;

// The evaluator is a Nix file beside this one (copied next to the compiled module by `npm run
// build`), imported by path so that neither it nor the spec needs escaping.
const EVAL_FILE = fileURLToPath(new URL("./eval-targets.nix", import.meta.url));
const EVAL_EXPR = 'import (builtins.getEnv "NIXCACHE_EVAL_FILE")';

const RawTarget = z.object({
  name: z.string(),
  system: z.string(),
  drvPath: z.string(),
  mainOut: z.string(),
  outputs: z.record(z.string(), z.string()),
});
type RawTarget = z.infer<typeof RawTarget>;

/** What eval-targets.nix prints; checked, as a newer Nix or a broken flake may print otherwise. */
const RawOutput = z.object({
  candidates: z.array(z.array(z.string())),
  selected: z.array(z.array(z.string())),
  results: z.array(RawTarget.nullable()),
  /** The config flake's `garnix.config` as JSON text (null: it threw), or null: no such output. */
  config: z.object({ json: z.string().nullable() }).nullable(),
});
type RawOutput = z.infer<typeof RawOutput>;

function toResult(p: string[], r: RawTarget | null): TargetResult {
  if (r === null) return { path: p, error: "" };
  return {
    path: p,
    name: r.name,
    system: r.system,
    drvPath: r.drvPath,
    outPath: r.mainOut,
    outputs: r.outputs,
  };
}

/** Where to look for candidates: the systems and output kinds (src/targets/select.ts has the lists). */
export interface CandidateKinds {
  systems: readonly string[];
  /** `<kind>.<system>.<name>` outputs. */
  perSystemSets: readonly string[];
  /** `<kind>.<system>` outputs. */
  perSystemSingles: readonly string[];
  /** `<kind>.<name>` outputs that build a toplevel or activation package. */
  configurations: readonly string[];
}

interface Spec {
  flake: string;
  /** A flake whose `garnix.config` output, if any, is returned instead of evaluating targets. */
  configFlake: string | null;
  candidates: CandidateKinds;
  /** "config": only the config flake's `garnix.config`; "has-config": only whether it has one. */
  mode: "select" | "list" | "paths" | "config" | "has-config";
  sections: SelectionSection[];
  systems: string[] | null;
  paths: string[][];
  catch: boolean;
}

async function runEval(spec: Spec, cwd?: string): Promise<RawOutput> {
  const out = await runNix(["eval", "--json", "--impure", "--expr", EVAL_EXPR], {
    env: { ...process.env, NIXCACHE_EVAL_FILE: EVAL_FILE, NIXCACHE_EVAL_SPEC: JSON.stringify(spec) },
    cwd,
  });
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch {
    throw new FlakeEvalError("nix eval printed something that is not JSON");
  }
  const parsed = RawOutput.safeParse(json);
  if (!parsed.success)
    throw new FlakeEvalError(
      `unexpected output of the evaluator: ${parsed.error.issues.map((i) => `${i.path.join(".") || "output"}: ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}

/** The message Nix gave, without the location excerpt, trace hint or warnings. */
export function nixErrorMessage(stderr: string): string {
  const lines = stderr.split("\n");
  const start = lines.findIndex((l) => l.startsWith("error:"));
  if (start < 0) return stderr.trim() || "evaluation failed";
  const para: string[] = [];
  for (const l of lines.slice(start)) {
    if (l.trim() === "" || l.startsWith("(use '--show-trace'")) break;
    para.push(l.trim());
  }
  return para.join(" ").replace(/^error:\s*/, "");
}

function errorText(e: unknown): string {
  return e instanceof NixCommandError
    ? nixErrorMessage(e.stderr)
    : e instanceof Error
      ? e.message
      : String(e);
}

export interface EvalOptions {
  /** Where to look for candidate attributes. */
  candidates: CandidateKinds;
  /**
   * A flake (often this one) whose `garnix.config` output takes the place of `sections` when it
   * has one: then nothing is evaluated and the result carries `garnixConfig` (or
   * `garnixConfigError`). Checked in the same Nix process, so a flake without it costs nothing.
   */
  configFlake?: FlakeSource;
  sections: SelectionSection[];
  /** Only these systems (configurations are filtered by the system they evaluate to). */
  systems?: readonly string[];
  /** Parallel Nix processes when recovering from errors. */
  recoveryConcurrency?: number;
}

/**
 * Lists the flake's candidate attributes, selects with `sections`, and evaluates the selected ones,
 * all in one `nix eval` process. Targets that fail are reported with Nix's message; the rest still
 * come out. Only if Nix aborts outright (errors `tryEval` cannot catch) are the selected targets
 * split in halves and re-evaluated, so one bad attribute costs O(log n) extra processes.
 */
export async function evalFlakeTargets(flake: FlakeSource, opts: EvalOptions): Promise<FlakeEvalResult> {
  let base: Spec = {
    flake: flake.ref,
    configFlake: opts.configFlake?.ref ?? null,
    candidates: opts.candidates,
    mode: "select",
    sections: opts.sections,
    systems: opts.systems ? [...opts.systems] : null,
    paths: [],
    catch: true,
  };
  const conc = opts.recoveryConcurrency ?? 2;
  const noTargets = (cfg: NonNullable<FlakeConfigResult>): FlakeEvalResult => ({
    candidates: [],
    selected: [],
    results: [],
    ...cfg,
  });
  let raw: RawOutput;
  let results: TargetResult[];
  let first: RawOutput | undefined;
  try {
    first = await runEval(base);
  } catch {
    // The config flake's garnix.config, the flake itself (then listing fails too) or some target
    // aborted: garnix.config first, alone.
    if (opts.configFlake !== undefined) {
      const cfg = await flakeConfig(base, opts.configFlake);
      if (cfg !== undefined) return noTargets(cfg);
      base = { ...base, configFlake: null };
    }
  }
  if (first?.config) {
    if (first.config.json !== null)
      return noTargets({ garnixConfig: JSON.parse(first.config.json) as unknown });
    const cfg = await flakeConfig(base, opts.configFlake as FlakeSource);
    return noTargets(
      cfg ?? { garnixConfigError: "it failed to evaluate, then was not there when evaluated again" },
    );
  }
  if (first !== undefined) {
    raw = first;
    results = first.results.map((r, i) => toResult(first.selected[i] as string[], r));
  } else {
    try {
      raw = await runEval({ ...base, mode: "list" });
    } catch (e2) {
      throw new FlakeEvalError(`cannot evaluate flake ${flake.input}: ${errorText(e2)}`);
    }
    results = await bisect(base, raw.selected, conc);
  }
  base = { ...base, configFlake: null };
  // A `null` from tryEval carries no message: re-evaluate just those, uncaught, to get Nix's words.
  const failed = results.filter((r): r is FailedTarget => "error" in r && r.error === "");
  await mapLimit(failed, conc, async (f) => {
    try {
      await runEval({ ...base, mode: "paths", paths: [f.path], catch: false });
      f.error = "evaluation failed (tryEval) but succeeded on its own";
    } catch (e) {
      f.error = errorText(e);
    }
  });
  let out = results;
  if (opts.systems) {
    const want = new Set(opts.systems);
    out = results.filter((r) => !("system" in r) || want.has(r.system));
  }
  return { candidates: raw.candidates, selected: out.map((r) => r.path), results: out };
}

/**
 * The config flake's `garnix.config`, uncaught so that a failure comes with Nix's message; when
 * even that fails, whether the output exists at all tells the flake's fault from the output's.
 */
async function flakeConfig(base: Spec, configFlake: FlakeSource): Promise<FlakeConfigResult> {
  const spec: Spec = { ...base, configFlake: configFlake.ref, mode: "config", catch: false };
  try {
    const raw = await runEval(spec);
    if (raw.config === null) return undefined;
    return { garnixConfig: JSON.parse(raw.config.json ?? "null") as unknown };
  } catch (e) {
    let has: RawOutput;
    try {
      has = await runEval({ ...spec, mode: "has-config" });
    } catch (e2) {
      throw new FlakeEvalError(`cannot evaluate flake ${configFlake.input}: ${errorText(e2)}`);
    }
    if (has.config === null)
      throw new FlakeEvalError(`cannot evaluate flake ${configFlake.input}: ${errorText(e)}`);
    return { garnixConfigError: errorText(e) };
  }
}

/**
 * Only the flake's `garnix.config` output: its JSON, Nix's message when it does not evaluate, or
 * undefined when the flake has no such output (one Nix process).
 */
export async function readFlakeGarnixConfig(flake: FlakeSource): Promise<FlakeConfigResult> {
  const spec: Spec = {
    flake: flake.ref,
    configFlake: flake.ref,
    candidates: { systems: [], perSystemSets: [], perSystemSingles: [], configurations: [] },
    mode: "config",
    sections: [],
    systems: null,
    paths: [],
    catch: false,
  };
  return flakeConfig(spec, flake);
}

async function bisect(base: Spec, paths: string[][], conc: number): Promise<TargetResult[]> {
  if (paths.length === 0) return [];
  try {
    const raw = await runEval({ ...base, mode: "paths", paths });
    return raw.results.map((r, i) => toResult(paths[i] as string[], r));
  } catch (e) {
    if (paths.length === 1) return [{ path: paths[0] as string[], error: errorText(e) }];
    const mid = Math.ceil(paths.length / 2);
    const halves = await mapLimit([paths.slice(0, mid), paths.slice(mid)], conc, (h) =>
      bisect(base, h, conc),
    );
    return halves.flat();
  }
}

/**
 * Evaluates `expr` impurely (it may read files and the environment; its inputs come through `env`,
 * so nothing needs quoting) and parses the JSON Nix prints. A failure rejects with `failed(why)`,
 * `why` being Nix's own message without its trace.
 */
export async function evalImpureJson(
  expr: string,
  env: Record<string, string>,
  failed: (why: string) => Error,
): Promise<unknown> {
  let out: string;
  try {
    out = await runNix(["eval", "--json", "--impure", "--expr", expr], { env: { ...process.env, ...env } });
  } catch (e) {
    throw failed(errorText(e));
  }
  return JSON.parse(out) as unknown;
}

/**
 * Reads a file from the flake's directory (for remote flakes' `garnix.yaml`, `flake.nix`): relative
 * to the `?dir=` the reference names, as the flake's own files are; null when absent.
 */
export async function readFlakeFile(flake: FlakeSource, relPath: string): Promise<string | null> {
  // A flake's outPath is its whole source tree, also when `?dir=` puts flake.nix in a subdirectory.
  const expr = `
let
  f = builtins.getFlake (builtins.getEnv "NIXCACHE_FLAKE");
  p = f.outPath + "/" + builtins.getEnv "NIXCACHE_FILE";
in if builtins.pathExists p then builtins.readFile p else null`;
  const dir = flakeRefDir(flake.ref);
  return (await evalImpureJson(
    expr,
    { NIXCACHE_FLAKE: flake.ref, NIXCACHE_FILE: dir ? `${dir}/${relPath}` : relPath },
    (why) => new FlakeEvalError(`cannot read ${relPath} from flake ${flake.input}: ${why}`),
  )) as string | null;
}
