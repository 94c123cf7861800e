// Ctrl-C as cancellation: the first SIGINT aborts a signal that every request and wait listens
// on, so work stops cleanly and what is half done is cleaned up; a second one exits at once.
import { setMaxListeners } from "node:events";
import { NixcacheError } from "./errors.js";

export interface InterruptScope {
  readonly signal: AbortSignal;
  /** Whether SIGINT arrived. */
  readonly interrupted: boolean;
  /** Stops listening for SIGINT. */
  dispose(): void;
}

/**
 * Listens for SIGINT until `dispose`: the first aborts `signal` (with an "interrupted" error) and
 * calls `onFirst` (e.g. to say what is being stopped); the second exits with status 130.
 */
export function abortOnSigint(onFirst?: () => void): InterruptScope {
  const ac = new AbortController();
  // Every in-flight request and retry wait listens on it.
  setMaxListeners(0, ac.signal);
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    onFirst?.();
    ac.abort(new NixcacheError("interrupted", "interrupted"));
  };
  process.on("SIGINT", onSigint);
  return {
    signal: ac.signal,
    get interrupted() {
      return interrupted;
    },
    dispose: () => {
      process.off("SIGINT", onSigint);
    },
  };
}
