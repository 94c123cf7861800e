/**
 * Which flake attributes are build targets, with Garnix's `garnix.yaml` semantics (PROTOCOLS.md §4).
 * Pure: attribute paths are arrays of names, patterns are arrays of parts.
 */

/** The systems Garnix looks at under `packages`, `checks`, `devShells`, `defaultPackage`, `devShell`. */
export const CANDIDATE_SYSTEMS = [
  "x86_64-linux",
  "aarch64-linux",
  "x86_64-darwin",
  "aarch64-darwin",
  "i686-linux",
] as const;

/** `<kind>.<system>.<name>` outputs. */
export const PER_SYSTEM_SETS = ["packages", "checks", "devShells"] as const;
/** `<kind>.<system>` outputs (the pre-2021 flake schema). */
export const PER_SYSTEM_SINGLES = ["defaultPackage", "devShell"] as const;
/** `<kind>.<name>` outputs that build a toplevel or activation package. */
export const CONFIGURATIONS = ["nixosConfigurations", "darwinConfigurations", "homeConfigurations"] as const;

/** A parsed pattern: 2 or 3 parts, each `*` (any single part) or an exact name. */
export interface Pattern {
  text: string;
  parts: string[];
}

export interface Section {
  include: Pattern[];
  exclude: Pattern[];
  /** Applies only to pushes to this branch; undefined = every push. */
  branch?: string;
}

/** Does this pattern match this attribute path? Part counts must agree; `*` is a whole part only. */
export function matchPattern(pattern: Pattern, path: readonly string[]): boolean {
  if (pattern.parts.length !== path.length) return false;
  return pattern.parts.every((p, i) => p === "*" || p === path[i]);
}

/** The sections that apply to a push to `branch` (all branch-less ones; branch ones only on a match). */
export function applicableSections(sections: readonly Section[], branch: string | undefined): Section[] {
  return sections.filter((s) => s.branch === undefined || s.branch === branch);
}

/** Is this path something Garnix would ever build (apps, modules, overlays never are)? */
export function isCandidate(path: readonly string[]): boolean {
  const [kind, second] = path;
  if (kind === undefined || second === undefined) return false;
  const sys = (CANDIDATE_SYSTEMS as readonly string[]).includes(second);
  if ((PER_SYSTEM_SETS as readonly string[]).includes(kind)) return path.length === 3 && sys;
  if ((PER_SYSTEM_SINGLES as readonly string[]).includes(kind)) return path.length === 2 && sys;
  if ((CONFIGURATIONS as readonly string[]).includes(kind)) return path.length === 2;
  return false;
}

/** Whether a path is selected: the union over applicable sections of (include minus exclude). */
export function isSelected(sections: readonly Section[], path: readonly string[]): boolean {
  if (!isCandidate(path)) return false;
  return sections.some(
    (s) => s.include.some((p) => matchPattern(p, path)) && !s.exclude.some((p) => matchPattern(p, path)),
  );
}

/** Selects from candidate paths for a push to `branch`, keeping the candidates' order. */
export function selectPaths(
  sections: readonly Section[],
  candidates: readonly (readonly string[])[],
  branch?: string,
): string[][] {
  const apply = applicableSections(sections, branch);
  return candidates.filter((c) => isSelected(apply, c)).map((c) => [...c]);
}

/**
 * The attribute path as Nix's installable syntax writes it: `packages.x86_64-linux.hello`, with
 * names that are not plain identifiers quoted (`packages.x86_64-linux."a.b"`), so the text names
 * exactly this attribute wherever it is shown, passed to Nix or written to JSON.
 */
export function attrText(path: readonly string[]): string {
  return path.map(attrName).join(".");
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_'-]*$/;

/** One attribute name, quoted when Nix's attribute-path syntax needs it. */
export function attrName(name: string): string {
  return IDENTIFIER.test(name) ? name : `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The system an attribute path names, if it names one (configurations carry theirs inside). */
export function pathSystem(path: readonly string[]): string | undefined {
  const [kind, second] = path;
  if (kind === undefined || (CONFIGURATIONS as readonly string[]).includes(kind)) return undefined;
  return second;
}

/** The attribute path `attrText` printed, split back into names (quoted names unquoted). */
export function parseAttrText(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let name = "";
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        name += text[i];
        i++;
      }
      out.push(name);
      i += 2; // the closing quote and the dot
    } else {
      const dot = text.indexOf(".", i);
      const end = dot === -1 ? text.length : dot;
      out.push(text.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}
