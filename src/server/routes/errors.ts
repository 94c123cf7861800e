// What an error becomes in a reply, decided by its code (each API renders it in its own style).
import { httpStatusOf, NixcacheError } from "../../util/errors.js";
import { RequestError } from "../errors.js";

export interface ErrorReply {
  status: number;
  /** Shown to the client: our own refusals say why; anything unexpected says only that. */
  message: string;
}

/** The status and message for a thrown value; unexpected ones are logged and answered 500. */
export function errorReply(err: unknown, logError: (err: unknown) => void): ErrorReply {
  if (err instanceof RequestError) return { status: err.status, message: err.message };
  if (err instanceof NixcacheError && httpStatusOf(err) < 500)
    return { status: httpStatusOf(err), message: err.message };
  // Storage or another dependency is down: the client may retry (Nix and cachix do on 503), and
  // the message says what is down (it names no secret). Logged too, for the operator.
  if (err instanceof NixcacheError && err.code === "unavailable") {
    logError(err);
    return { status: 503, message: err.message };
  }
  // Fastify's own refusals (a malformed URL, a header it cannot parse) carry a 4xx statusCode.
  const status = (err as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500) return { status, message: (err as Error).message };
  logError(err);
  return { status: 500, message: "internal server error" };
}
