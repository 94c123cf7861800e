// Per-cache quotas at ingest: a NAR that would take the cache's stored bytes over its quota is
// refused with 413 before anything is stored. 413, not 507: Nix and nixcache's clients retry 5xx
// answers, and a full cache stays full until someone collects garbage or raises the quota.
import { IngestError } from "../errors.js";
import { quotaMessage, withinQuota } from "../metadata/limits.js";
import type { MetadataStore } from "../metadata/store.js";
import type { CacheRow } from "../metadata/types.js";

/** A push refused by the cache's quota (HTTP 413). */
export class QuotaError extends IngestError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("tooLarge", message, { status: 413, cause: options?.cause });
  }
}

/**
 * Refuses an upload before its body is read: when the cache is full already, or the body it
 * declares (Content-Length: the stored, compressed size) would not fit.
 */
export async function refuseOverQuota(
  meta: MetadataStore,
  cache: CacheRow,
  declaredBytes: number | undefined,
): Promise<void> {
  if (cache.quotaBytes === null) return;
  const used = await meta.cacheUsage(cache.name);
  const adding = declaredBytes !== undefined && Number.isFinite(declaredBytes) ? declaredBytes : 1;
  if (!withinQuota(used, adding, cache.quotaBytes))
    throw new QuotaError(quotaMessage(cache.name, used, adding, cache.quotaBytes));
}

/**
 * Refuses a received NAR of `size` bytes for `url` that would take the cache over its quota. A
 * NAR received again for its URL adds only the difference. The store checks once more when it
 * records the NAR (concurrent uploads), this check keeps the refused bytes out of storage.
 */
export async function checkQuota(
  meta: MetadataStore,
  cacheName: string,
  url: string,
  blob: string,
  size: number,
): Promise<void> {
  const cache = await meta.getCache(cacheName);
  if (!cache || cache.quotaBytes === null) return;
  const old = await meta.getNar(cacheName, url);
  if (old?.visible && old.blob !== blob) return; // refused as a conflict when recorded
  const adding = size - (old?.fileSize ?? 0);
  const used = await meta.cacheUsage(cacheName);
  if (!withinQuota(used, adding, cache.quotaBytes))
    throw new QuotaError(quotaMessage(cacheName, used, adding, cache.quotaBytes));
}
