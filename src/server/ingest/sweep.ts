// Clean-up of what clients leave behind, at start and then periodically while the server runs
// (in one process only: the single server, or the primary of a cluster): multipart uploads left
// open, narinfos whose closure never came (pending past the expiry), NARs that no narinfo ever
// made visible, blobs that nothing names any more (a refused upload's, a dropped NAR's), and the
// blob claims of deleters that died (a killed GC's).

import { every, type Periodic } from "../../util/periodic.js";
import { endHolder, holderGone, newHolder } from "../holder.js";
import { BLOB_CLAIM_RENEW_MS, BLOB_CLAIM_TTL_MS } from "../metadata/limits.js";
import type { MetadataStore } from "../metadata/store.js";
import type { StorageBackend } from "../storage/backend.js";
import { PART_URL_TTL_MS } from "./part-urls.js";

/** How long a NAR may wait for its narinfo, and an unnamed blob for its record, before it goes. */
export const ORPHAN_GRACE_MS = 60 * 60 * 1000;
export const DEFAULT_SWEEP_INTERVAL_MS = 10 * 60 * 1000;
/**
 * How long a narinfo may wait for its closure (its references, here or upstream) before the sweep
 * deletes it: a push finishes within hours, and the upstream lookups recheck every 5 minutes.
 */
export const DEFAULT_PENDING_EXPIRY_MS = 24 * 3600 * 1000;
/**
 * Pending narinfos deleted per transaction: SQLite runs one while nothing else in the process
 * does (a hundred with 200 references each: a quarter second on a busy small machine), and each
 * commit costs a write to disk.
 */
const EXPIRE_BATCH = 100;

export interface SweepOptions {
  /** Idle time after which an open multipart upload is dropped (default: a part URL's lifetime). */
  staleUploadMs?: number;
  /** Age after which an invisible NAR or an unnamed blob is dropped (default one hour). */
  orphanGraceMs?: number;
  /** Time since its last commit after which a pending narinfo is deleted (default 24 hours). */
  pendingExpiryMs?: number;
}

export interface SweepResult {
  aborted: string[];
  /** Pending narinfos deleted (expired). */
  pending: number;
  nars: number;
  blobs: number;
  /** Bytes of the blobs deleted. */
  bytes: number;
}

/** Blobs deleted from storage at once (object stores take one request each). */
const DELETE_CONCURRENCY = 8;
/** Claims looked at per settling (a dead GC leaves at most a batch's). */
const CLAIMS_SETTLED = 10_000;

/**
 * Deletes from storage the blobs of `blobs` that nothing names, each claimed first (claimBlobs:
 * a NAR recorded meanwhile with that blob is refused until it is gone, and retried by its client).
 * The claims are renewed while the deletes go on, so they can be short: a deleter that dies
 * blocks uploads of its blobs for BLOB_CLAIM_TTL_MS at most. No delete starts on a claim that may
 * have lapsed. `blobs` maps each to its size when known; claims of holders in `takeOver` (known
 * gone) are taken over. Returns how many were deleted and their bytes.
 */
export async function deleteUnnamedBlobs(
  meta: MetadataStore,
  storage: StorageBackend,
  blobs: ReadonlyMap<string, number | undefined>,
  takeOver: readonly string[] = [],
): Promise<{ blobs: number; bytes: number }> {
  const holder = newHolder();
  let bytes = 0;
  const done: string[] = [];
  let failure: unknown;
  let renewal: ReturnType<typeof setInterval> | undefined;
  try {
    let heldSince = Date.now();
    const queue = await meta.claimBlobs([...blobs.keys()], holder, takeOver);
    // Claimed and not deleted yet (queued or being deleted): what the renewal keeps.
    const held = new Set(queue);
    let renewing: Promise<void> | undefined;
    const renew = () =>
      (renewing ??= (async () => {
        const at = Date.now();
        const still = new Set(await meta.renewBlobClaims([...held], holder));
        heldSince = at;
        // Lapsed (this process stalled past the TTL): no longer ours to delete.
        for (const b of held) if (!still.has(b)) held.delete(b);
      })().finally(() => {
        renewing = undefined;
      }));
    renewal = setInterval(() => void renew().catch(() => {}), BLOB_CLAIM_RENEW_MS);
    renewal.unref();
    await Promise.all(
      Array.from({ length: Math.min(DELETE_CONCURRENCY, queue.length) }, async () => {
        for (let b = queue.shift(); b !== undefined; b = queue.shift()) {
          // Due and not done by the timer (an event loop held up): renewed before the delete.
          if (Date.now() - heldSince > BLOB_CLAIM_RENEW_MS) await renew().catch(() => {});
          if (!held.has(b)) continue;
          if (Date.now() - heldSince > BLOB_CLAIM_TTL_MS - BLOB_CLAIM_RENEW_MS) {
            failure ??= new Error(
              "the claims on blobs being deleted could not be renewed: stopped (the next GC or sweep deletes the rest)",
            );
            return;
          }
          try {
            const size = blobs.get(b) ?? (await storage.blobSize(b)) ?? 0;
            await storage.deleteBlob(b);
            bytes += size;
            done.push(b);
          } catch (e) {
            failure ??= e;
          } finally {
            held.delete(b);
          }
        }
      }),
    );
  } finally {
    clearInterval(renewal);
    // A blob whose deletion failed keeps its claim until it is stale: a delete that failed may
    // still land. The next sweep or GC settles it (settleClaims).
    await meta.releaseBlobClaims(done, holder).finally(() => endHolder(holder));
  }
  if (failure !== undefined) throw failure;
  return { blobs: done.length, bytes };
}

/**
 * Claims left by deleters that died or stalled (a GC killed between claiming and deleting): once
 * stale, or at once when their holder is known gone (a process of this machine that no longer
 * exists), the blobs still unnamed are deleted, under claims taken over from them (never released
 * in between: a delete the dead one sent may still land, and must find the blob claimed); the
 * others' claims are dropped. Returns what was deleted.
 */
export async function settleClaims(
  meta: MetadataStore,
  storage: StorageBackend,
): Promise<{ blobs: number; bytes: number }> {
  const claims = await meta.blobClaims(CLAIMS_SETTLED);
  const gone = [...new Set(claims.filter((c) => !c.stale && holderGone(c.holder)).map((c) => c.holder))];
  const settled = claims.filter((c) => c.stale || gone.includes(c.holder));
  if (settled.length === 0) return { blobs: 0, bytes: 0 };
  return deleteUnnamedBlobs(meta, storage, new Map(settled.map((c) => [c.blob, undefined])), gone);
}

/**
 * Drops multipart uploads left open (or completing, by a process that died) and idle for longer
 * than `staleUploadMs`: each is marked aborted and its parts removed, as an abort would. An upload
 * counts as idle from its creation or its last part received, whichever is later, so a long upload
 * still receiving parts is kept. Also removes the parts of uploads that are not open (left by a
 * crash between the state change and the removal). Uploads that direct storage (S3) runs itself
 * are aborted there the same way.
 */
async function sweepUploads(meta: MetadataStore, storage: StorageBackend, ttlMs: number, now: number) {
  const aborted: string[] = [];
  const direct = storage.direct;
  for (const narId of await meta.openMultipartsBefore(now - ttlMs)) {
    const up = await meta.getMultipart(narId);
    if (!up || (up.state !== "open" && up.state !== "completing")) continue;
    let last = (await storage.partsLastWritten(narId)) ?? 0;
    if (direct)
      for (const p of (await direct.listParts(narId, up.uploadId)) ?? []) last = Math.max(last, p.modified);
    if (last >= now - ttlMs) continue;
    if (!(await meta.transitionMultipart(narId, up.state, "aborted"))) continue;
    await meta.deleteParts(narId);
    await storage.deleteParts(narId);
    await direct?.abort(narId, up.uploadId);
    aborted.push(narId);
  }
  for (const narId of await storage.listPartUploads()) {
    const state = (await meta.getMultipart(narId))?.state;
    if (state === "open" || state === "completing") continue;
    await meta.deleteParts(narId);
    await storage.deleteParts(narId);
  }
  for (const u of (await direct?.listUploads()) ?? []) {
    const up = await meta.getMultipart(u.narId);
    if (up?.state === "open" || up?.state === "completing") continue;
    // Storage names an upload before its record is written: one without a record goes only once
    // it is old, never while its creation is still under way.
    if (!up && u.since >= now - ttlMs) continue;
    await direct?.abort(u.narId, u.uploadId ?? undefined);
  }
  return aborted;
}

/** Pending narinfos last committed before `before`, and the blobs only they named. */
async function expirePending(meta: MetadataStore, storage: StorageBackend, before: number) {
  let pending = 0;
  let blobs = 0;
  let bytes = 0;
  for (;;) {
    const r = await meta.expirePending(before, EXPIRE_BATCH);
    pending += r.paths;
    if (r.blobs.length > 0) {
      const gone = await deleteUnnamedBlobs(meta, storage, new Map(r.blobs.map((b) => [b.blob, b.size])));
      blobs += gone.blobs;
      bytes += gone.bytes;
    }
    if (r.paths < EXPIRE_BATCH) return { pending, blobs, bytes };
    // Requests go on between batches.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** NAR records no narinfo made visible within the grace, then blobs nothing names. */
async function sweepOrphans(meta: MetadataStore, storage: StorageBackend, graceMs: number, now: number) {
  const before = now - graceMs;
  let nars = 0;
  for (const n of await meta.invisibleNarsBefore(before))
    if (await meta.deleteInvisibleNar(n.cache, n.url, before)) nars++;
  let blobs = 0;
  let bytes = 0;
  // A page of storage's listing at a time, asked of the database: memory stays flat.
  for await (const page of storage.blobPages())
    for (const hash of await meta.unnamedBlobs(page)) {
      // A blob committed moments ago may not be recorded yet: only old ones go, checked once more
      // (under a claim, against records being made right now).
      const modified = await storage.blobModified(hash);
      if (modified === undefined || modified >= before) continue;
      const gone = await deleteUnnamedBlobs(meta, storage, new Map([[hash, undefined]]));
      blobs += gone.blobs;
      bytes += gone.bytes;
    }
  return { nars, blobs, bytes };
}

export async function sweep(
  meta: MetadataStore,
  storage: StorageBackend,
  o: SweepOptions = {},
  now = Date.now(),
): Promise<SweepResult> {
  const claims = await settleClaims(meta, storage);
  const aborted = await sweepUploads(meta, storage, o.staleUploadMs ?? PART_URL_TTL_MS, now);
  const expired = await expirePending(meta, storage, now - (o.pendingExpiryMs ?? DEFAULT_PENDING_EXPIRY_MS));
  const orphans = await sweepOrphans(meta, storage, o.orphanGraceMs ?? ORPHAN_GRACE_MS, now);
  return {
    aborted,
    pending: expired.pending,
    nars: orphans.nars,
    blobs: orphans.blobs + expired.blobs + claims.blobs,
    bytes: orphans.bytes + expired.bytes + claims.bytes,
  };
}

/** Runs `sweep` every `intervalMs` (never two at once) until stopped; failures are reported. */
export function startSweeper(
  meta: MetadataStore,
  storage: StorageBackend,
  o: SweepOptions & { intervalMs: number; onError(e: unknown): void },
): Periodic {
  return every(o.intervalMs, () => sweep(meta, storage, o), o.onError);
}
