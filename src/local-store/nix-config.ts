// The local Nix configuration as Nix itself resolves it (nix.conf, NIX_CONFIG, defaults).
//
// Nix 2.8 up to 2.19 have `nix show-config --json`; newer versions renamed it `nix config show
// --json` (the old name still works for a while). Both print an object keyed by setting name
// whose values are `{value, defaultValue, ...}` objects; some versions print the bare values.
import { z } from "zod";
import { NixCommandError, runNix } from "./nix-command.js";

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
  let text: string;
  try {
    text = await runNix(["show-config", "--json"]);
  } catch (e) {
    if (!(e instanceof NixCommandError) || e.exitCode === null) throw e;
    text = await runNix(["config", "show", "--json"]);
  }
  return parseNixConfigJson(text);
}

/** The systems this machine can build: its own and its `extra-platforms`. */
export function buildableSystems(c: NixConfig): string[] {
  return [...new Set([c.system, ...c.extraPlatforms])];
}
