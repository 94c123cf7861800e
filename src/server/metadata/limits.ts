// Rules both metadata stores apply when they record a NAR: the cache's quota, and blobs the GC is
// deleting from storage at that moment; and the refusal of a narinfo that would break a served one.
import { formatBytes } from "../../util/bytes.js";
import { DbError } from "../errors.js";

/**
 * How long a blob claim blocks NAR records of that blob. A GC deletes what it claimed within
 * seconds; a claim older than this was left by a run that died, and the next run settles it.
 */
export const BLOB_CLAIM_TTL_MS = 15 * 60_000;

/** The refusal of a NAR (or `what`) that would take a cache over its quota: cache, usage, quota, size. */
export function quotaMessage(
  cache: string,
  used: number,
  adding: number,
  quota: number,
  what = "NAR",
): string {
  const b = (n: number) => `${formatBytes(n)} (${n} bytes)`;
  return (
    `cache ${JSON.stringify(cache)} is over its quota: it uses ${b(used)} of ${b(quota)}, ` +
    `and this ${what} of ${b(adding)} would bring it to ${b(used + adding)} ` +
    "(free space with `nixcache gc`, or raise it with `nixcache cache update --quota`)"
  );
}

/** Whether adding `adding` bytes to `used` stays within `quota` (null: no quota). */
export function withinQuota(used: number, adding: number, quota: number | null): boolean {
  return quota === null || adding <= 0 || used + adding <= quota;
}

export function claimedMessage(blob: string): string {
  return `blob ${blob} is being deleted by the garbage collector right now: retry the upload`;
}

/**
 * A visible narinfo committed again naming references the cache does not have (neither visible
 * here nor upstream): refused, and the served narinfo kept. Its dependents were served against
 * it, and a client reading the new text would find those references missing.
 */
export class ReferencesMissingError extends DbError {
  constructor(
    readonly cache: string,
    readonly hash: string,
    /** The missing references' hash parts. */
    readonly missing: readonly string[],
  ) {
    super(
      "conflict",
      `the narinfo of ${hash} is served by cache ${JSON.stringify(cache)} already, and this one names ` +
        `references the cache does not have (${missing.join(", ")}): refused, the served one is kept ` +
        "(push those paths first)",
    );
  }
}

/**
 * The most references one narinfo may name. Real store paths name a few hundred at most (a NixOS
 * system's profile, a large environment); each one costs rows (references, waits) and work in the
 * commit that stores it and in the one that releases it.
 */
export const MAX_REFERENCES = 4096;

/** The refusal of a narinfo naming more than MAX_REFERENCES references. */
export function tooManyReferencesMessage(what: string, count: number): string {
  return `${what} names ${count} references, more than the ${MAX_REFERENCES} a narinfo may name on this server`;
}
