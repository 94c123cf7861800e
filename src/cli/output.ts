/** An error whose message is meant for the user as is, with the exit code to use. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** Prints an error for a human and returns the exit code. Stack traces only with NIXCACHE_DEBUG. */
export function reportError(err: unknown): number {
  if (process.env.NIXCACHE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`nixcache: error: ${msg}\n`);
  return err instanceof UserError ? err.exitCode : 1;
}

/** Writes JSON for scripts: one document, newline terminated. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
