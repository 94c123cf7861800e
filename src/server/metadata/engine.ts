// What each database does its own way under the one metadata store (sql-store.ts): the narinfo
// reads at scale (each planner wants its own form), how a narinfo commit decides and cascades visibility, how blobs are claimed against NARs being recorded, leases
// by whose clock, how a batch of access times is written, and the GC's set work. Everything else
// the store writes once. sqlite/engine.ts and postgres/engine.ts implement it.
import type { GcBatch, GcMarkResult, GcThresholds, NarInfoCommit, ReceivedNar } from "./types.js";

export interface StoreEngine {
  /** MetadataStore.getNarInfo: every narinfo GET that misses the server's memory comes here. */
  getNarInfo(cache: string, hash: string): Promise<string | undefined>;
  /** MetadataStore.missingNarInfos: tens of thousands of hashes at once (the Cachix client). */
  missingNarInfos(cache: string, hashes: readonly string[]): Promise<string[]>;
  /** MetadataStore.recordNar: quota and blob-claim checks with the insert, atomically. */
  recordNar(nar: Omit<ReceivedNar, "visible">): Promise<boolean>;
  /** MetadataStore.commitNarInfo. */
  commitNarInfo(n: NarInfoCommit): Promise<{ visible: boolean; missing: string[] }>;
  /** MetadataStore.markUpstream. */
  markUpstream(cache: string, hashes: readonly string[]): Promise<string[]>;
  /** MetadataStore.claimBlobs. */
  claimBlobs(blobs: readonly string[], holder: string, takeOver?: readonly string[]): Promise<string[]>;
  /** MetadataStore.acquireLease. */
  acquireLease(name: string, holder: string, ttlMs: number, gone?: string): Promise<boolean>;
  /** MetadataStore.recordAccess (a quiet write: nothing served changes). */
  recordAccess(accesses: ReadonlyArray<{ cache: string; hash: string; at: number }>): Promise<void>;
  gcMark(cache: string, t: GcThresholds & { dryRun?: boolean }): Promise<GcMarkResult>;
  gcPlan(cache: string, t: GcThresholds & { bytes?: boolean }): Promise<{ paths: number; bytes: number }>;
  gcDeleteBatch(
    cache: string,
    t: GcThresholds & {
      limit: number;
      protect?: (hashes: readonly string[]) => ReadonlySet<string>;
      dropNars?: readonly string[];
      dropNarsSince?: number;
    },
  ): Promise<GcBatch | undefined>;
  gcFinish(): Promise<void>;
}
