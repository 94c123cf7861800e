// The Action's `extra-args` input: the CLI's flags (whitespace-separated), parsed from the same
// flag table as the CLI's (flags/table.ts): those marked for the Action, per command. Anything
// else is refused, naming it; a bad value names the flag (`extra-args --jobs must be ...`).
import { type ParseArgsConfig, parseArgs } from "node:util";
import { parseFlagValues } from "../flags/parse.js";
import { COMMAND_FLAGS, type FlagSpec } from "../flags/table.js";
import type { BuildFlags, PushFlags, VerifyFlags } from "../flags/values.js";
import type { ActionCommand } from "../github/action-inputs.js";
import { NixcacheError } from "../util/errors.js";

/** The flags the Action's extra-args take for `command` (ci: build's and verify's). */
export function actionFlags(command: ActionCommand): FlagSpec[] {
  const cachixApi = COMMAND_FLAGS.push.find((s) => s.name === "cachix-api");
  const lists: Record<ActionCommand, readonly FlagSpec[]> = {
    build: COMMAND_FLAGS.build,
    ci: [...COMMAND_FLAGS.ci, ...COMMAND_FLAGS.verify],
    // verify reads Cachix caches through the API too (the CLI's verify reads them over HTTP).
    verify: [...COMMAND_FLAGS.verify, ...(cachixApi ? [cachixApi] : [])],
    push: COMMAND_FLAGS.push,
  };
  const seen = new Set<string>();
  return lists[command].filter((s) => s.action && !seen.has(s.name) && seen.add(s.name));
}

/** Every flag's values, parsed; what the command does not take stays undefined. */
export type ActionFlags = Partial<BuildFlags> & Partial<VerifyFlags> & Partial<PushFlags>;

export interface ExtraArgs {
  values: ActionFlags;
  positionals: string[];
  /** Whether the flag (by name, `compression`) was given, not defaulted. */
  given: (name: string) => boolean;
}

/** Parses `extra-args` (whitespace-separated, like the CLI's flags) for `command`. */
export function parseExtraArgs(command: ActionCommand, args: readonly string[]): ExtraArgs {
  const specs = actionFlags(command);
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const s of specs)
    for (const name of [s.name, ...(s.aliases ?? [])])
      options[name] = {
        type: s.type === "switch" ? "boolean" : "string",
        ...(s.type === "list" ? { multiple: true } : {}),
        ...(s.short && name === s.name ? { short: s.short } : {}),
      };
  let r: ReturnType<typeof parseArgs>;
  try {
    r = parseArgs({ args: [...args], options, strict: true, allowPositionals: command === "push" });
  } catch (e) {
    throw new NixcacheError("usage", `input extra-args: ${(e as Error).message}`);
  }
  const raw = r.values as Record<string, string | boolean | string[] | undefined>;
  return {
    values: parseFlagValues(specs, raw, "extra-args ") as ActionFlags,
    positionals: r.positionals,
    given: (name) => raw[name] !== undefined,
  };
}
