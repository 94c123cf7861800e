// Rules both metadata stores apply when they record a NAR: the cache's quota, and blobs the GC is
// deleting from storage at that moment.
import { formatBytes } from "../../util/bytes.js";

/**
 * How long a blob claim blocks NAR records of that blob. Its holder renews it every
 * BLOB_CLAIM_RENEW_MS until the blob is deleted, so a claim older than this was left by one that
 * died (or stalled): uploads of the blob go through again, and the next sweep or GC settles it
 * (sooner on the holder's machine, where its process is seen gone).
 */
export const BLOB_CLAIM_TTL_MS = 30_000;
export const BLOB_CLAIM_RENEW_MS = 10_000;

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
