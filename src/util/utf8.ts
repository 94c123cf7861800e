import { NixcacheError } from "./errors.js";

const strict = new TextDecoder("utf-8", { fatal: true });

/** Decodes UTF-8, refusing (invalid) bytes that are not: `what` names the input in the error. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    throw new NixcacheError("invalid", `${what} is not valid UTF-8`);
  }
}
