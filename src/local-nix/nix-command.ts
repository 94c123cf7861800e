// The one way nixcache runs Nix: every `nix`, `nix-store` call of the library goes through here
// (no other module spawns a Nix program). It learns once per process which Nix this is (`nix
// --version`, nix-version.ts) so that each command is asked in the form that version wants; a
// version it cannot read gets the newer form first, then the older one on a usage error, and one
// line on stderr saying so. A warning from Nix that it was called in a deprecated form is shown
// once (it means nixcache needs fixing before that form becomes an error).
import { spawn } from "node:child_process";
import { NixcacheError } from "../util/errors.js";
import { describeNix, type NixVersion, parseNixVersion } from "./nix-version.js";

export class NixCommandError extends NixcacheError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super("unavailable", message);
  }
}

/** Flags every `nix` (new CLI) call needs on installs where flakes are still experimental. */
export const NIX_FEATURE_ARGS = ["--extra-experimental-features", "nix-command flakes"];

export interface RunOptions {
  cwd?: string;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Called with each chunk of stderr as it arrives (build logs, progress). */
  onStderr?: (chunk: Buffer) => void;
}

// Nix's own words when a call uses a form it has deprecated (src/nix/path-info.cc, the alias table
// of src/nix/main.cc / src/libutil/args.cc; Lix says the same of its aliases).
const DEPRECATION =
  /^warning: (?:.*is a deprecated alias for .*|.*'--[a-z-]+' without '--[a-z-]+' is deprecated.*|.*(?:flag|option|command) .*is deprecated.*)$/;

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");

/** Text without terminal colour codes (Nix colours its messages even in JSON logs). */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

/** The lines of Nix's stderr that say the call itself used a deprecated form (pure, for tests). */
export function deprecationWarnings(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((l) => stripAnsi(l).trim())
    .filter((l) => DEPRECATION.test(l));
}

const shown = new Set<string>();

function noticeDeprecations(program: string, args: readonly string[], stderr: string): void {
  for (const w of deprecationWarnings(stderr)) {
    if (shown.has(w)) continue;
    shown.add(w);
    const cmd = [program, ...args.filter((a) => !a.startsWith("/") && !NIX_FEATURE_ARGS.includes(a))]
      .slice(0, 4)
      .join(" ");
    process.stderr.write(
      `nixcache: Nix warned that \`${cmd}\` is a deprecated form: ${w.replace(/^warning: /, "")} ` +
        "(nixcache should ask differently: please report this with `nix --version`)\n",
    );
  }
}

/**
 * Runs a Nix program and resolves with its stdout. A non-zero exit rejects with the tail of
 * stderr in the message, because that is where Nix says what went wrong.
 */
export function runNixProgram(
  program: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => {
      err.push(d);
      opts.onStderr?.(d);
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      const msg =
        e.code === "ENOENT"
          ? `${program} is not installed or not on PATH`
          : `cannot run ${program}: ${e.message}`;
      reject(new NixCommandError(msg, null, ""));
    });
    child.on("close", (code) => {
      const stderr = Buffer.concat(err).toString("utf8");
      noticeDeprecations(program, args, stderr);
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else {
        const tail = stderr.trim().split("\n").slice(-15).join("\n");
        reject(
          new NixCommandError(`${program} ${args.join(" ")} failed (exit ${code}):\n${tail}`, code, stderr),
        );
      }
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

let detected: Promise<NixVersion | undefined> | undefined;
let unknownSaid = false;

/**
 * Which Nix `nix` is, asked once per process (`nix --version`). Undefined when the answer names
 * no version nixcache can read; a missing `nix` rejects.
 */
export function nixVersion(): Promise<NixVersion | undefined> {
  detected ??= runNixProgram("nix", ["--version"]).then((out) => {
    const v = parseNixVersion(out);
    if (v === undefined && !unknownSaid) {
      unknownSaid = true;
      process.stderr.write(
        `nixcache: cannot tell which Nix this is from \`nix --version\` (${JSON.stringify(out.trim().split("\n")[0] ?? "")}): ` +
          "asking each command in its newer form first, then the older one\n",
      );
    }
    return v;
  });
  return detected;
}

/** `nix --version` in words ("Nix 2.35.2", "Lix 2.93.0", ...), or what it printed when unknown. */
export async function nixVersionText(): Promise<string> {
  const v = await nixVersion();
  return v ? describeNix(v) : "an unrecognised Nix";
}

/** Runs the new `nix` CLI with flakes enabled. */
export function runNix(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return runNixProgram("nix", [...NIX_FEATURE_ARGS, ...args], opts);
}

/** Nix refused the command line itself (an unknown flag or subcommand), not what it was asked. */
export function isUsageError(e: unknown): boolean {
  return (
    e instanceof NixCommandError &&
    e.exitCode !== null &&
    e.exitCode !== 0 &&
    /unrecogni[sz]ed (?:flag|option)|is not a recogni[sz]ed command|unknown (?:flag|option|command)/i.test(
      e.stderr,
    )
  );
}

/** For each list of forms, the one this Nix answered (so a fallback is found once per process). */
const answered = new Map<string, number>();

/**
 * Runs `nix` in the first of `forms` (each the leading arguments, e.g. `["config", "show"]`)
 * followed by `rest`. A known version passes one form; for an unknown one, a usage error moves on
 * to the next form, and the form that answered is used first from then on. Resolves with stdout
 * and the form that answered.
 */
export async function runNixForms(
  forms: readonly (readonly string[])[],
  rest: readonly string[],
  opts: RunOptions = {},
): Promise<{ out: string; form: readonly string[] }> {
  const key = JSON.stringify(forms);
  const start = answered.get(key) ?? 0;
  let last: unknown;
  for (let i = start; i < forms.length; i++) {
    const form = forms[i] as readonly string[];
    try {
      const out = await runNix([...form, ...rest], opts);
      if (forms.length > 1) answered.set(key, i);
      return { out, form };
    } catch (e) {
      if (!isUsageError(e) || i === forms.length - 1) throw e;
      last = e;
    }
  }
  throw last ?? new NixCommandError("no form of the command to run", null, "");
}
