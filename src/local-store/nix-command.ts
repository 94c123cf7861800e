import { spawn } from "node:child_process";
import { NixcacheError } from "../util/errors.js";

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

/** Runs the new `nix` CLI with flakes enabled. */
export function runNix(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return runNixProgram("nix", [...NIX_FEATURE_ARGS, ...args], opts);
}
