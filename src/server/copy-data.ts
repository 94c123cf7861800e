// `nixcache data copy`: moves a server's state (e.g. a data directory: SQLite + files) to other
// backends (PostgreSQL + S3) without losing anything. Page by page, a NAR's blob is copied and its
// SHA-256 checked before the records naming it are written, so the target never holds a record
// whose blob is missing or wrong, nor a narinfo whose closure lacks a path left out for that (a
// rerun once the blob is back copies them). Records are written with insert-or-keep semantics and blobs are
// content-addressed, so running the copy again after an interruption resumes it: what is there is
// kept, what is missing is copied. A dry run reads everything and writes nothing.
import { createHash } from "node:crypto";
import { NixcacheError } from "../util/errors.js";
import { mapLimit } from "../util/limiter.js";
import { RECORD_KINDS, type RecordKind, type RecordPage, type RecordTypes } from "./metadata/records.js";
import type { MetadataStore } from "./metadata/store.js";
import { openMetadata, openStorage, resolveLocation, type StateLocation } from "./state-location.js";
import type { StorageBackend } from "./storage/backend.js";

export interface CopyEnd {
  meta: MetadataStore;
  storage: StorageBackend;
}

export interface CopyOptions {
  dryRun?: boolean;
  /** Records per page (default 1000). */
  pageSize?: number;
  /** Blobs copied at once (default 4). */
  concurrency?: number;
  onProgress?: (p: CopyProgress) => void;
  signal?: AbortSignal;
}

export interface CopyProgress {
  kind: RecordKind;
  records: number;
  blobs: number;
  bytes: number;
}

export interface CopyReport {
  dryRun: boolean;
  /** Records read from the source, per kind. */
  records: Record<RecordKind, number>;
  /** Records the target did not have and received (a dry run: 0). */
  written: Record<RecordKind, number>;
  /** Blobs copied (a dry run: that would be copied), and their bytes. */
  blobsCopied: number;
  bytesCopied: number;
  /** Blobs the target already had (a resumed copy). */
  blobsPresent: number;
  /** Blobs missing from the source, or whose bytes do not hash to their name: not copied. */
  badBlobs: Array<{ blob: string; problem: string }>;
  /**
   * Records left out: NAR records and side files whose blob is bad, the narinfos of those NARs and
   * of every path whose closure holds one, and those paths' realisations and pin revisions.
   */
  skippedRecords: number;
  /** The paths left out, each with why: none is served with a broken closure. */
  leftOut: LeftOutPath[];
}

export interface LeftOutPath {
  cache: string;
  storePath: string;
  /** The path whose NAR's blob is bad that its closure holds (itself for that one). */
  because: string;
  blob: string;
}

const zero = (): Record<RecordKind, number> =>
  Object.fromEntries(RECORD_KINDS.map((k) => [k, 0])) as Record<RecordKind, number>;

/** The blob a record needs in storage, if any. */
function blobOf<K extends RecordKind>(kind: K, r: RecordTypes[K]): string | null {
  if (kind === "nars") return (r as RecordTypes["nars"]).blob;
  if (kind === "sideFiles") return (r as RecordTypes["sideFiles"]).blob;
  return null;
}

export async function copyData(from: CopyEnd, to: CopyEnd, opts: CopyOptions = {}): Promise<CopyReport> {
  const pageSize = opts.pageSize ?? 1000;
  const report: CopyReport = {
    dryRun: opts.dryRun ?? false,
    records: zero(),
    written: zero(),
    blobsCopied: 0,
    bytesCopied: 0,
    blobsPresent: 0,
    badBlobs: [],
    skippedRecords: 0,
    leftOut: [],
  };
  const bad = new Set<string>();
  const done = new Set<string>();
  // NARs left out (bad blob), by cache and URL, with that blob.
  const skippedNars = new Map<string, string>();
  // Paths left out (`cache\0hash`): those naming such a NAR, and every one whose closure holds
  // one. A copied narinfo keeps its source visibility, so one referencing a path left out would be
  // served with a hole in its closure; left out, it comes with a rerun once the blob is back.
  const leftOut = new Set<string>();
  if (!report.dryRun) await to.storage.init();

  const copyKind = async <K extends RecordKind>(kind: K): Promise<void> => {
    let after: string | null = null;
    do {
      opts.signal?.throwIfAborted();
      const page: RecordPage<K> = await from.meta.exportRecords(kind, after, pageSize);
      after = page.next;
      report.records[kind] += page.records.length;
      const blobs = [
        ...new Set(page.records.map((r) => blobOf(kind, r)).filter((b): b is string => b !== null)),
      ].filter((b) => !done.has(b) && !bad.has(b));
      await mapLimit(blobs, opts.concurrency ?? 4, async (blob) => {
        const problem = await copyBlob(from.storage, to.storage, blob, report, opts.dryRun ?? false);
        if (problem) {
          bad.add(blob);
          report.badBlobs.push({ blob, problem });
        } else done.add(blob);
      });
      const keep = page.records.filter((r) => {
        const path = pathOf(kind, r);
        if (path !== null) return !leftOut.has(path);
        const b = blobOf(kind, r);
        if (b === null || !bad.has(b)) return true;
        if (kind === "nars") {
          const n = r as RecordTypes["nars"];
          skippedNars.set(`${n.cache}\0${n.url}`, b);
        }
        return false;
      });
      report.skippedRecords += page.records.length - keep.length;
      if (!report.dryRun && keep.length > 0) report.written[kind] += await to.meta.importRecords(kind, keep);
      opts.onProgress?.({
        kind,
        records: report.records[kind],
        blobs: report.blobsCopied,
        bytes: report.bytesCopied,
      });
    } while (after !== null);
  };
  for (const kind of RECORD_KINDS) {
    // Every NAR has been read (they come first): what they leave out is known before any narinfo.
    if (kind === "narinfos") await findLeftOut(from.meta, skippedNars, leftOut, report);
    await copyKind(kind);
  }
  return report;
}

/** The path (`cache\0hash`) a narinfo, realisation or pin revision is of; null for other kinds. */
function pathOf<K extends RecordKind>(kind: K, r: RecordTypes[K]): string | null {
  if (kind === "narinfos") {
    const n = r as RecordTypes["narinfos"];
    return `${n.cache}\0${n.hash}`;
  }
  if (kind === "realisations") {
    const x = r as RecordTypes["realisations"];
    return `${x.cache}\0${x.outHash}`;
  }
  if (kind === "pinRevisions") {
    const p = r as RecordTypes["pinRevisions"];
    return `${p.cache}\0${p.hash}`;
  }
  return null;
}

/** Asks the source which narinfos name the NARs left out, or hold one in their closure. */
async function findLeftOut(
  source: MetadataStore,
  skippedNars: ReadonlyMap<string, string>,
  leftOut: Set<string>,
  report: CopyReport,
): Promise<void> {
  const urls = new Map<string, string[]>();
  for (const key of skippedNars.keys()) {
    const [cache = "", url = ""] = key.split("\0");
    urls.set(cache, [...(urls.get(cache) ?? []), url]);
  }
  for (const [cache, list] of urls) {
    const paths = await source.dependentNarInfos(cache, list);
    const byHash = new Map(paths.map((p) => [p.hash, p]));
    for (const p of paths) {
      const root = byHash.get(p.root) ?? p;
      leftOut.add(`${cache}\0${p.hash}`);
      report.leftOut.push({
        cache,
        storePath: p.storePath,
        because: root.storePath,
        blob: skippedNars.get(`${cache}\0${root.url}`) ?? "",
      });
    }
  }
}

/** Copies one blob, checking its hash on the way; the problem in words when it cannot. */
async function copyBlob(
  from: StorageBackend,
  to: StorageBackend,
  blob: string,
  report: CopyReport,
  dryRun: boolean,
): Promise<string | undefined> {
  const size = await from.blobSize(blob);
  if (size === undefined) return "missing from the source storage";
  // A dry run's target may not exist yet (no bucket): then nothing is there.
  const there = await to.blobSize(blob).catch((e: unknown) => (dryRun ? undefined : Promise.reject(e)));
  if (there === size) {
    report.blobsPresent++;
    return undefined;
  }
  const hasher = createHash("sha256");
  const staged = dryRun ? undefined : await to.stageBlob();
  let bytes = 0;
  try {
    for await (const chunk of from.readBlob(blob) as AsyncIterable<Buffer>) {
      hasher.update(chunk);
      bytes += chunk.length;
      await staged?.write(chunk);
    }
    const actual = hasher.digest("hex");
    if (actual !== blob) {
      await staged?.discard();
      return `its bytes hash to ${actual}, not to its name (corrupted on disk?)`;
    }
    await staged?.commit(blob);
  } catch (e) {
    await staged?.discard();
    if (e instanceof NixcacheError && e.code === "unavailable") throw e;
    throw new NixcacheError("unavailable", `copying blob ${blob}: ${(e as Error).message}`, { cause: e });
  }
  report.blobsCopied++;
  report.bytesCopied += bytes;
  return undefined;
}

/** Opens both ends, copies, closes; refuses to copy a location onto itself. */
export async function copyDataBetween(
  from: StateLocation,
  to: StateLocation,
  opts: CopyOptions = {},
): Promise<CopyReport> {
  const a = resolveLocation(from);
  const b = resolveLocation(to);
  if (
    JSON.stringify(a.db) === JSON.stringify(b.db) ||
    JSON.stringify(a.storage) === JSON.stringify(b.storage)
  )
    throw new NixcacheError("usage", "the source and the target are the same database or the same storage");
  const src: Partial<CopyEnd> = {};
  const dst: Partial<CopyEnd> = {};
  try {
    src.meta = await openMetadata(from);
    src.storage = await openStorage(from);
    dst.storage = await openStorage(to);
    // A dry run must not create anything, not even the target's schema or bucket.
    if (opts.dryRun) dst.meta = src.meta;
    else dst.meta = await openMetadata(to);
    return await copyData(src as CopyEnd, dst as CopyEnd, opts);
  } finally {
    await src.meta?.close();
    if (dst.meta !== src.meta) await dst.meta?.close();
  }
}
