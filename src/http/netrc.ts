// Nix authenticates to HTTP caches only with Basic credentials from its netrc file; reading the
// same file lets `nixcache push` work wherever `nix copy` would.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { NixcacheError } from "../util/errors.js";

export interface NetrcEntry {
  machine: string | null; // null for `default`
  login?: string;
  password?: string;
}

/** Parses netrc text (tokens separated by any whitespace; `macdef` blocks skipped). */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  const lines = text.split("\n");
  let cur: NetrcEntry | undefined;
  for (let i = 0; i < lines.length; i++) {
    const toks = (lines[i] ?? "").trim().split(/\s+/).filter(Boolean);
    for (let j = 0; j < toks.length; j++) {
      const t = toks[j];
      const next = () => toks[++j];
      if (t === "machine") {
        cur = { machine: next() ?? "" };
        entries.push(cur);
      } else if (t === "default") {
        cur = { machine: null };
        entries.push(cur);
      } else if (t === "login" && cur) cur.login = next();
      else if (t === "password" && cur) cur.password = next();
      else if (t === "account" && cur) next();
      else if (t === "macdef") {
        // A macro runs to the next empty line.
        while (i + 1 < lines.length && (lines[i + 1] ?? "").trim() !== "") i++;
        break;
      }
    }
  }
  return entries;
}

/** The entry for `host`, else the `default` entry. */
export function netrcLookup(entries: readonly NetrcEntry[], host: string): NetrcEntry | undefined {
  return entries.find((e) => e.machine === host) ?? entries.find((e) => e.machine === null);
}

/**
 * The netrc file Nix would use: `netrc-file` from NIX_CONFIG or nix.conf, else
 * `$NIX_CONF_DIR/netrc` (`/etc/nix/netrc`).
 */
export function defaultNetrcFile(env: NodeJS.ProcessEnv = process.env): string {
  const confDir = env.NIX_CONF_DIR ?? "/etc/nix";
  const sources = [env.NIX_CONFIG ?? ""];
  const xdg = env.XDG_CONFIG_HOME ?? join(homedir(), ".config");
  for (const f of [join(xdg, "nix", "nix.conf"), join(confDir, "nix.conf")]) {
    try {
      sources.push(readFileSync(f, "utf8"));
    } catch {
      // absent config files are normal
    }
  }
  for (const text of sources) {
    const m = /^\s*netrc-file\s*=\s*(\S+)\s*$/m.exec(text);
    if (m?.[1]) return m[1];
  }
  return join(confDir, "netrc");
}

/** Reads the Basic credentials for `host`; undefined when the file or entry is absent. */
export function readNetrcCredentials(
  file: string,
  host: string,
): { login: string; password: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new NixcacheError("usage", `cannot read netrc file ${file}: ${(e as Error).message}`);
  }
  const entry = netrcLookup(parseNetrc(text), host);
  if (!entry?.password) return undefined;
  return { login: entry.login ?? "", password: entry.password };
}
