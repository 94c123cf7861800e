// The locks writers take (Tx.lock: PostgreSQL advisory locks, transaction-scoped, taken in one order;
// nothing on SQLite, whose write transactions hold the database),
// by the names every replica uses: a lock is its name's hash, so the names must never change while
// replicas of two versions may run together.
import type { Tx } from "./db/database.js";

/**
 * Narinfo commits of one cache are serialised by a transaction-scoped advisory lock. Without it,
 * A (referencing B) and B committed at once on two connections could each read the other as not
 * yet visible under their own snapshot: A would wait for B, and B's cascade, not seeing A's wait
 * row, would never release it. Under the lock each commit's reads (READ COMMITTED: one snapshot
 * per statement) see every commit that held the lock before it.
 */
export function lockNarInfos(t: Tx, cache: string): Promise<void> {
  return t.lock([`nixcache narinfos ${cache}`]);
}

/**
 * Transaction-scoped locks on blob names, in one order (no two lockers deadlock): recording a NAR
 * and claiming its blob for deletion exclude each other.
 */
export function lockBlobs(t: Tx, blobs: readonly string[]): Promise<void> {
  return t.lock(blobs.map((b) => `nixcache blob ${b}`));
}
