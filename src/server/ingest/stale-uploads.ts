// Clean-up of multipart uploads that clients left behind.
import type { MetadataStore } from "../metadata/store.js";
import type { StorageBackend } from "../storage/backend.js";
import { PART_URL_TTL_MS } from "./part-urls.js";

/**
 * Drops multipart uploads that were left open and idle for longer than a part URL lives (clients
 * that died or gave up): each is marked aborted and its parts removed, as an abort would. An
 * upload counts as idle from its creation or its last part received, whichever is later, so a
 * long upload still receiving parts is kept. Also removes the parts of uploads that are not open
 * (left by a crash between the state change and the removal). Runs at server start, in one
 * process only (the primary of a cluster), before any request is served.
 */
export async function sweepStaleUploads(
  meta: MetadataStore,
  storage: StorageBackend,
  ttlMs = PART_URL_TTL_MS,
  now = Date.now(),
): Promise<{ aborted: string[] }> {
  const aborted: string[] = [];
  for (const narId of await meta.openMultipartsBefore(now - ttlMs)) {
    const last = (await storage.partsLastWritten(narId)) ?? 0;
    if (last >= now - ttlMs) continue;
    if (!(await meta.finishMultipart(narId, "aborted"))) continue;
    await meta.deleteParts(narId);
    await storage.deleteParts(narId);
    aborted.push(narId);
  }
  for (const narId of await storage.listPartUploads()) {
    if ((await meta.getMultipart(narId))?.state === "open") continue;
    await meta.deleteParts(narId);
    await storage.deleteParts(narId);
  }
  return { aborted };
}
