import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  evalFlakeTargets,
  type FlakeSource,
  readFlakeFile,
  resolveFlakeRef,
} from "../local-store/flake-eval.js";
import {
  defaultGarnixConfig,
  type GarnixConfig,
  GarnixConfigError,
  parseGarnixConfig,
} from "./garnix-config.js";
import {
  applicableSections,
  attrText,
  CANDIDATE_SYSTEMS,
  CONFIGURATIONS,
  PER_SYSTEM_SETS,
  PER_SYSTEM_SINGLES,
  pathSystem,
  selectPaths,
} from "./select.js";

/** One build target: a selected flake attribute, evaluated (or the error it failed with). */
export interface Target {
  /** e.g. `packages.x86_64-linux.hello`. */
  attr: string;
  system: string;
  name: string | null;
  /** The `out` output. */
  outPath: string | null;
  /** All outputs, by output name. */
  outputs: Record<string, string> | null;
  drvPath: string | null;
  /** Set when the attribute did not evaluate; the other fields are then null (system if known). */
  error?: string;
}

export interface ResolveOptions {
  /** Flake reference; default `.`. */
  flake?: string;
  /** A garnix.yaml to use instead of the flake's own. */
  configFile?: string;
  /** The branch being pushed; sections with another `branch:` do not apply. */
  branch?: string;
  /** Only targets for these systems. */
  systems?: readonly string[];
  cwd?: string;
}

export interface ResolvedTargets {
  targets: Target[];
  warnings: string[];
  /** Where the selection came from: a file, "default", or "none" (no flake.nix). */
  configSource: string;
  flake?: FlakeSource;
}

async function loadConfig(flake: FlakeSource, opts: ResolveOptions): Promise<GarnixConfig> {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.configFile !== undefined) {
    const file = path.resolve(cwd, opts.configFile);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new GarnixConfigError(
        `cannot read config ${opts.configFile}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    return parseGarnixConfig(text, opts.configFile);
  }
  if (flake.localDir !== undefined) {
    const file = path.join(flake.localDir, "garnix.yaml");
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return defaultGarnixConfig();
      throw e;
    }
    return parseGarnixConfig(text, path.relative(cwd, file) || file);
  }
  const text = await readFlakeFile(flake, "garnix.yaml");
  return text === null ? defaultGarnixConfig() : parseGarnixConfig(text, `${flake.input}/garnix.yaml`);
}

/**
 * The flake's target set: garnix.yaml (or Garnix's defaults) applied to the flake's candidate
 * attributes, every selected one evaluated for every system in one Nix process, nothing built.
 * This is the one source of truth the build, the workflow generator and verify all share.
 */
export async function resolveTargets(opts: ResolveOptions = {}): Promise<ResolvedTargets> {
  const flake = resolveFlakeRef(opts.flake ?? ".", opts.cwd);
  if (flake === undefined) {
    return {
      targets: [],
      warnings: [`no flake.nix in ${opts.flake ?? "."}; nothing to build`],
      configSource: "none",
    };
  }
  const config = await loadConfig(flake, opts);
  const sections = applicableSections(config.sections, opts.branch);
  const evalOpts: Parameters<typeof evalFlakeTargets>[1] = {
    candidates: {
      systems: CANDIDATE_SYSTEMS,
      perSystemSets: PER_SYSTEM_SETS,
      perSystemSingles: PER_SYSTEM_SINGLES,
      configurations: CONFIGURATIONS,
    },
    sections: sections.map((s) => ({
      include: s.include.map((p) => p.parts),
      exclude: s.exclude.map((p) => p.parts),
    })),
  };
  if (opts.systems) evalOpts.systems = opts.systems;
  const ev = await evalFlakeTargets(flake, evalOpts);
  // The Nix side selects so that one process suffices; check it agrees with the TypeScript rules.
  const want = new Set(
    selectPaths(config.sections, ev.candidates, opts.branch)
      .filter(
        (p) => !opts.systems || pathSystem(p) === undefined || opts.systems.includes(pathSystem(p) as string),
      )
      .map(attrText),
  );
  const got = ev.results.map((r) => attrText(r.path));
  const stray = got.filter((a) => !want.has(a));
  const gotSet = new Set(got);
  if (!opts.systems) stray.push(...[...want].filter((a) => !gotSet.has(a)));
  if (stray.length > 0)
    throw new Error(`internal error: Nix selected ${stray.join(", ")} differently from the rules`);
  const targets = ev.results.map((r): Target => {
    const attr = attrText(r.path);
    if ("error" in r) {
      return {
        attr,
        system: pathSystem(r.path) ?? "unknown",
        name: null,
        outPath: null,
        outputs: null,
        drvPath: null,
        error: r.error,
      };
    }
    return {
      attr,
      system: r.system,
      name: r.name,
      outPath: r.outPath,
      outputs: r.outputs,
      drvPath: r.drvPath,
    };
  });
  return { targets, warnings: config.warnings, configSource: config.source, flake };
}
