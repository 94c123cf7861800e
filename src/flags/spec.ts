// What the flag table (table.ts) says of each flag.

export interface FlagSpec {
  /** The long name, kebab-case, without dashes (`max-jobs`; `no-report` turns `report` off). */
  name: string;
  short?: string;
  /** switch: no value; value: one; list: one or more (repeatable). */
  type: "switch" | "value" | "list";
  /** The value's placeholder in --help (`<n>`, `<key...>`). */
  arg?: string;
  help: string;
  /** The default as --help shows it (the parser turns a text default into the value). */
  default?: string | number;
  choices?: readonly string[];
  /** Older spellings that still work; --help lists them as aliases. */
  aliases?: readonly string[];
  /** The command will not run without it. */
  required?: boolean;
  /** Text → value; throws a usage error naming `label`. */
  parse?: (text: string, label: string) => unknown;
  /** Accepted in the Action's extra-args. */
  action?: boolean;
}

/** `max-jobs` → `maxJobs`, `no-report` → `report` (the key the parsed values use, as commander's). */
export function flagKey(spec: FlagSpec): string {
  const name = spec.type === "switch" && spec.name.startsWith("no-") ? spec.name.slice(3) : spec.name;
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
