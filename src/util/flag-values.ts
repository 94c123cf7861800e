// The values people write after a flag (counts, durations, ports, a choice among words), parsed
// once for the CLI, the Action's extra-args and the admin commands. Each error is a usage error
// (exit 2) that names the flag as the caller spells it (`--jobs`, `extra-args --jobs`) and
// quotes the text.
import { NixcacheError } from "./errors.js";
import { parseDuration, parseSize } from "./quantity.js";

const usage = (message: string) => new NixcacheError("usage", message);

/**
 * `text` as a whole number (digits only: no sign, exponent or fraction) from `min` to `max`, else
 * undefined. The one check of counts, for callers that word their own message (the server's
 * settings say where a value came from).
 */
export function wholeNumber(text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/** A whole number from `min` to `max`: `--jobs must be an integer from 1 to 256, got "x"`. */
export function parseIntFlag(text: string, flag: string, min: number, max: number): number {
  const n = wholeNumber(text, min, max);
  if (n === undefined)
    throw usage(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

/** A whole number of at least 1, without an upper bound. */
export function parsePositiveIntFlag(text: string, flag: string): number {
  const n = wholeNumber(text, 1);
  if (n === undefined) throw usage(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** A whole number of at least 0, without an upper bound. */
export function parseCountFlag(text: string, flag: string): number {
  const n = wholeNumber(text);
  if (n === undefined) throw usage(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return n;
}

/** An integer as above, or `auto` (passed on as text: Nix's `--max-jobs auto`). */
export function parseIntOrAutoFlag(text: string, flag: string, min: number, max: number): string {
  if (text !== "auto") parseIntFlag(text, flag, min, max);
  return text;
}

/** A TCP port; 0 means any free one. */
export function parsePortFlag(text: string, flag: string): number {
  const n = wholeNumber(text, 0, 65535);
  if (n === undefined)
    throw usage(`${flag} must be a port number (0: any free port), got ${JSON.stringify(text)}`);
  return n;
}

/** `30s`, `45m`, `1h30m` → milliseconds; with `positive`, 0 is refused too. */
export function parseDurationFlag(text: string, flag: string, o: { positive?: boolean } = {}): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw usage(`${flag}: ${(e as Error).message}`);
  }
  if (o.positive && ms <= 0) throw usage(`${flag}: must be longer than 0s`);
  return ms;
}

/** `512M`, `8G` → bytes. */
export function parseSizeFlag(text: string, flag: string): number {
  try {
    return parseSize(text);
  } catch (e) {
    throw usage(`${flag}: ${(e as Error).message}`);
  }
}

/** One of a fixed set of words: `--pr-comment must be one of auto, always, never, got "x"`. */
export function parseChoiceFlag<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text))
    throw usage(`${flag} must be one of ${choices.join(", ")}, got ${JSON.stringify(text)}`);
  return text as T;
}
