// Puts the test-only `nix` front (nix-front/front.mjs) first on PATH for a child process: `nix`
// and `nix-store` then answer as the emulated version (profiles.json) on top of the real Nix.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const FRONT = fileURLToPath(new URL("./nix-front/front.mjs", import.meta.url));

export interface FrontProfile {
  implementation: "nix" | "lix" | "determinate";
  version: [number, number, number];
  determinate?: [number, number, number];
  /** What its `nix --version` prints. */
  text: string;
  /** Its `nix --version` names no version nixcache can read. */
  unknown?: boolean;
}

export const FRONT_PROFILES: Record<string, FrontProfile> = JSON.parse(
  readFileSync(new URL("./nix-front/profiles.json", import.meta.url), "utf8"),
);

/** The directory of the real `nix` (the front calls the real programs there). */
export function realNixDir(): string {
  const r = spawnSync("sh", ["-c", "command -v nix"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error("real Nix is required: no `nix` on PATH");
  return path.dirname(r.stdout.trim());
}

/**
 * The environment of a child that should see `profile`'s Nix: PATH starts with shims for `nix` and
 * `nix-store` (written under `dir`), every call logged to `log`. Strict: a call in a form the
 * version deprecates fails (exit 86).
 */
export function frontEnv(
  dir: string,
  profile: string,
  opts: { log: string; trusted?: boolean; base?: NodeJS.ProcessEnv },
): NodeJS.ProcessEnv {
  if (!FRONT_PROFILES[profile]) throw new Error(`no nix-front profile ${profile}`);
  const bin = path.join(dir, "nix-front-bin");
  if (!existsSync(bin)) {
    mkdirSync(bin, { recursive: true });
    // Calls that no version answers differently (evaluation, builds, validity checks) go straight
    // to the real program: the front (a Node process) only for the commands it emulates.
    const emulated: Record<string, string> = {
      nix: "--version|path-info|show-config|config|show-derivation|derivation|store",
      "nix-store": "internal-json",
    };
    for (const program of ["nix", "nix-store"]) {
      const shim = path.join(bin, program);
      writeFileSync(
        shim,
        [
          "#!/bin/sh",
          // `nix --version` (once per nixcache run) without starting Node.
          ...(program === "nix"
            ? [
                'if [ "$#" = 1 ] && [ "$1" = --version ]; then',
                '  [ -n "$NIX_FRONT_LOG" ] && printf \'{"profile":"%s","program":"nix","argv":["--version"]}\\n\' "$NIX_FRONT_PROFILE" >> "$NIX_FRONT_LOG"',
                "  printf '%s\\n' \"$NIX_FRONT_VERSION_TEXT\"",
                "  exit 0",
                "fi",
              ]
            : []),
          'for a in "$@"; do',
          '  case "$a" in',
          `    ${emulated[program]}) exec ${JSON.stringify(process.execPath)} ${JSON.stringify(FRONT)} ${program} "$@" ;;`,
          "  esac",
          "done",
          `exec "$NIX_FRONT_REAL/${program}" "$@"`,
          "",
        ].join("\n"),
      );
      chmodSync(shim, 0o755);
    }
  }
  const base = opts.base ?? process.env;
  return {
    ...base,
    PATH: `${bin}:${base.PATH ?? ""}`,
    NIX_FRONT_PROFILE: profile,
    NIX_FRONT_VERSION_TEXT: FRONT_PROFILES[profile]?.text,
    NIX_FRONT_REAL: realNixDir(),
    NIX_FRONT_LOG: opts.log,
    NIX_FRONT_STRICT: "1",
    NIX_FRONT_TRUSTED: opts.trusted === false ? "0" : "1",
  };
}

export interface FrontCall {
  profile: string;
  program: string;
  argv: string[];
  deprecated?: string;
  refused?: string;
}

/** The calls the front logged (none when the file does not exist). */
export function frontCalls(log: string): FrontCall[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FrontCall);
}
