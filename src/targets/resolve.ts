import { existsSync, realpathSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  evalFlakeTargets,
  type FlakeConfigResult,
  type FlakeEvalResult,
  readFlakeFile,
  readFlakeGarnixConfig,
} from "../local-nix/flake-eval.js";
import { type FlakeSource, locateFlake, withFlakeDir } from "../local-nix/flake-ref.js";
import {
  defaultGarnixConfig,
  FLAKE_CONFIG_SOURCE,
  type GarnixConfig,
  GarnixConfigError,
  parseFlakeGarnixConfig,
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
  /**
   * A garnix.yaml to use instead of the flake's own configuration (its `garnix.config` output or
   * garnix.yaml): neither is read then. Its `flakeDir` is relative to `flake`.
   */
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
  /**
   * What nixcache does instead of each Garnix feature the configuration uses that it does not
   * reproduce (`servers`, `actions`, ...): one line per key, informational.
   */
  notes: string[];
  /**
   * Where the selection came from, in Garnix's order: "garnix.config" (the flake's output of that
   * name), the garnix.yaml's path (or the `--config` file's), "default" (neither: Garnix's
   * default), or "none" (no flake.nix: nothing to build).
   */
  configSource: string;
  /** The configuration's `flakeDir` when it is not ".": the targets are that subdirectory's flake's. */
  flakeDir?: string;
  /** Garnix's `commentOnFailure` (comment on the pull request when a target fails), when set. */
  commentOnFailure?: boolean;
  /** The flake evaluated (after `flakeDir`). */
  flake?: FlakeSource;
}

/** A configuration file read, or why it cannot be used (kept: Garnix may never have read it). */
type Loaded = { source: string } & ({ config: GarnixConfig } | { error: GarnixConfigError });

async function readConfigFile(configFile: string, cwd: string): Promise<GarnixConfig> {
  const file = path.resolve(cwd, configFile);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new GarnixConfigError(
      `cannot read config ${configFile}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  return parseGarnixConfig(text, configFile);
}

/** The garnix.yaml beside the flake (in the directory the reference names); undefined when absent. */
async function readGarnixYaml(root: FlakeSource, cwd: string): Promise<Loaded | undefined> {
  let text: string | null;
  let source: string;
  if (root.localDir !== undefined) {
    const file = path.join(root.localDir, "garnix.yaml");
    source = path.relative(cwd, file) || file;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  } else {
    source = root.input.includes("?") ? `garnix.yaml in ${root.input}` : `${root.input}/garnix.yaml`;
    text = await readFlakeFile(root, "garnix.yaml");
    if (text === null) return undefined;
  }
  try {
    return { source, config: parseGarnixConfig(text, source) };
  } catch (e) {
    if (e instanceof GarnixConfigError) return { source, error: e };
    throw e;
  }
}

function label(config: GarnixConfig): string {
  return config.source === FLAKE_CONFIG_SOURCE ? "flake output garnix.config" : config.source;
}

interface Located {
  flake: FlakeSource;
  hasFlake: boolean;
}

/**
 * The flake in the configuration's `flakeDir` under `root` (Garnix: the directory holding
 * flake.nix, relative to the repository's top, which is where it read its configuration). A local
 * one must exist, hold a flake.nix and not leave `root` through a symbolic link; a URL gets the
 * directory joined onto its `?dir=`.
 */
function flakeIn(root: Located, config: GarnixConfig): Located {
  const sub = config.flakeDir;
  if (sub === ".") return root;
  const where = `${label(config)}: flakeDir ${JSON.stringify(sub)}`;
  const top = root.flake;
  if (top.localDir === undefined) {
    return {
      flake: { input: withFlakeDir(top.input, sub), ref: withFlakeDir(top.ref, sub) },
      hasFlake: true,
    };
  }
  const dir = path.join(top.localDir, sub);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new GarnixConfigError(`${where}: there is no directory ${dir}`);
  const real = realpathSync(dir);
  const realTop = realpathSync(top.localDir);
  if (real !== realTop && !real.startsWith(`${realTop}${path.sep}`))
    throw new GarnixConfigError(`${where}: ${dir} leaves ${top.localDir} (a symbolic link to ${real})`);
  if (!existsSync(path.join(dir, "flake.nix")))
    throw new GarnixConfigError(`${where}: there is no flake.nix in ${dir}`);
  const found = locateFlake(top.ref.startsWith("path:") ? `path:${dir}` : dir);
  return { flake: { ...found.flake, input: path.join(top.input, sub) }, hasFlake: true };
}

const CANDIDATES = {
  systems: CANDIDATE_SYSTEMS,
  perSystemSets: PER_SYSTEM_SETS,
  perSystemSingles: PER_SYSTEM_SINGLES,
  configurations: CONFIGURATIONS,
};

function evaluate(
  flake: FlakeSource,
  config: GarnixConfig,
  opts: ResolveOptions,
  configFlake?: FlakeSource,
): Promise<FlakeEvalResult> {
  const sections = applicableSections(config.sections, opts.branch);
  const evalOpts: Parameters<typeof evalFlakeTargets>[1] = {
    candidates: CANDIDATES,
    sections: sections.map((s) => ({
      include: s.include.map((p) => p.parts),
      exclude: s.exclude.map((p) => p.parts),
    })),
  };
  if (opts.systems) evalOpts.systems = opts.systems;
  if (configFlake) evalOpts.configFlake = configFlake;
  return evalFlakeTargets(flake, evalOpts);
}

function toTargets(ev: FlakeEvalResult, config: GarnixConfig, opts: ResolveOptions): Target[] {
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
  return ev.results.map((r): Target => {
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
}

/**
 * The flake's target set, from the configuration Garnix would have read: the flake's
 * `garnix.config` output, else its garnix.yaml, else Garnix's default (`configFile` overrides all
 * three); applied to the candidate attributes of the flake in the configuration's `flakeDir`, every
 * selected one evaluated for every system in one Nix process, nothing built. Whether the flake has
 * `garnix.config` is asked in that same process; only when it has one is a second needed. This is
 * the one source of truth the build, the workflow generator and verify all share.
 */
export async function resolveTargets(opts: ResolveOptions = {}): Promise<ResolvedTargets> {
  const cwd = opts.cwd ?? process.cwd();
  const input = opts.flake ?? ".";
  const root: Located = locateFlake(input, cwd);
  const none = (config?: GarnixConfig): ResolvedTargets => ({
    targets: [],
    warnings: [...(config?.warnings ?? []), `no flake.nix in ${input}; nothing to build`],
    notes: config?.notes ?? [],
    configSource: "none",
  });

  let yaml: Loaded | undefined;
  let config: GarnixConfig;
  let target: Located;
  const fromFlake = (r: NonNullable<FlakeConfigResult>): GarnixConfig => {
    if ("garnixConfigError" in r)
      throw new GarnixConfigError(
        `flake output garnix.config of ${root.flake.input} does not evaluate: ${r.garnixConfigError}`,
      );
    const c = parseFlakeGarnixConfig(r.garnixConfig);
    if (yaml !== undefined)
      c.warnings.unshift(
        `${yaml.source} ignored: the flake output garnix.config takes precedence, as in Garnix`,
      );
    return c;
  };

  if (opts.configFile !== undefined) {
    config = await readConfigFile(opts.configFile, cwd);
    target = flakeIn(root, config);
    if (!target.hasFlake) return none(config);
    const ev = await evaluate(target.flake, config, opts);
    return result(toTargets(ev, config, opts), config, target.flake);
  }

  if (root.flake.localDir !== undefined && !root.hasFlake) {
    // No flake here: only a garnix.yaml naming a flakeDir can point at one.
    if (!existsSync(path.join(root.flake.localDir, "garnix.yaml"))) return none();
  }
  yaml = await readGarnixYaml(root.flake, cwd);
  try {
    if (yaml !== undefined && "error" in yaml) throw yaml.error;
    config = yaml?.config ?? defaultGarnixConfig();
    target = flakeIn(root, config);
  } catch (e) {
    // Garnix read garnix.config first and never looked at the file then: the output may still win.
    if (!(e instanceof GarnixConfigError) || !root.hasFlake) throw e;
    const r = await readFlakeGarnixConfig(root.flake);
    if (r === undefined) throw e;
    config = fromFlake(r);
    target = flakeIn(root, config);
    const ev = await evaluate(target.flake, config, opts);
    return result(toTargets(ev, config, opts), config, target.flake);
  }
  if (!target.hasFlake) return none(config);
  let ev = await evaluate(target.flake, config, opts, root.hasFlake ? root.flake : undefined);
  if (ev.garnixConfig !== undefined || ev.garnixConfigError !== undefined) {
    config = fromFlake(
      ev.garnixConfigError !== undefined
        ? { garnixConfigError: ev.garnixConfigError }
        : { garnixConfig: ev.garnixConfig },
    );
    target = flakeIn(root, config);
    ev = await evaluate(target.flake, config, opts);
  }
  return result(toTargets(ev, config, opts), config, target.flake);
}

function result(targets: Target[], config: GarnixConfig, flake: FlakeSource): ResolvedTargets {
  const res: ResolvedTargets = {
    targets,
    warnings: config.warnings,
    notes: config.notes,
    configSource: config.source,
    flake,
  };
  if (config.flakeDir !== ".") res.flakeDir = config.flakeDir;
  if (config.commentOnFailure !== undefined) res.commentOnFailure = config.commentOnFailure;
  return res;
}
