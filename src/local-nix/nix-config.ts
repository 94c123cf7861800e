// The local Nix configuration as Nix itself resolves it (nix.conf, NIX_CONFIG, defaults).
//
// Nix 2.8 up to 2.19 have `nix show-config --json`; 2.20 renamed it `nix config show --json`
// and warns on the old name (Lix has both and warns too): nix-version.ts says which to use. Both
// print an object keyed by setting name whose values are `{value, defaultValue, description,
// aliases, documentDefault[, experimentalFeature]}` objects; bare values are accepted too.
import { z } from "zod";
import { NixCommandError, nixVersion, runNixForms } from "./nix-command.js";
import { configShowForms, storeTrustForms } from "./nix-version.js";

export interface NixConfig {
  /** This machine's system, e.g. `x86_64-linux`. */
  system: string;
  /** Other systems this machine builds for (`extra-platforms`). */
  extraPlatforms: string[];
  substituters: string[];
  trustedPublicKeys: string[];
  /** Every setting, as Nix printed it (strings, numbers, booleans, lists). */
  raw: Record<string, unknown>;
}

const settingSchema = z.union([z.object({ value: z.unknown() }).passthrough(), z.unknown()]);
const configSchema = z.record(z.string(), settingSchema);

function settingValue(setting: unknown): unknown {
  if (setting !== null && typeof setting === "object" && "value" in setting)
    return (setting as { value: unknown }).value;
  return setting;
}

/** A setting that is a list of strings, as Nix prints it (a JSON list, or one space-separated string). */
export function listOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string" && x !== "");
  if (typeof v === "string") return v.split(/\s+/).filter(Boolean);
  return [];
}

/** Parses the JSON of `nix show-config --json` / `nix config show --json`. */
export function parseNixConfigJson(text: string): NixConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new NixCommandError(`nix show-config printed invalid JSON: ${(e as Error).message}`, 0, "");
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success)
    throw new NixCommandError(`unexpected nix show-config JSON: ${z.prettifyError(parsed.error)}`, 0, "");
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed.data)) raw[k] = settingValue(v);
  const system = typeof raw.system === "string" ? raw.system : "";
  if (!system) throw new NixCommandError("nix show-config did not say which system this machine is", 0, "");
  return {
    system,
    extraPlatforms: listOf(raw["extra-platforms"]),
    substituters: listOf(raw.substituters),
    trustedPublicKeys: listOf(raw["trusted-public-keys"]),
    raw,
  };
}

/** Reads the local Nix configuration. */
export async function readNixConfig(): Promise<NixConfig> {
  const { out } = await runNixForms(configShowForms(await nixVersion()), ["--json"]);
  return parseNixConfigJson(out);
}

/** The systems this machine can build: its own and its `extra-platforms`. */
export function buildableSystems(c: NixConfig): string[] {
  return [...new Set([c.system, ...c.extraPlatforms])];
}

/**
 * Whether the store says it trusts this user, from `nix store info --json` / `nix store ping
 * --json` (`{"url": ..., "version": ..., "trusted": 1}`; `trusted` is absent when the store cannot
 * say, e.g. a daemon older than Nix 2.15). Undefined when it does not say (pure).
 */
export function parseStoreTrustJson(text: string): boolean | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const t = json !== null && typeof json === "object" ? (json as { trusted?: unknown }).trusted : undefined;
  if (t === true || t === 1) return true;
  if (t === false || t === 0) return false;
  return undefined;
}

/**
 * Whether the Nix store (the daemon, on a multi-user install) trusts this user: what decides if
 * Nix honours a flake's `extra-substituters`. The daemon's own `trusted-users` decides, which the
 * client's configuration need not show. Undefined when this Nix cannot say (before 2.15) or the
 * question fails.
 */
export async function readStoreTrust(): Promise<boolean | undefined> {
  const forms = storeTrustForms(await nixVersion());
  if (forms === null) return undefined;
  try {
    return parseStoreTrustJson((await runNixForms(forms, ["--json"])).out);
  } catch {
    return undefined;
  }
}
