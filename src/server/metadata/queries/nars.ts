// NAR records and the narinfo reads that need no engine of their own: lookups, the pending
// bookkeeping the resolver and the dashboard read, and what the orphan sweep asks.
import type { Db } from "../db/database.js";
import { BYTE_ORDER, sql, values } from "../db/sql.js";
import { lockNarInfos } from "../locks.js";
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

/**
 * Deletes up to `limit` pending narinfos last committed before `before`, oldest first, each cache's
 * in one transaction under its narinfo lock (a commit completing one lands before: it is visible
 * then, and stays). With them go their references, waits, GC marks, listings and realisations, the
 * build logs of derivations no narinfo names any more, and the NAR records no narinfo names; the
 * blobs of those are returned (for deletion from storage when nothing else names them). No served
 * narinfo ever references a pending one, so no served closure loses anything.
 */
export async function expirePending(
  db: Db,
  before: number,
  limit: number,
): Promise<{ paths: number; blobs: Array<{ blob: string; size: number }> }> {
  const due = await db.all<{ cache: string; hash: string }>(
    sql`SELECT cache, hash FROM narinfos WHERE NOT visible AND created_at < ${before} ORDER BY created_at LIMIT ${limit}`,
  );
  const byCache = new Map<string, string[]>();
  for (const d of due) byCache.set(d.cache, [...(byCache.get(d.cache) ?? []), d.hash]);
  let paths = 0;
  const blobs: Array<{ blob: string; size: number }> = [];
  for (const [cache, hashes] of byCache)
    await db.tx(async (t) => {
      await lockNarInfos(t, cache);
      const gone = await t.all<{ hash: string; url: string; deriver: string | null }>(
        // `+ 0`: found by its key; SQLite would scan the cache's old narinfos by created_at.
        sql`DELETE FROM narinfos WHERE cache = ${cache} AND hash IN ${values(hashes)}
              AND NOT visible AND created_at + 0 < ${before}
            RETURNING hash, url, deriver`,
      );
      if (gone.length === 0) return;
      paths += gone.length;
      const hs = values(gone.map((g) => g.hash));
      await t.run(sql`DELETE FROM narinfo_refs WHERE cache = ${cache} AND hash IN ${hs}`);
      await t.run(sql`DELETE FROM narinfo_waits WHERE cache = ${cache} AND hash IN ${hs}`);
      await t.run(sql`DELETE FROM gc_marks WHERE cache = ${cache} AND hash IN ${hs}`);
      await t.run(sql`DELETE FROM side_files WHERE cache = ${cache} AND kind = 'ls' AND name IN ${hs}`);
      await t.run(sql`DELETE FROM realisations WHERE cache = ${cache} AND out_hash IN ${hs}`);
      const derivers = [...new Set(gone.flatMap((g) => (g.deriver ? [g.deriver] : [])))];
      const logs = await t.all<{ blob: string | null; size: number }>(
        sql`DELETE FROM side_files WHERE cache = ${cache} AND kind = 'log' AND name IN ${values(derivers)}
              AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = ${cache} AND n.deriver = side_files.name)
            RETURNING blob, size`,
      );
      const nars = await t.all<{ blob: string; file_size: number }>(
        sql`DELETE FROM nars WHERE cache = ${cache} AND url IN ${values([...new Set(gone.map((g) => g.url))])}
              AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = ${cache} AND n.url = nars.url)
            RETURNING blob, file_size`,
      );
      for (const l of logs) if (l.blob) blobs.push({ blob: l.blob, size: Number(l.size) });
      for (const n of nars) blobs.push({ blob: n.blob, size: Number(n.file_size) });
    });
  return { paths, blobs };
}
