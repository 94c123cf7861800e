import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  NixcacheError
} from "./chunk-HG6QJGPZ.mjs";

// src/http/netrc.ts
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
function parseNetrc(text) {
  const entries = [];
  const lines = text.split("\n");
  let cur;
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
        while (i + 1 < lines.length && (lines[i + 1] ?? "").trim() !== "") i++;
        break;
      }
    }
  }
  return entries;
}
function netrcLookup(entries, host) {
  return entries.find((e) => e.machine === host) ?? entries.find((e) => e.machine === null);
}
function defaultNetrcFile(env = process.env) {
  const confDir = env.NIX_CONF_DIR ?? "/etc/nix";
  const sources = [env.NIX_CONFIG ?? ""];
  const xdg = env.XDG_CONFIG_HOME ?? join(homedir(), ".config");
  for (const f of [join(xdg, "nix", "nix.conf"), join(confDir, "nix.conf")]) {
    try {
      sources.push(readFileSync(f, "utf8"));
    } catch {
    }
  }
  for (const text of sources) {
    const m = /^\s*netrc-file\s*=\s*(\S+)\s*$/m.exec(text);
    if (m?.[1]) return m[1];
  }
  return join(confDir, "netrc");
}
function readNetrcCredentials(file, host) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (e.code === "ENOENT") return void 0;
    throw new NixcacheError("usage", `cannot read netrc file ${file}: ${e.message}`);
  }
  const entry = netrcLookup(parseNetrc(text), host);
  if (!entry?.password) return void 0;
  return { login: entry.login ?? "", password: entry.password };
}

export {
  defaultNetrcFile,
  readNetrcCredentials
};
