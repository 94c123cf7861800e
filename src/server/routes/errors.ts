// What an error becomes in a reply, decided by its code (each API renders it in its own style).
import { httpStatusOf, NixcacheError, outOfSpace } from "../../util/errors.js";
import { RequestError } from "../errors.js";

export interface ErrorReply {
  status: number;
  /** Shown to the client: our own refusals say why; anything unexpected says only that. */
  message: string;
  /** Headers the answer carries (`Retry-After` when the server is out of space). */
  headers: Record<string, string>;
}

/**
 * What a client is told to wait when the server is out of space: a retry at once would fail the
 * same way, and space comes back when an operator, the sweep or the GC frees some.
 */
export const OUT_OF_SPACE_RETRY_AFTER_S = 30;

/** The status and message for a thrown value; unexpected ones are logged and answered 500. */
export function errorReply(err: unknown, logError: (err: unknown) => void): ErrorReply {
  // A full disk or database is the server's condition whoever wrapped it (an upload "interrupted"
  // by a write that failed): 507, never a 4xx that blames the client nor a bare 500, and always
  // logged, since only the operator can free space.
  const full = outOfSpace(err);
  if (full) {
    logError(full);
    const what =
      full instanceof NixcacheError
        ? full.message
        : /^(SQLITE_FULL|53100)$/.test(String((full as { code?: unknown }).code))
          ? "the server's database is out of space"
          : "the server's storage is out of space";
    return {
      status: 507,
      message: `${what}: try again later`,
      headers: { "retry-after": String(OUT_OF_SPACE_RETRY_AFTER_S) },
    };
  }
  if (err instanceof RequestError) return { status: err.status, message: err.message, headers: {} };
  if (err instanceof NixcacheError && httpStatusOf(err) < 500)
    return { status: httpStatusOf(err), message: err.message, headers: {} };
  // Storage or another dependency is down: the client may retry (Nix and cachix do on 503), and
  // the message says what is down (it names no secret). Logged too, for the operator.
  if (err instanceof NixcacheError && err.code === "unavailable") {
    logError(err);
    return { status: 503, message: err.message, headers: {} };
  }
  // Fastify's own refusals (a malformed URL, a header it cannot parse) carry a 4xx statusCode.
  const status = (err as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500)
    return { status, message: (err as Error).message, headers: {} };
  logError(err);
  return { status: 500, message: "internal server error", headers: {} };
}
