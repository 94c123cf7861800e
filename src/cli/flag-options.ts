// The flag table (flags/table.ts) → commander options: the same names, help, defaults and parsers
// the Action's extra-args use. A parser's usage error propagates out of commander (exit 2).
import { type Command, Option } from "commander";
import { parsedDefault } from "../flags/parse.js";
import { type FlagSpec, flagKey } from "../flags/table.js";

function optionOf(spec: FlagSpec, name: string, help: string): Option {
  const o = new Option(
    `${spec.short && name === spec.name ? `-${spec.short}, ` : ""}--${name}${spec.arg ? ` ${spec.arg}` : ""}`,
    help,
  );
  // Commander checks a choice itself (its message lists the choices); other values go through the table's parser.
  if (spec.choices) o.choices([...spec.choices]);
  else if (spec.parse && spec.type === "value") {
    const parse = spec.parse;
    o.argParser((v: string) => parse(v, `--${spec.name}`));
  }
  return o;
}

/** Adds `specs` to `cmd` as options, in order; aliases are hidden options that set the same key. */
export function addFlags(cmd: Command, specs: readonly FlagSpec[]): Command {
  for (const spec of specs) {
    const aliases = spec.aliases ?? [];
    const help = aliases.length
      ? `${spec.help} (alias: ${aliases.map((a) => `--${a}`).join(", ")})`
      : spec.help;
    const o = optionOf(spec, spec.name, help);
    if (spec.required) o.makeOptionMandatory();
    if (spec.default !== undefined) o.default(parsedDefault(spec), JSON.stringify(spec.default));
    cmd.addOption(o);
    for (const alias of aliases) {
      cmd.addOption(optionOf(spec, alias, spec.help).hideHelp());
      const from = flagKey({ ...spec, name: alias });
      cmd.on(`option:${alias}`, () =>
        cmd.setOptionValueWithSource(flagKey(spec), cmd.getOptionValue(from), "cli"),
      );
    }
  }
  return cmd;
}

/** Per command: option key → the alias it was last given by (for errors that name what was typed). */
const typedAs = new WeakMap<Command, Map<string, string>>();

/**
 * An older spelling of a commander option outside the flag table (`--main` added first), hidden
 * from --help, whose description says "(alias: --old)". Its value becomes `--main`'s; when both
 * are given, `--main` wins.
 */
export function addOptionAlias(cmd: Command, main: string, alias: string): Command {
  const opt = cmd.options.find((o) => o.long === `--${main}`);
  if (!opt) throw new Error(`addOptionAlias: no option --${main}`);
  opt.description += ` (alias: --${alias})`;
  const key = opt.attributeName();
  cmd.addOption(
    new Option(`--${alias}${opt.required ? " <value>" : opt.optional ? " [value]" : ""}`).hideHelp(),
  );
  const typed = typedAs.get(cmd) ?? new Map<string, string>();
  typedAs.set(cmd, typed);
  cmd.on(`option:${main}`, () => typed.delete(key));
  cmd.on(`option:${alias}`, (v: unknown) => {
    if (cmd.getOptionValueSource(key) === "cli") return;
    cmd.setOptionValueWithSource(key, v, "cli");
    typed.set(key, `--${alias}`);
  });
  return cmd;
}

/** How the user spelled the option `--main` (its alias when given by it), for error messages. */
export function typedFlag(cmd: Command, main: string): string {
  const opt = cmd.options.find((o) => o.long === `--${main}`);
  return (opt && typedAs.get(cmd)?.get(opt.attributeName())) ?? `--${main}`;
}
