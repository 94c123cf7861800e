// The Action's change to the job's Nix: before building, Nix must substitute from the cache (an
// extra substituter, its trusted public key, a netrc entry when the cache is private); the post
// step takes that change back. The change is a marked block in the user-level nix.conf (the
// file Nix reads for the runner user: $NIX_USER_CONF_FILES' first entry, else
// $XDG_CONFIG_HOME/nix/nix.conf) plus a netrc file of our own (mode 0600) that it points at;
// /etc/nix/nix.conf is never touched. Restoring removes exactly that block (so a line another
// step added meanwhile survives) and our netrc file.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { defaultNetrcFile } from "../http/netrc.js";
import type { NixConfig } from "../local-nix/nix-config.js";
import { readTextIfExists } from "../util/files.js";

const BEGIN =
  "# nixcache-action: begin (added for this job by the nixcache Action; its post step removes it)";
const END = "# nixcache-action: end";

/** What Nix should learn about the caches. */
export interface SubstituterPlan {
  substituters: string[];
  publicKeys: string[];
  /** Basic credentials per host, for private caches (the token as password). */
  netrc: Array<{ machine: string; password: string }>;
}

/** What `post` needs to take the change back (saved with core.saveState; holds no secret). */
export interface NixSetupState {
  confFile: string;
  /** Whether the conf file existed before (if not, and only our block is left, it is removed). */
  confExisted: boolean;
  /** Our netrc file, removed in post. */
  netrcFile?: string;
}

/** The user-level nix.conf the runner user's Nix reads. */
export function userNixConfFile(env: NodeJS.ProcessEnv = process.env): string {
  const first = env.NIX_USER_CONF_FILES?.split(":").find((f) => f !== "");
  if (first) return first;
  const xdg = env.XDG_CONFIG_HOME || path.join(homedir(), ".config");
  return path.join(xdg, "nix", "nix.conf");
}

/** `text` without our block (and the newline that ended it). */
export function withoutBlock(text: string): string {
  const start = text.indexOf(BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  const stop = end < 0 ? text.length : end + END.length;
  return text.slice(0, start) + text.slice(stop).replace(/^\n/, "");
}

/** The lines of nix.conf that carry the plan (for the log: no secret is in them). */
export function planLines(plan: SubstituterPlan, netrcFile: string | undefined): string[] {
  const lines: string[] = [];
  if (plan.substituters.length > 0) lines.push(`extra-substituters = ${plan.substituters.join(" ")}`);
  if (plan.publicKeys.length > 0) lines.push(`extra-trusted-public-keys = ${plan.publicKeys.join(" ")}`);
  if (netrcFile) lines.push(`netrc-file = ${netrcFile}`);
  return lines;
}

/**
 * Writes the plan into the user-level nix.conf (and the netrc file in `tempDir`, keeping the
 * entries of the netrc Nix used so far). Returns the state `restoreNixSetup` takes.
 */
export async function applyNixSetup(
  plan: SubstituterPlan,
  opts: { tempDir: string; env?: NodeJS.ProcessEnv },
): Promise<{ state: NixSetupState; lines: string[] }> {
  const env = opts.env ?? process.env;
  const confFile = userNixConfFile(env);
  const before = await readTextIfExists(confFile);
  let netrcFile: string | undefined;
  if (plan.netrc.length > 0) {
    // The netrc Nix would read now (before our block points it elsewhere): its entries stay usable.
    const previous = (await readTextIfExists(defaultNetrcFile(env))) ?? "";
    netrcFile = path.join(opts.tempDir, "nixcache-action.netrc");
    await mkdir(opts.tempDir, { recursive: true });
    const ours = plan.netrc.map((e) => `machine ${e.machine} password ${e.password}\n`).join("");
    await writeFile(
      netrcFile,
      `${ours}${previous}${previous.endsWith("\n") || previous === "" ? "" : "\n"}`,
      {
        mode: 0o600,
      },
    );
    await chmod(netrcFile, 0o600);
  }
  const lines = planLines(plan, netrcFile);
  const base = withoutBlock(before ?? "");
  const sep = base === "" || base.endsWith("\n") ? "" : "\n";
  await mkdir(path.dirname(confFile), { recursive: true });
  await writeFile(confFile, `${base}${sep}${[BEGIN, ...lines, END].join("\n")}\n`);
  const state: NixSetupState = { confFile, confExisted: before !== undefined };
  if (netrcFile) state.netrcFile = netrcFile;
  return { state, lines };
}

/** Takes back what applyNixSetup changed. */
export async function restoreNixSetup(state: NixSetupState): Promise<void> {
  const now = await readTextIfExists(state.confFile);
  if (now !== undefined) {
    const rest = withoutBlock(now);
    if (rest !== now) {
      if (rest === "" && !state.confExisted) await rm(state.confFile, { force: true });
      else await writeFile(state.confFile, rest);
    }
  }
  if (state.netrcFile) await rm(state.netrcFile, { force: true });
}

/** Who runs Nix here and what the Nix configuration trusts. */
export interface NixTrust {
  user: string;
  groups: string[];
  /** Whether Nix goes through a daemon (multi-user install): only then are settings refused. */
  daemon: boolean;
  trustedUsers: string[];
  trustedSubstituters: string[];
}

const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : typeof v === "string" ? v.split(/\s+/).filter(Boolean) : [];

/** Gathers NixTrust for the current user from the Nix configuration and the environment. */
export async function nixTrust(config: NixConfig, env: NodeJS.ProcessEnv = process.env): Promise<NixTrust> {
  const user = userInfo().username;
  let groups: string[] = [];
  try {
    const { stdout } = await promisify(execFile)("id", ["-Gn"], { encoding: "utf8" });
    groups = stdout.split(/\s+/).filter(Boolean);
  } catch {}
  const store = typeof config.raw.store === "string" ? config.raw.store : "auto";
  const remote = env.NIX_REMOTE ?? "";
  const daemon =
    remote === "daemon" ||
    store === "daemon" ||
    store.startsWith("unix://") ||
    (remote === "" &&
      store === "auto" &&
      userInfo().uid !== 0 &&
      existsSync("/nix/var/nix/daemon-socket/socket"));
  return {
    user,
    groups,
    daemon,
    trustedUsers: list(config.raw["trusted-users"]),
    trustedSubstituters: list(config.raw["trusted-substituters"]),
  };
}

/**
 * The settings of the plan that the Nix daemon will ignore because the user is not trusted,
 * each with why and the fix. Empty when every setting takes effect.
 */
export function ignoredSettings(t: NixTrust, plan: SubstituterPlan): string[] {
  if (!t.daemon) return [];
  const trusted = t.trustedUsers.some(
    (u) => u === "*" || u === t.user || (u.startsWith("@") && t.groups.includes(u.slice(1))),
  );
  if (trusted) return [];
  const why = `user ${t.user} is not in the Nix daemon's trusted-users (${t.trustedUsers.join(" ") || "none"})`;
  const fix = `add ${t.user} to trusted-users in /etc/nix/nix.conf (the Nix installer step's extra config)`;
  const out: string[] = [];
  const norm = (u: string) => u.replace(/\/+$/, "");
  const allowed = new Set(t.trustedSubstituters.map(norm));
  for (const s of plan.substituters)
    if (!allowed.has(norm(s)))
      out.push(
        `extra-substituters = ${s} is ignored: ${why} and it is not in trusted-substituters; Nix will not substitute from the cache (${fix}, or list it in trusted-substituters)`,
      );
  if (plan.publicKeys.length > 0)
    out.push(
      `extra-trusted-public-keys = ${plan.publicKeys.join(" ")} is ignored: ${why}; paths signed only by the cache's key will not be accepted (${fix}, or add the key to trusted-public-keys there)`,
    );
  if (plan.netrc.length > 0)
    out.push(
      `netrc-file is ignored: ${why}, so the daemon reads its own netrc-file and a private cache answers 401 (${fix})`,
    );
  return out;
}
