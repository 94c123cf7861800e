import { errorMessage, exitCodeOf, NixcacheError } from "../util/errors.js";

/**
 * An error whose message is meant for the user as is: exit 2 is a usage error, 1 a failure. A thin
 * NixcacheError, so the exit code comes from its code like every other error's.
 */
export class UserError extends NixcacheError {
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(exitCode === 2 ? "usage" : "failed", message);
  }
}

/** Prints an error for a human and returns the exit code. Stack traces only with NIXCACHE_DEBUG. */
export function reportError(err: unknown): number {
  if (process.env.NIXCACHE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.stderr.write(`nixcache: error: ${errorMessage(err)}\n`);
  return exitCodeOf(err);
}

/** Writes JSON for scripts: one document, newline terminated. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
