// What `nixcache doctor` reads before it checks anything: the flake's nixConfig, the local Nix
// configuration and version, whether the store trusts this user, and the settings the checks use.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type FlakeNixConfig, readFlakeNixConfig } from "../local-nix/flake-nix-config.js";
import { resolveFlakeRef } from "../local-nix/flake-ref.js";
import { nixVersion } from "../local-nix/nix-command.js";
import { listOf, type NixConfig, readNixConfig, readStoreTrust } from "../local-nix/nix-config.js";
import { describeNix, type NixVersion } from "../local-nix/nix-version.js";
import { NixcacheError } from "../util/errors.js";
import type { ConfigSource, FlakeConfigTrust } from "./checks.js";
import { defaultDiskCacheFile } from "./disk-cache.js";
import type { NixFacts } from "./nix-checks.js";

/** The options of runDoctor (doctor.ts) that the inputs need. */
export interface InputOptions {
  flake?: string;
  cwd?: string;
  timeoutMs?: number;
  diskCacheFile?: string;
  nixConfig?: NixConfig;
  storeTrusted?: boolean;
}

export interface DoctorInputs {
  cwd: string;
  /** The flake reference as given (default `.`). */
  flakeRef: string;
  nixConf: NixConfig;
  flakeConf: FlakeNixConfig;
  version: NixVersion | undefined;
  /** flake.nix as named in edits, with its text; null for a remote flake. */
  flakeFile: { name: string; text: string } | null;
  /** Undefined: the store could not say. */
  storeTrusted: boolean | undefined;
  timeoutMs: number;
  netrc: string | undefined;
  nixFacts: NixFacts;
}

/** Reads it all at once; throws only when the flake cannot be found. */
export async function readInputs(opts: InputOptions): Promise<DoctorInputs> {
  const cwd = opts.cwd ?? process.cwd();
  const flakeRef = opts.flake ?? ".";
  const flake = resolveFlakeRef(flakeRef, cwd);
  if (flake === undefined) throw new NixcacheError("usage", `no flake.nix in ${flakeRef}`);
  const [nixConf, flakeConf, version, storeTrusted] = await Promise.all([
    opts.nixConfig ? Promise.resolve(opts.nixConfig) : readNixConfig(),
    readFlakeNixConfig(flake),
    nixVersion(),
    "storeTrusted" in opts ? Promise.resolve(opts.storeTrusted) : readStoreTrust(),
  ]);
  const text = version ? describeNix(version) : "this Nix (an unrecognised version)";
  const diskFile = opts.diskCacheFile ?? defaultDiskCacheFile(process.env, version ?? null);
  return {
    cwd,
    flakeRef,
    nixConf,
    flakeConf,
    version,
    flakeFile: flakeFileRef(flakeConf, cwd),
    storeTrusted,
    timeoutMs: opts.timeoutMs ?? 5000,
    netrc: typeof nixConf.raw["netrc-file"] === "string" ? (nixConf.raw["netrc-file"] as string) : undefined,
    nixFacts: { version, text, diskFile },
  };
}

export function numberSetting(raw: Record<string, unknown>, name: string, fallback: number): number {
  const v = raw[name];
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : fallback;
}

/** Entries from several sources, each once, with every source that names it. */
export function merge<T extends string>(
  entries: Array<[T, ConfigSource]>,
): Array<{ key: T; sources: ConfigSource[] }> {
  const m = new Map<T, ConfigSource[]>();
  for (const [k, s] of entries) {
    const cur = m.get(k) ?? [];
    if (!cur.includes(s)) cur.push(s);
    m.set(k, cur);
  }
  return [...m].map(([key, sources]) => ({ key, sources }));
}

export const normUrl = (u: string) => u.replace(/\/+$/, "");

function userGroups(user: string): string[] {
  try {
    const groups: string[] = [];
    for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
      const [name, , , members] = line.split(":");
      if (name && members?.split(",").includes(user)) groups.push(name);
    }
    return groups;
  } catch {
    return [];
  }
}

/**
 * Whether Nix lets this user set substituters: what the store says when it can (`storeTrusted`,
 * from `nix store info`), else single-user root or `trusted-users` of the configuration.
 */
export function flakeConfigTrust(
  c: NixConfig,
  user = os.userInfo(),
  storeTrusted?: boolean,
): FlakeConfigTrust {
  const trusted = listOf(c.raw["trusted-users"]);
  const groups = userGroups(user.username);
  const trustedUser =
    storeTrusted ??
    (user.uid === 0 ||
      trusted.includes("*") ||
      trusted.includes(user.username) ||
      groups.some((g) => trusted.includes(`@${g}`)));
  return {
    user: user.username,
    acceptFlakeConfig: c.raw["accept-flake-config"] === true || c.raw["accept-flake-config"] === "true",
    trustedUser,
    trustedSubstituters: listOf(c.raw["trusted-substituters"]),
  };
}

function flakeFileRef(c: FlakeNixConfig, cwd: string): { name: string; text: string } | null {
  if (c.file === null) return null;
  const rel = path.relative(cwd, c.file);
  return { name: rel && !rel.startsWith("..") ? rel : c.file, text: c.text };
}
