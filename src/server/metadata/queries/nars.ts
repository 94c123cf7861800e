// NAR records and the narinfo reads that need no engine of their own: lookups, the pending
// bookkeeping the resolver and the dashboard read, and what the orphan sweep asks.
import type { Db } from "../db/database.js";
import { BYTE_ORDER, sql, values } from "../db/sql.js";
import { narFromRow, type RawNar } from "../rows.js";
import type { NarInfoBlob, ReceivedNar } from "../types.js";

export async function getNar(db: Db, cache: string, url: string): Promise<ReceivedNar | undefined> {
  const r = await db.get<RawNar>(sql`SELECT * FROM nars WHERE cache = ${cache} AND url = ${url}`);
  return r && narFromRow(r);
}

export async function visibleNar(
  db: Db,
  cache: string,
  url: string,
): Promise<{ blob: string; fileSize: number } | undefined> {
  const r = await db.get<{ blob: string; file_size: number }>(
    sql`SELECT blob, file_size FROM nars WHERE cache = ${cache} AND url = ${url} AND visible`,
  );
  return r && { blob: r.blob, fileSize: r.file_size };
}

export async function pendingReferences(
  db: Db,
  cache: string | undefined,
  limit: number,
): Promise<Array<{ cache: string; hash: string }>> {
  return db.all<{ cache: string; hash: string }>(
    sql`SELECT DISTINCT w.cache, w.ref AS hash FROM narinfo_waits w
        WHERE (CAST(${cache ?? null} AS TEXT) IS NULL OR w.cache = ${cache ?? null})
          AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = w.cache AND n.hash = w.ref)
        LIMIT ${limit}`,
  );
}

export async function pendingCount(db: Db, cache: string): Promise<number> {
  const r = await db.get<{ n: number }>(
    sql`SELECT COUNT(*) AS n FROM narinfos WHERE cache = ${cache} AND NOT visible`,
  );
  return Number(r?.n ?? 0);
}

export async function narInfoBlobs(db: Db): Promise<NarInfoBlob[]> {
  return db.all<NarInfoBlob>(
    sql`SELECT n.cache, n.hash, n.url, u.blob FROM narinfos n LEFT JOIN nars u ON u.cache = n.cache AND u.url = n.url`,
  );
}

/** Of the blobs (distinct), those no NAR record or side file names. */
export function unnamedBlobsQuery(blobs: readonly string[]) {
  return sql`SELECT b.value AS blob FROM ${values([...new Set(blobs)])} AS b
    WHERE NOT EXISTS (SELECT 1 FROM nars u WHERE u.blob = b.value)
      AND NOT EXISTS (SELECT 1 FROM side_files f WHERE f.blob = b.value)`;
}

export async function unnamedBlobs(db: Db, blobs: readonly string[]): Promise<string[]> {
  if (blobs.length === 0) return [];
  return (await db.all<{ blob: string }>(unnamedBlobsQuery(blobs))).map((r) => r.blob);
}

export async function blobReferenced(db: Db, blob: string): Promise<boolean> {
  const r = await db.get<{ referenced: boolean | number }>(
    sql`SELECT (EXISTS (SELECT 1 FROM nars WHERE blob = ${blob})
          OR EXISTS (SELECT 1 FROM side_files WHERE blob = ${blob})) AS referenced`,
  );
  return r?.referenced === true || r?.referenced === 1;
}

export async function invisibleNarsBefore(
  db: Db,
  time: number,
): Promise<Array<{ cache: string; url: string; blob: string }>> {
  return db.all<{ cache: string; url: string; blob: string }>(
    sql`SELECT cache, url, blob FROM nars WHERE NOT visible AND created_at < ${time} ORDER BY created_at`,
  );
}

export async function deleteInvisibleNar(
  db: Db,
  cache: string,
  url: string,
  before: number,
): Promise<boolean> {
  const n = await db.run(
    sql`DELETE FROM nars WHERE cache = ${cache} AND url = ${url} AND NOT visible AND created_at < ${before}`,
  );
  return n > 0;
}

export async function orphanNarUrls(db: Db, cache: string, limit: number): Promise<string[]> {
  const rows = await db.all<{ url: string }>(
    sql`SELECT u.url FROM nars u WHERE u.cache = ${cache} AND u.visible
          AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = ${cache} AND n.url = u.url) LIMIT ${limit}`,
  );
  return rows.map((x) => x.url);
}

/**
 * Up the references from the narinfos naming the URLs (the index on narinfo_refs' cache and ref):
 * a bad blob's dependents are few next to the cache. UNION ends the walk (store paths form no
 * cycles, and a repeated pair is not followed again).
 */
export async function dependentNarInfos(
  db: Db,
  cache: string,
  narUrls: readonly string[],
): Promise<Array<{ hash: string; storePath: string; url: string; root: string }>> {
  if (narUrls.length === 0) return [];
  const rows = await db.all<{ hash: string; store_path: string; url: string; root: string }>(
    sql`WITH RECURSIVE up(hash, root) AS (
          SELECT hash, hash FROM narinfos WHERE cache = ${cache} AND url IN ${values(narUrls)}
          UNION SELECT r.hash, up.root FROM up JOIN narinfo_refs r ON r.cache = ${cache} AND r.ref = up.hash)
        SELECT n.hash, n.store_path, n.url, MIN(up.root${BYTE_ORDER}) AS root
        FROM up JOIN narinfos n ON n.cache = ${cache} AND n.hash = up.hash
        GROUP BY n.hash, n.store_path, n.url ORDER BY n.hash${BYTE_ORDER}`,
  );
  return rows.map((r) => ({ hash: r.hash, storePath: r.store_path, url: r.url, root: r.root }));
}
