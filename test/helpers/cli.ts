import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const NIXCACHE_BIN = fileURLToPath(new URL("../../bin/nixcache", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Runs the built CLI (`bin/nixcache`) as a user would, capturing everything. */
export function runCli(
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return runNode(NIXCACHE_BIN, args, opts);
}

/**
 * Runs a script under this `node` without blocking the event loop, capturing everything. The
 * child's environment is `baseEnv` (default this process's) with `env` over it.
 */
export function runNode(
  script: string,
  args: string[],
  opts: {
    input?: string | Buffer;
    env?: NodeJS.ProcessEnv;
    baseEnv?: NodeJS.ProcessEnv;
    cwd?: string;
    /** The `node` binary (default: this one). */
    node?: string;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.node ?? process.execPath, [script, ...args], {
      env: { ...(opts.baseEnv ?? process.env), ...opts.env },
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code,
        stdout: stdoutBytes.toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        stdoutBytes,
      });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}
