// Where secret values come from: dotenv and JSON files, the environment, age-encrypted files and
// agenix-style directories (secrets.nix + *.age). Every error names a file, a line or a key,
// never a value.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { NixcacheError } from "../util/errors.js";
import { type AgeIdentity, decryptAge } from "./age.js";
import { readAgenixDir } from "./agenix.js";

/** A secret value with its name as the source spells it and where it came from. */
export interface SourcedValue {
  name: string;
  value: string;
  /** e.g. `ci.env:3`, `env GITHUB_CACHE_TOKEN`, `secrets/cachix-token.age`. */
  source: string;
}

export class SecretSourceError extends NixcacheError {
  constructor(message: string) {
    super("usage", message);
  }
}

function unquoteDouble(s: string): string {
  return s.replace(/\\([nrt"\\$])/g, (_, c: string) =>
    c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c,
  );
}

/**
 * Parses dotenv text: `NAME=value` lines, optional `export `, `#` comments, values unquoted
 * (trimmed, a ` #` starts a comment), 'single-quoted' (literal) or "double-quoted" (with \n, \t,
 * \", \\ escapes, and may span lines).
 */
export function parseDotenv(text: string, file: string): SourcedValue[] {
  const out: SourcedValue[] = [];
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const lineNo = i + 1;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new SecretSourceError(`${file}:${lineNo}: expected NAME=value`);
    const name = m[1] as string;
    let rest = m[2] as string;
    let value: string;
    if (rest.startsWith('"')) {
      // Until the closing unescaped quote, over several lines if need be.
      let body = rest.slice(1);
      let end = findClosingQuote(body);
      while (end < 0 && i + 1 < lines.length) {
        body += `\n${lines[++i]}`;
        end = findClosingQuote(body);
      }
      if (end < 0) throw new SecretSourceError(`${file}:${lineNo}: ${name}: unterminated "`);
      value = unquoteDouble(body.slice(0, end));
      rest = body.slice(end + 1);
    } else if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) throw new SecretSourceError(`${file}:${lineNo}: ${name}: unterminated '`);
      value = rest.slice(1, end);
      rest = rest.slice(end + 1);
    } else {
      value = rest.replace(/\s+#.*$/, "").trim();
      rest = "";
    }
    if (!/^\s*(#.*)?$/.test(rest))
      throw new SecretSourceError(`${file}:${lineNo}: ${name}: unexpected text after the closing quote`);
    out.push({ name, value, source: `${file}:${lineNo}` });
  }
  return out;
}

function findClosingQuote(s: string): number {
  for (let j = 0; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === '"') return j;
  }
  return -1;
}

/** Parses a JSON object of names to strings (numbers and booleans are written as JSON writes them). */
export function parseJsonSecrets(text: string, file: string): SourcedValue[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error: it could be a value.
    throw new SecretSourceError(`${file}: not valid JSON`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new SecretSourceError(`${file}: expected a JSON object of NAME: "value"`);
  return Object.entries(json as Record<string, unknown>).map(([name, v]) => {
    if (typeof v === "string") return { name, value: v, source: file };
    if (typeof v === "number" || typeof v === "boolean") return { name, value: String(v), source: file };
    throw new SecretSourceError(`${file}: ${name} must be a string, number or boolean`);
  });
}

/** Parses decrypted or plain file content by its name: `.json` is JSON, anything else dotenv. */
function parseByName(text: string, name: string, shown: string): SourcedValue[] {
  return name.endsWith(".json") ? parseJsonSecrets(text, shown) : parseDotenv(text, shown);
}

export interface ReadSourceOptions {
  /** Identities for `.age` files and agenix directories. */
  identities?: readonly AgeIdentity[];
  /** Names are shown relative to this directory (default: the working directory). */
  cwd?: string;
}

/**
 * Reads one `--from` source: an agenix directory (it has `secrets.nix`: every `.age` file it
 * lists is one secret named after the file), an age-encrypted file (`ci.env.age`,
 * `tokens.json.age`: decrypted, then parsed by the name beneath `.age`), a `.json` file, or a
 * dotenv file.
 */
export async function readSecretSource(file: string, opts: ReadSourceOptions = {}): Promise<SourcedValue[]> {
  const cwd = opts.cwd ?? process.cwd();
  const full = path.resolve(cwd, file);
  const shown = path.relative(cwd, full) || full;
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(full);
  } catch (e) {
    throw new SecretSourceError(`cannot read ${shown}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  if (st.isDirectory()) return readAgenixDir(full, opts.identities ?? [], shown);
  const bytes = await readFile(full);
  if (full.endsWith(".age")) {
    const inner = full.slice(0, -4);
    const text = await decryptAge(bytes, opts.identities ?? [], shown);
    return parseByName(text, inner, shown);
  }
  return parseByName(bytes.toString("utf8"), full, shown);
}

/** `NAME=ENV`: the secret NAME from the environment variable ENV (which must be set). */
export function readEnvSource(spec: string, env: NodeJS.ProcessEnv = process.env): SourcedValue {
  const eq = spec.indexOf("=");
  const name = eq < 0 ? spec : spec.slice(0, eq);
  const variable = eq < 0 ? spec : spec.slice(eq + 1);
  if (!name || !variable) throw new SecretSourceError(`--set ${JSON.stringify(spec)}: expected NAME=ENV`);
  const value = env[variable];
  if (value === undefined)
    throw new SecretSourceError(`--set ${name}: environment variable ${variable} is not set`);
  return { name, value, source: `env ${variable}` };
}
