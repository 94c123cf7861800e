// Rules both metadata stores apply when they record a NAR (the cache's quota, and blobs the GC is
// deleting from storage at that moment) and when they store access times; and the refusal of a
// narinfo that would break a served one.
import { formatBytes } from "../../util/bytes.js";
import { DbError } from "../errors.js";

/**
 * How long a blob claim blocks NAR records of that blob. Its holder renews it every
 * BLOB_CLAIM_RENEW_MS until the blob is deleted, so a claim older than this was left by one that
 * died (or stalled): uploads of the blob go through again, and the next sweep or GC settles it
 * (sooner on the holder's machine, where its process is seen gone).
 */
export const BLOB_CLAIM_TTL_MS = 30_000;
export const BLOB_CLAIM_RENEW_MS = 10_000;

/**
 * Access times are for the GC only, which counts a cache's retention from them. A fetch is written
 * only when the stored time is older than it by more than the retention divided by this, and never
 * in a cache kept forever: a path fetched all the time is then written about once every eighth of
 * its retention instead of at every flush (each write rewrites the row and adds an entry to each of
 * its indexes: a flush of 15,000 accesses made 38 MiB of WAL on PostgreSQL, with 100,000 narinfos),
 * and a read-mostly cache writes next to nothing. A stored time is
 * thus up to that slack earlier than the last fetch, and the GC adds the slack to the retention
 * (`gcCutoff`): what was fetched within the retention is kept, and what was not goes at most an
 * eighth of the retention late.
 */
export const ACCESS_SLACK_DIVISOR = 8;

/** How much earlier than the last fetch a stored access time may be, under `retentionMs`. */
export function accessSlackMs(retentionMs: number): number {
  return Math.floor(retentionMs / ACCESS_SLACK_DIVISOR);
}

/** The access time before which a narinfo is outside `retentionMs` at `now` (see ACCESS_SLACK_DIVISOR). */
export function gcCutoff(now: number, retentionMs: number): number {
  return now - retentionMs - accessSlackMs(retentionMs);
}

/**
 * When a cache's retention goes from `before` (null: forever) to a shorter `after`, stored access
 * times may be staler than the new slack allows (in a cache kept forever, fetches were never
 * written): those from `from` on move later `by` the difference of the slacks, up to `now`. Older
 * ones are outside the new retention either way. A cache that had no retention has all of them
 * moved to now: its retention starts when it is set. Undefined: nothing to move (kept forever now,
 * or a longer retention).
 */
export function accessShift(
  before: number | null,
  after: number | null,
  now: number,
): { by: number; from: number } | undefined {
  if (after === null) return undefined;
  if (before === null) return { by: now, from: 0 };
  const by = accessSlackMs(before) - accessSlackMs(after);
  return by > 0 ? { by, from: now - after - accessSlackMs(before) } : undefined;
}

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
