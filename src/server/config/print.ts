// `nixcache serve --print-config`: the effective settings as a TOML file that `--config` loads
// back to the same configuration. Settings given (by flag, variable or file) are assignments;
// defaults and unset settings are comments. Secrets are never printed: the files that hold them
// are (a path is no secret), and a secret that came from elsewhere is named, not shown.
import { stringify } from "smol-toml";
import { redactUrl } from "../locations.js";
import type { EffectiveConfig, Origin, Raw, Value } from "./load.js";
import type { SecretOrigin } from "./options.js";
import { urlPassword } from "./options.js";
import { SETTINGS, type Setting, secretAdvice, settingNamed } from "./settings.js";

/** A value as TOML, in its setting's type (counts and worker numbers as integers). */
function tomlValue(s: Setting, raw: Raw): string {
  let value: unknown = raw;
  if ((s.kind === "count" || s.kind === "workers") && typeof raw === "string" && /^\d+$/.test(raw))
    value = Number(raw);
  // One key's table: `key = value`, the key quoted when TOML needs it.
  return stringify({ v: value }).trim().replace(/^v = /, "");
}

function originNote(o: Origin): string {
  switch (o.from) {
    case "flag":
      return "flag";
    case "env":
      return `$${o.variable}`;
    case "file":
      return `${o.file}:${o.line}`;
    case "default":
      return "default";
  }
}

const REDACTED = "REDACTED";

export function printConfig(cfg: EffectiveConfig, secrets: readonly SecretOrigin[]): string {
  const out = [
    "# nixcache serve: the effective configuration (nixcache serve --print-config).",
    "# Keys are serve's long flag names; each also comes from NIXCACHE_<NAME> (upper case, _ for -).",
    "# Precedence: flag > environment > this file > default. Load it with: nixcache serve --config FILE",
    "# Secrets are not printed: their files are, and a secret given otherwise is named in a comment.",
    "",
  ];
  for (const s of SETTINGS) {
    const v = cfg.get(s.name);
    if (!v) {
      out.push(`# ${s.name} = (not set)`);
    } else if (v.origin.from === "default") {
      out.push(`# ${s.name} = ${tomlValue(s, v.raw)}  # default`);
    } else if (s.name === "db" && typeof v.raw === "string" && urlPassword(v.raw)) {
      out.push(
        "# db: the URL's password is redacted, and a redacted value does not load as a secret:",
        `# ${secretAdvice(settingNamed("db-password-file") as Setting)}.`,
        `db = ${tomlValue(s, redactUrl(v.raw).replace("***", REDACTED))}  # ${originNote(v.origin)}`,
      );
    } else {
      out.push(`${s.name} = ${tomlValue(s, v.raw)}  # ${originNote(v.origin)}`);
    }
    const sec = secrets.find((x) => x.setting === s.name);
    if (sec && sec.from !== "file") out.push(secretLine(s, v, sec));
  }
  return `${out.join("\n")}\n`;
}

/** What is said of a secret that came from a credential or a variable (its value never). */
function secretLine(s: Setting, _v: Value | undefined, sec: SecretOrigin): string {
  const name = s.secret?.credential ?? s.name;
  if (sec.from === "credential")
    return `# ${name}: from the systemd credential ${name} (${sec.where}), read again at each start`;
  return (
    `# ${name} = "${REDACTED}"  # from $${sec.where}; a redacted value does not load as a secret: ` +
    `${secretAdvice(s)}`
  );
}
