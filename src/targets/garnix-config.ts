import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { NixcacheError } from "../util/errors.js";
import type { Pattern, Section } from "./select.js";

/** A Garnix configuration (garnix.yaml, the flake's `garnix.config`) that cannot be used. */
export class GarnixConfigError extends NixcacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("usage", message, options);
  }
}

/** Garnix's default include list, used when there is no `garnix.yaml` (or a section has no `include`). */
export const DEFAULT_INCLUDE = [
  "*.x86_64-linux.*",
  "defaultPackage.x86_64-linux",
  "devShell.x86_64-linux",
  "homeConfigurations.*",
  "darwinConfigurations.*",
  "nixosConfigurations.*",
] as const;

/** `source` of a configuration read from the flake's `garnix.config` output. */
export const FLAKE_CONFIG_SOURCE = "garnix.config";
/** `source` when there is no configuration and Garnix's default applies. */
export const DEFAULT_SOURCE = "default";

/**
 * What nixcache does instead of each Garnix feature it does not reproduce, by top-level key: one
 * note each, said when the key is present (whatever its value). Facts from Garnix's code and its
 * maintained forks (garnix-ci's YamlConfig.hs and the build pipeline that reads it).
 */
const NOTES: Record<string, (value: unknown) => string> = {
  servers: () =>
    "servers: Garnix-hosted servers are not replaced by nixcache; ignored (the nixosConfigurations " +
    "they deploy are still built when `builds` selects them)",
  actions: (v) => {
    const runs = fieldOfEach(v, "run");
    const what =
      runs.length > 0
        ? `Garnix built and ran ${runs.map((r) => `apps.x86_64-linux.${r}`).join(", ")} on every push: ` +
          `run ${runs.map((r) => `\`nix run .#${r}\``).join(", ")} in a workflow step instead`
        : "Garnix built and ran each action's `run` app on every push: run it with `nix run` in a workflow step instead";
    return `actions: nixcache runs no actions; ignored (${what})`;
  },
  incrementalizeBuilds: () =>
    "incrementalizeBuilds: ignored; nixcache does not point the `garnix-incrementalize` flake input at " +
    "an earlier commit's build: it evaluates the flake as locked and skips every target the cache already holds",
  modules: () => "modules: nixcache publishes no Garnix modules; ignored",
  fodChecks: () =>
    "fodChecks: nixcache does not rebuild fixed-output derivations to check their hashes; ignored",
  autoCancelSuperseded: () =>
    "autoCancelSuperseded: not needed; the workflows `nixcache workflow` writes always cancel a superseded " +
    "run of the same branch or pull request (a concurrency group with cancel-in-progress)",
  artifacts: (v) => {
    const pkgs = fieldOfEach(v, "package").map((p) => `packages.x86_64-linux.${p}`);
    const built =
      pkgs.length > 0
        ? ` Garnix's self-hosted fork also built ${pkgs.join(", ")} when \`builds\` did not select ` +
          `${pkgs.length === 1 ? "it" : "them"}; nixcache builds only what \`builds\` selects`
        : "";
    return `artifacts: nixcache publishes no downloadable artifacts (the binary cache serves the outputs); ignored.${built}`;
  },
};

/** Keys nixcache honours: `builds` (the selection), `flakeDir`, `commentOnFailure`. */
const HONOURED = new Set(["builds", "flakeDir", "commentOnFailure"]);
/** Every top-level key Garnix and its maintained forks accept; anything else is warned about. */
export const KNOWN_KEYS: readonly string[] = [...HONOURED, ...Object.keys(NOTES)];
const KNOWN_SECTION = new Set(["include", "exclude", "branch"]);

function fieldOfEach(list: unknown, field: string): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((x) =>
    x !== null && typeof x === "object" && typeof (x as Record<string, unknown>)[field] === "string"
      ? [(x as Record<string, string>)[field] as string]
      : [],
  );
}

export interface GarnixConfig {
  sections: Section[];
  /** Unknown keys and similar non-fatal findings, for the user. */
  warnings: string[];
  /** One line per Garnix feature the configuration uses that nixcache does not reproduce: what it does instead. */
  notes: string[];
  /** Where it came from: a file path, "garnix.config" (the flake output) or "default". */
  source: string;
  /**
   * The flake's directory relative to where the configuration was read (Garnix's `flakeDir`),
   * normalised: "." (the default), or a relative path without `.` or `..` parts.
   */
  flakeDir: string;
  /** Garnix's `commentOnFailure`, when the configuration sets it. */
  commentOnFailure?: boolean;
}

/** Parses one pattern: exactly 2 or 3 non-empty parts split on `.`. */
export function parsePattern(text: string): Pattern {
  const parts = text.split(".");
  if (parts.length < 2 || parts.length > 3) {
    throw new GarnixConfigError(
      `invalid pattern ${JSON.stringify(text)}: it has ${parts.length} part${parts.length === 1 ? "" : "s"}, ` +
        "a pattern needs 2 or 3 parts separated by '.'",
    );
  }
  if (parts.some((p) => p === "")) {
    throw new GarnixConfigError(`invalid pattern ${JSON.stringify(text)}: it has an empty part`);
  }
  return { text, parts };
}

/**
 * Checks and normalises a `flakeDir`: a directory inside the repository, relative to where the
 * configuration was read. Absolute paths and `..` are refused (Garnix refused any that left the
 * repository); `""`, `.` and `./` mean the same directory.
 */
export function normalizeFlakeDir(value: string, label = "flakeDir"): string {
  const bad = (why: string) =>
    new GarnixConfigError(
      `${label}: ${JSON.stringify(value)} ${why}; it names the flake's directory inside the repository`,
    );
  if (value.includes("\0")) throw bad("contains a NUL character");
  if (value.startsWith("/")) throw bad("is absolute");
  const parts = value.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw bad("leaves the repository ('..' is not allowed)");
  return parts.length === 0 ? "." : parts.join("/");
}

const patternList = z.array(z.string(), { error: "must be a list of strings" });
const sectionSchema = z.looseObject({
  include: patternList.optional(),
  exclude: patternList.optional(),
  branch: z.string({ error: "must be a string" }).optional(),
});
function describeIssue(label: string, issue: z.core.$ZodIssue): string {
  return `${[label, ...issue.path.map(String)].join(".")}: ${issue.message}`;
}

function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`;
}

/** Garnix's built-in configuration, for flakes without a `garnix.yaml`. */
export function defaultGarnixConfig(): GarnixConfig {
  return {
    sections: [{ include: DEFAULT_INCLUDE.map(parsePattern), exclude: [] }],
    warnings: [],
    notes: [],
    source: DEFAULT_SOURCE,
    flakeDir: ".",
  };
}

/** Parses `garnix.yaml` text. `source` names the file in messages. */
export function parseGarnixConfig(text: string, source = "garnix.yaml"): GarnixConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    const msg = e instanceof YAMLParseError ? e.message : String(e);
    throw new GarnixConfigError(`${source}: not valid YAML: ${msg}`);
  }
  return garnixConfigFromValue(doc, source);
}

/**
 * The flake output `garnix.config`, as `nix eval --json` prints it: the same shape as garnix.yaml
 * (Garnix decoded both with one codec). Messages name the attribute.
 */
export function parseFlakeGarnixConfig(value: unknown): GarnixConfig {
  return garnixConfigFromValue(value, FLAKE_CONFIG_SOURCE, "flake output garnix.config");
}

/**
 * A parsed configuration document (garnix.yaml's YAML, or garnix.config's JSON): `source` is
 * recorded as where it came from, `label` starts every message (default: `source`).
 */
export function garnixConfigFromValue(doc: unknown, source: string, label = source): GarnixConfig {
  if (doc === null || doc === undefined) {
    return {
      ...defaultGarnixConfig(),
      source,
      warnings: [`${label} is empty; using Garnix's default targets`],
    };
  }
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new GarnixConfigError(`${label}: expected a mapping at the top level, got ${describeType(doc)}`);
  }
  const top = doc as Record<string, unknown>;
  const warnings: string[] = [];
  const notes: string[] = [];
  for (const k of Object.keys(top)) {
    const note = NOTES[k];
    if (note) notes.push(note(top[k]));
    else if (!HONOURED.has(k)) warnings.push(`${label}: unknown key ${JSON.stringify(k)} ignored`);
  }
  let flakeDir = ".";
  if ("flakeDir" in top) {
    const v = top.flakeDir;
    if (typeof v !== "string")
      throw new GarnixConfigError(
        `${label}: flakeDir: must be a string (the flake's directory in the repository), got ${describeType(v)}`,
      );
    flakeDir = normalizeFlakeDir(v, `${label}: flakeDir`);
  }
  let commentOnFailure: boolean | undefined;
  if ("commentOnFailure" in top) {
    const v = top.commentOnFailure;
    if (typeof v !== "boolean")
      throw new GarnixConfigError(
        `${label}: commentOnFailure: must be true or false, got ${describeType(v)}`,
      );
    commentOnFailure = v;
  }
  const withKeys = (c: GarnixConfig): GarnixConfig => {
    const out: GarnixConfig = { ...c, source, warnings, notes, flakeDir };
    if (commentOnFailure !== undefined) out.commentOnFailure = commentOnFailure;
    return out;
  };
  if (!("builds" in top)) return withKeys(defaultGarnixConfig());
  const builds = top.builds;
  const list = Array.isArray(builds) ? builds : [builds];
  const sections = list.map((raw, i): Section => {
    const where = Array.isArray(builds) ? `builds[${i}]` : "builds";
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new GarnixConfigError(
        `${label}: ${where}: expected a section (include/exclude/branch)${Array.isArray(builds) ? "" : " or a list of sections"}`,
      );
    }
    const parsed = sectionSchema.safeParse(raw);
    if (!parsed.success) {
      throw new GarnixConfigError(
        `${label}: ${parsed.error.issues.map((is) => describeIssue(where, is)).join("; ")}`,
      );
    }
    const s = parsed.data;
    for (const k of Object.keys(s)) {
      if (!KNOWN_SECTION.has(k))
        warnings.push(`${label}: unknown key ${JSON.stringify(k)} in ${where} ignored`);
    }
    const pats = (list: readonly string[], field: string) =>
      list.map((t) => {
        try {
          const pat = parsePattern(t);
          if (pat.parts.some((p) => p !== "*" && p.includes("*"))) {
            warnings.push(
              `${label}: ${where}.${field}: ${JSON.stringify(t)} has '*' inside a part; Garnix matches that part literally`,
            );
          }
          return pat;
        } catch (e) {
          throw new GarnixConfigError(`${label}: ${where}.${field}: ${(e as Error).message}`);
        }
      });
    const section: Section = {
      include: pats(s.include ?? DEFAULT_INCLUDE, "include"),
      exclude: pats(s.exclude ?? [], "exclude"),
    };
    if (s.branch !== undefined) section.branch = s.branch;
    return section;
  });
  return withKeys({ ...defaultGarnixConfig(), sections });
}
