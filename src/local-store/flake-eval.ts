import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { NixcacheError } from "../util/errors.js";
import { mapLimit } from "../util/limiter.js";
import { NixCommandError, runNix } from "./nix-command.js";

/**
 * Evaluating a flake's targets: every selected attribute for every system in one `nix eval`
 * process, without building. Selection data comes in as plain pattern parts (the matching rules
 * live in src/targets/select.ts; the Nix copy below mirrors them and the caller cross-checks).
 */

export class FlakeEvalError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", message, options);
  }
}

/** A flake reference ready for `builtins.getFlake`, and its directory when it is local. */
export interface FlakeSource {
  /** What the user gave. */
  input: string;
  /** The reference passed to `builtins.getFlake` (local paths become `git+file:` or `path:` URLs). */
  ref: string;
  /** The directory holding flake.nix, for local flakes. */
  localDir?: string;
}

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
}

function findGitRoot(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, ".git"))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * Turns what the user typed into a getFlake reference. Local paths are resolved like the `nix` CLI
 * does: inside a Git work tree they become `git+file:` (so untracked files stay out), else `path:`.
 * Returns undefined for a local directory without flake.nix (Garnix builds nothing then).
 */
export function resolveFlakeRef(input: string, cwd = process.cwd()): FlakeSource | undefined {
  if (input.includes("#")) {
    throw new FlakeEvalError(
      `flake reference ${JSON.stringify(input)} must not name an attribute (drop "#...")`,
    );
  }
  // Like the nix CLI, a reference without a scheme that names an existing directory is a path
  // (`examples/demo-flake` as well as `./examples/demo-flake`).
  const isPath =
    input.startsWith(".") ||
    input.startsWith("/") ||
    input.startsWith("path:") ||
    (!input.includes(":") && existsSync(path.resolve(cwd, input)));
  if (!isPath) return { input, ref: input };
  const dir = path.resolve(cwd, input.startsWith("path:") ? input.slice(5) : input);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FlakeEvalError(`flake directory ${JSON.stringify(dir)} does not exist`);
  }
  if (!existsSync(path.join(dir, "flake.nix"))) return undefined;
  const root = input.startsWith("path:") ? undefined : findGitRoot(dir);
  if (root === undefined) return { input, ref: `path:${dir}`, localDir: dir };
  const sub = path.relative(root, dir);
  const ref = `git+file://${root}${sub ? `?dir=${encodeURIComponent(sub)}` : ""}`;
  return { input, ref, localDir: dir };
}

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
  candidates: CandidateKinds;
  mode: "select" | "list" | "paths";
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
  const base: Spec = {
    flake: flake.ref,
    candidates: opts.candidates,
    mode: "select",
    sections: opts.sections,
    systems: opts.systems ? [...opts.systems] : null,
    paths: [],
    catch: true,
  };
  const conc = opts.recoveryConcurrency ?? 2;
  let raw: RawOutput;
  let results: TargetResult[];
  try {
    raw = await runEval(base);
    results = raw.results.map((r, i) => toResult(raw.selected[i] as string[], r));
  } catch (e) {
    // Either the flake itself does not evaluate (then listing fails too) or some target aborts.
    try {
      raw = await runEval({ ...base, mode: "list" });
    } catch (e2) {
      throw new FlakeEvalError(`cannot evaluate flake ${flake.input}: ${errorText(e2)}`);
    }
    void e;
    results = await bisect(base, raw.selected, conc);
  }
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

/** Reads a file from the flake's source tree (for remote flakes' `garnix.yaml`); null when absent. */
export async function readFlakeFile(flake: FlakeSource, relPath: string): Promise<string | null> {
  const expr = `
let
  f = builtins.getFlake (builtins.getEnv "NIXCACHE_FLAKE");
  p = f.outPath + "/" + builtins.getEnv "NIXCACHE_FILE";
in if builtins.pathExists p then builtins.readFile p else null`;
  return (await evalImpureJson(
    expr,
    { NIXCACHE_FLAKE: flake.ref, NIXCACHE_FILE: relPath },
    (why) => new FlakeEvalError(`cannot read ${relPath} from flake ${flake.input}: ${why}`),
  )) as string | null;
}
