import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { NixcacheError } from "../util/errors.js";
import type { Pattern, Section } from "./select.js";

/** A `garnix.yaml` that cannot be used; the message quotes what was wrong. */
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

/** Top-level keys Garnix knows; other keys are kept (ignored) with a warning. */
const KNOWN_TOP = new Set(["builds", "servers", "actions", "incrementalizeBuilds", "modules", "flakeDir"]);
const KNOWN_SECTION = new Set(["include", "exclude", "branch"]);

export interface GarnixConfig {
  sections: Section[];
  /** Unknown keys and similar non-fatal findings, for the user. */
  warnings: string[];
  /** Where it came from (a file path, or "default"). */
  source: string;
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

const patternList = z.array(z.string(), { error: "must be a list of strings" });
const sectionSchema = z.looseObject({
  include: patternList.optional(),
  exclude: patternList.optional(),
  branch: z.string({ error: "must be a string" }).optional(),
});
function describeIssue(label: string, issue: z.core.$ZodIssue): string {
  return `${[label, ...issue.path.map(String)].join(".")}: ${issue.message}`;
}

/** Garnix's built-in configuration, for flakes without a `garnix.yaml`. */
export function defaultGarnixConfig(): GarnixConfig {
  return {
    sections: [{ include: DEFAULT_INCLUDE.map(parsePattern), exclude: [] }],
    warnings: [],
    source: "default",
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
  if (doc === null || doc === undefined) {
    return {
      ...defaultGarnixConfig(),
      source,
      warnings: [`${source} is empty; using Garnix's default targets`],
    };
  }
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new GarnixConfigError(`${source}: expected a mapping at the top level`);
  }
  const warnings: string[] = [];
  for (const k of Object.keys(doc)) {
    if (!KNOWN_TOP.has(k)) warnings.push(`${source}: unknown key ${JSON.stringify(k)} ignored`);
  }
  if (!("builds" in doc)) {
    return { ...defaultGarnixConfig(), source, warnings };
  }
  const builds = (doc as { builds: unknown }).builds;
  const list = Array.isArray(builds) ? builds : [builds];
  const sections = list.map((raw, i): Section => {
    const label = Array.isArray(builds) ? `builds[${i}]` : "builds";
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new GarnixConfigError(
        `${source}: ${label}: expected a section (include/exclude/branch)${Array.isArray(builds) ? "" : " or a list of sections"}`,
      );
    }
    const parsed = sectionSchema.safeParse(raw);
    if (!parsed.success) {
      throw new GarnixConfigError(
        `${source}: ${parsed.error.issues.map((is) => describeIssue(label, is)).join("; ")}`,
      );
    }
    const s = parsed.data;
    for (const k of Object.keys(s)) {
      if (!KNOWN_SECTION.has(k))
        warnings.push(`${source}: unknown key ${JSON.stringify(k)} in ${label} ignored`);
    }
    const pats = (list: readonly string[], field: string) =>
      list.map((t) => {
        try {
          const pat = parsePattern(t);
          if (pat.parts.some((p) => p !== "*" && p.includes("*"))) {
            warnings.push(
              `${source}: ${label}.${field}: ${JSON.stringify(t)} has '*' inside a part; Garnix matches that part literally`,
            );
          }
          return pat;
        } catch (e) {
          throw new GarnixConfigError(`${source}: ${label}.${field}: ${(e as Error).message}`);
        }
      });
    const section: Section = {
      include: pats(s.include ?? DEFAULT_INCLUDE, "include"),
      exclude: pats(s.exclude ?? [], "exclude"),
    };
    if (s.branch !== undefined) section.branch = s.branch;
    return section;
  });
  return { sections, warnings, source };
}
