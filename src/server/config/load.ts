// Where each setting of `nixcache serve` comes from: a flag, else its NIXCACHE_* environment
// variable, else the TOML config file (`--config FILE`), else its default (settings.ts). What is
// wrong is a usage error (exit 2) that names the key and where it was given: the flag, the
// variable, or the file and line.
import { readFileSync } from "node:fs";
import { parse, TomlDate, TomlError } from "smol-toml";
import { NixcacheError } from "../../util/errors.js";
import { envName, SETTINGS, type Setting, secretAdvice, secretNamed, settingNamed } from "./settings.js";

/** A setting's value as given: text (sizes and counts too), a boolean, or a list. */
export type Raw = string | boolean | string[];

export type Origin =
  | { from: "flag" }
  | { from: "env"; variable: string }
  | { from: "file"; file: string; line: number }
  | { from: "default" };

export interface Value {
  setting: Setting;
  raw: Raw;
  origin: Origin;
}

/** The settings that have a value (given or defaulted), by name. */
export type EffectiveConfig = Map<string, Value>;

export interface ConfigInputs {
  /** Settings given on the command line, by setting name (`--no-upstream` as `upstream: []`). */
  flags?: Record<string, Raw>;
  /** The environment (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The config file (`--config`, else $NIXCACHE_CONFIG). */
  file?: string;
}

function usage(message: string): NixcacheError {
  return new NixcacheError("usage", message);
}

/** How a value is named in messages: `--gc-interval`, `NIXCACHE_GC_INTERVAL`, `server.toml:3: gc-interval`. */
export function label(name: string, origin: Origin): string {
  switch (origin.from) {
    case "env":
      return origin.variable;
    case "file":
      return `${origin.file}:${origin.line}: ${name}`;
    default:
      return `--${name}`;
  }
}

/** Every setting's value: flag > environment > file > default. */
export function loadConfig(inputs: ConfigInputs): EffectiveConfig {
  const env = inputs.env ?? process.env;
  const fromFile = inputs.file === undefined ? new Map<string, Value>() : readConfigFile(inputs.file);
  const out: EffectiveConfig = new Map();
  for (const s of SETTINGS) {
    const flag = inputs.flags?.[s.name];
    const value: Value | undefined =
      flag !== undefined
        ? { setting: s, raw: flag, origin: { from: "flag" } }
        : (fromEnv(s, env) ?? fromFile.get(s.name) ?? defaultOf(s));
    if (value) out.set(s.name, value);
  }
  return out;
}

function defaultOf(s: Setting): Value | undefined {
  return s.default === undefined ? undefined : { setting: s, raw: s.default, origin: { from: "default" } };
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

/** A setting's environment variable; unset and empty both mean not given. */
export function fromEnv(s: Setting, env: NodeJS.ProcessEnv): Value | undefined {
  const variable = envName(s.name);
  const text = env[variable];
  if (text === undefined || text === "") return undefined;
  const origin: Origin = { from: "env", variable };
  switch (s.kind) {
    case "bool": {
      const t = text.trim().toLowerCase();
      if (!TRUE.has(t) && !FALSE.has(t))
        throw usage(`${variable}=${JSON.stringify(text)} must be true or false (1/0, yes/no, on/off)`);
      return { setting: s, raw: TRUE.has(t), origin };
    }
    case "list":
      return { setting: s, raw: text.split(/[\s,]+/).filter((x) => x !== ""), origin };
    default:
      return { setting: s, raw: text.trim(), origin };
  }
}

/** The settings of a TOML config file, each with the line it is on. */
export function readConfigFile(file: string): Map<string, Value> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw usage(
      `cannot read the config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const why = e.message.replace(/^Invalid TOML document: /, "").split("\n")[0];
      throw usage(`${file}:${e.line}:${e.column}: not valid TOML: ${why}`);
    }
    throw e;
  }
  const lines = keyLines(text);
  const out = new Map<string, Value>();
  for (const [key, value] of Object.entries(doc)) {
    const line = lines.get(key) ?? 1;
    const at = `${file}:${line}: ${key}`;
    const s = settingNamed(key);
    if (!s) {
      const secret = secretNamed(key);
      if (secret)
        throw usage(
          `${at}: a secret's value is never read from the config file (it would be in a file others may ` +
            `read, and in backups): ${secretAdvice(secret)}`,
        );
      if (isTable(value))
        throw usage(
          `${file}:${line}: unknown table [${key}]: the file has only top-level keys, serve's long flag names`,
        );
      throw usage(`${at}: unknown key (the keys are serve's long flag names: nixcache serve --help)`);
    }
    out.set(key, { setting: s, raw: fromToml(s, value, at), origin: { from: "file", file, line } });
  }
  return out;
}

function isTable(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof TomlDate);
}

function tomlType(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v instanceof TomlDate) return "a date";
  if (isTable(v)) return "a table";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a float";
  return `a ${typeof v}`;
}

/** A TOML value checked against the setting's kind, as text (or boolean, or list). */
function fromToml(s: Setting, v: unknown, at: string): Raw {
  const wrong = (expected: string) => usage(`${at} must be ${expected}, not ${tomlType(v)}`);
  switch (s.kind) {
    case "string":
      if (typeof v !== "string") throw wrong("a string");
      return v;
    case "size":
      if (typeof v === "string") return v;
      if (typeof v === "number" && Number.isInteger(v) && v >= 0) return String(v);
      throw wrong('a size: a string such as "8G", or a number of bytes');
    case "count":
      if (typeof v === "number" && Number.isInteger(v)) return String(v);
      throw wrong("an integer");
    case "workers":
      if (typeof v === "number" && Number.isInteger(v)) return String(v);
      if (v === "auto") return v;
      throw wrong('an integer or "auto"');
    case "bool":
      if (typeof v !== "boolean") throw wrong("true or false");
      return v;
    case "list":
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw wrong("an array of strings");
      return v as string[];
  }
}

/**
 * The line of each top-level key (and table header) of a TOML text. The parser gives none, so the
 * text is scanned: a key is `name =`, `"name" =` or `'name' =` at a line's start, outside
 * multi-line strings.
 */
export function keyLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let open: '"""' | "'''" | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (open) {
      if (line.split(open).length % 2 === 0) open = undefined;
      continue;
    }
    const table = /^\s*\[+\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))/.exec(line);
    const m = /^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*=\s*(.*)$/.exec(line) ?? table;
    if (!m) continue;
    const key = (m[1] ?? m[2] ?? m[3]) as string;
    if (!out.has(key)) out.set(key, i + 1);
    const rest = m === table ? "" : (m[4] ?? "");
    for (const q of ['"""', "'''"] as const) if (rest.startsWith(q) && rest.split(q).length === 2) open = q;
  }
  return out;
}
