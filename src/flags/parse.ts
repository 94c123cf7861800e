// Raw flag values (text, as commander or node:util parseArgs hands them over) → the parsed values
// of the flag table: each flag's parser run, the table's defaults applied, `--no-x` → `x: false`.
import { NixcacheError } from "../util/errors.js";
import { type FlagSpec, flagKey } from "./table.js";

/** A flag's default, parsed (a text default goes through the flag's parser). */
export function parsedDefault(spec: FlagSpec): unknown {
  const d = spec.default;
  if (d === undefined || typeof d === "number" || !spec.parse) return d;
  return spec.parse(d, `--${spec.name}`);
}

/**
 * Values keyed by flag name (`max-jobs`, `no-report`; aliases included) → values keyed as
 * commander keys them, parsed and defaulted. `prefix` goes before a flag's name in errors.
 */
export function parseFlagValues(
  specs: readonly FlagSpec[],
  raw: Record<string, string | boolean | string[] | undefined>,
  prefix: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = new Set(specs.map(flagKey));
  for (const spec of specs) {
    const key = flagKey(spec);
    const given = [spec.name, ...(spec.aliases ?? [])].map((n) => raw[n]).find((v) => v !== undefined);
    const negated = spec.type === "switch" && spec.name.startsWith("no-");
    if (given === undefined) {
      // `--no-x` alone defaults x to true; beside a `--x` switch, x stays undefined (not said).
      if (negated && !specs.some((s) => s !== spec && flagKey(s) === key)) out[key] ??= true;
      else if (spec.default !== undefined && out[key] === undefined) out[key] = parsedDefault(spec);
      continue;
    }
    if (negated) {
      if (out[key] === true)
        throw new NixcacheError("usage", `${prefix}--${spec.name.slice(3)} and --${spec.name} contradict`);
      out[key] = false;
      continue;
    }
    if (spec.type === "switch") out[key] = given === true;
    else if (spec.type === "list") out[key] = [given].flat().map(String);
    else {
      const text = String(given);
      out[key] = spec.parse ? spec.parse(text, `${prefix}--${spec.name}`) : text;
    }
  }
  for (const k of Object.keys(out)) if (!keys.has(k)) delete out[k];
  return out;
}
