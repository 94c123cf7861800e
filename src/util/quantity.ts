// Durations and sizes written by people (flags, environment variables), read with one grammar:
// one or more `<number><unit>` terms, summed (`1h30m`, `1G512M`); a bare number takes the
// default unit (seconds, bytes). Decimals are allowed (`1.5h`, `0.5G`).
import { NixcacheError } from "./errors.js";

const TERM = /(\d+(?:\.\d+)?)([A-Za-z]*)/y;

/** Milliseconds per duration unit. */
const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Bytes per size unit: binary multiples, with or without `i`/`B` (`8G`, `8GiB`, `8gb`). */
const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function parseTerms(
  text: string,
  unitOf: (suffix: string) => number | undefined,
  bare: number | undefined,
): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(t)) return bare === undefined ? undefined : Number(t) * bare;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    TERM.lastIndex = pos;
    const m = TERM.exec(t);
    const unit = m ? unitOf(m[2] ?? "") : undefined;
    if (!m || unit === undefined || m[2] === "") return undefined;
    total += Number(m[1]) * unit;
    pos = TERM.lastIndex;
  }
  return total;
}

/**
 * `30s`, `45m`, `1h30m`, `500ms`, `90d`, `1y` (a bare number is seconds, unless `requireUnit`:
 * for long spans such as token lifetimes a bare `90` is more likely days than seconds) →
 * milliseconds. Throws a usage error naming the text.
 */
export function parseDuration(text: string, opts: { requireUnit?: boolean } = {}): number {
  const ms = parseTerms(text, (u) => DURATION_UNITS[u], opts.requireUnit ? undefined : 1000);
  if (ms === undefined)
    throw new NixcacheError(
      "usage",
      `invalid duration ${JSON.stringify(text)}: expected e.g. 30s, 45m, 1h or 1h30m`,
    );
  return Math.round(ms);
}

/** `512M`, `8G`, `8GiB`, `1048576` → bytes. Throws a usage error naming the text. */
export function parseSize(text: string): number {
  const bytes = parseTerms(text, (u) => SIZE_UNITS[u.toLowerCase().replace(/i?b$/, "")], 1);
  if (bytes === undefined)
    throw new NixcacheError("usage", `invalid size ${JSON.stringify(text)}: expected e.g. 512M or 8G`);
  return Math.round(bytes);
}

/** A duration for people, to the second: `45s`, `2m 5s`, `1h 30m`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${s % 60 ? ` ${s % 60}s` : ""}` : `${Math.floor(m / 60)}h ${m % 60}m`;
}
