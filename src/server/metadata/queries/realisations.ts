// Content-addressed outputs (realisations, build trace entries) and side files (listings, logs).
import { STORE_HASH_LENGTH } from "../../../nix/store-path.js";
import { DbError } from "../../errors.js";
import type { Db } from "../db/database.js";
import { BYTE_ORDER, rowLock, sql } from "../db/sql.js";
import { BLOB_CLAIM_TTL_MS, claimedMessage, quotaMessage, withinQuota } from "../limits.js";
import { lockBlobs, lockNarInfos } from "../locks.js";
import { bool, fileFromRow, type RawFile } from "../rows.js";
import type {
  NewSideFile,
  RealisationCommit,
  RealisationKind,
  SideFile,
  SideFileKind,
  StoredRealisation,
} from "../types.js";
import { claimClock } from "./claims.js";

/**
 * Under the cache's narinfo lock (commits and GC deletes take it too: none lands between the
 * presence check and the write), then the cache row's (the quota check and the usage trigger's
 * update are one step for concurrent writers).
 */
export async function putRealisation(db: Db, r: RealisationCommit): Promise<{ visible: boolean }> {
  const size = Buffer.byteLength(r.text);
  const outHash = r.outPath.slice(0, STORE_HASH_LENGTH);
  return db.tx(async (t) => {
    await lockNarInfos(t, r.cache);
    const state = await t.get<{
      quota_bytes: number | null;
      used_bytes: number;
      old: number | null;
      present: boolean | number;
    }>(
      sql`SELECT c.quota_bytes, c.used_bytes,
            (SELECT size FROM realisations WHERE cache = ${r.cache} AND kind = ${r.kind} AND key = ${r.key}) AS old,
            (EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = ${r.cache} AND n.hash = ${outHash} AND n.visible)
              OR EXISTS (SELECT 1 FROM upstream_paths u WHERE u.cache = ${r.cache} AND u.hash = ${outHash})) AS present
          FROM caches c WHERE c.name = ${r.cache}${rowLock("FOR NO KEY UPDATE")}`,
    );
    if (!state) throw new DbError("notFound", `no cache named ${JSON.stringify(r.cache)}`);
    const used = Number(state.used_bytes);
    const adding = size - Number(state.old ?? 0);
    const quota = state.quota_bytes === null ? null : Number(state.quota_bytes);
    if (!withinQuota(used, adding, quota))
      throw new DbError("tooLarge", quotaMessage(r.cache, used, adding, quota ?? 0, "realisation"));
    const visible = bool(state.present);
    await t.run(
      sql`INSERT INTO realisations (cache, kind, key, out_hash, out_path, text, size, visible, created_at)
          VALUES (${r.cache}, ${r.kind}, ${r.key}, ${outHash}, ${r.outPath}, ${r.text}, ${size}, ${visible}, ${Date.now()})
          ON CONFLICT (cache, kind, key) DO UPDATE SET out_hash = excluded.out_hash, out_path = excluded.out_path,
            text = excluded.text, size = excluded.size, visible = excluded.visible, created_at = excluded.created_at`,
    );
    return { visible };
  });
}

export async function getRealisation(
  db: Db,
  cache: string,
  kind: RealisationKind,
  key: string,
): Promise<string | undefined> {
  const r = await db.get<{ text: string }>(
    sql`SELECT text FROM realisations WHERE cache = ${cache} AND kind = ${kind} AND key = ${key} AND visible`,
  );
  return r?.text;
}

export async function realisationsOf(db: Db, cache: string, hash: string): Promise<StoredRealisation[]> {
  const rows = await db.all<{
    kind: RealisationKind;
    key: string;
    out_path: string;
    visible: boolean | number;
    size: number;
    created_at: number;
  }>(
    sql`SELECT kind, key, out_path, visible, size, created_at FROM realisations
        WHERE cache = ${cache} AND out_hash = ${hash} ORDER BY kind${BYTE_ORDER}, key${BYTE_ORDER}`,
  );
  return rows.map((x) => ({
    kind: x.kind,
    key: x.key,
    outPath: x.out_path,
    visible: bool(x.visible),
    size: Number(x.size),
    createdAt: Number(x.created_at),
  }));
}

/**
 * A side file naming a blob the GC is deleting right now is refused (retry); one that would take
 * the cache over its quota too. Under the blob's lock (claimBlobs takes it), then the cache row's
 * (the quota check and the usage trigger's update are one step for concurrent writers).
 */
export async function putSideFile(
  db: Db,
  cache: string,
  kind: SideFileKind,
  name: string,
  f: NewSideFile,
): Promise<void> {
  const size = f.blob === null ? f.body.length : (f.blobSize ?? 0);
  await db.tx(async (t) => {
    const now = Date.now();
    if (f.blob !== null) {
      await lockBlobs(t, [f.blob]);
      const claimed = await t.get(
        sql`SELECT 1 AS one FROM blob_claims WHERE blob = ${f.blob} AND claimed_at > ${claimClock()} - ${BLOB_CLAIM_TTL_MS}`,
      );
      if (claimed) throw new DbError("unavailable", claimedMessage(f.blob));
    }
    const state = await t.get<{ quota_bytes: number | null; used_bytes: number; old: number | null }>(
      sql`SELECT c.quota_bytes, c.used_bytes,
            (SELECT size FROM side_files WHERE cache = ${cache} AND kind = ${kind} AND name = ${name}) AS old
          FROM caches c WHERE c.name = ${cache}${rowLock("FOR NO KEY UPDATE")}`,
    );
    if (state && state.quota_bytes !== null) {
      const used = Number(state.used_bytes);
      const adding = size - Number(state.old ?? 0);
      const quota = Number(state.quota_bytes);
      if (!withinQuota(used, adding, quota))
        throw new DbError(
          "tooLarge",
          quotaMessage(cache, used, adding, quota, kind === "log" ? "build log" : "listing"),
        );
    }
    await t.run(
      sql`INSERT INTO side_files (cache, kind, name, body, blob, content_type, content_encoding, created_at, size)
          VALUES (${cache}, ${kind}, ${name}, ${f.body}, ${f.blob}, ${f.contentType}, ${f.contentEncoding}, ${now}, ${size})
          ON CONFLICT (cache, kind, name) DO UPDATE SET body = excluded.body, blob = excluded.blob,
            content_type = excluded.content_type, content_encoding = excluded.content_encoding,
            created_at = excluded.created_at, size = excluded.size`,
    );
  });
}

export async function getSideFile(
  db: Db,
  cache: string,
  kind: SideFileKind,
  name: string,
): Promise<SideFile | undefined> {
  const r = await db.get<RawFile>(
    sql`SELECT body, blob, content_type, content_encoding FROM side_files
        WHERE cache = ${cache} AND kind = ${kind} AND name = ${name}`,
  );
  return r && fileFromRow(r);
}

/**
 * Deletes up to `limit` build logs of the cache stored before `before` whose derivation no narinfo
 * of the cache names (`Deriver:`); returns their blobs. Under the cache's narinfo lock: a commit
 * naming one's derivation lands before (the log stays) or after (it is gone).
 */
export async function dropPathlessLogs(
  db: Db,
  cache: string,
  before: number,
  limit: number,
): Promise<Array<{ blob: string; size: number }>> {
  return db.tx(async (t) => {
    await lockNarInfos(t, cache);
    const rows = await t.all<{ blob: string | null; size: number }>(
      sql`DELETE FROM side_files WHERE cache = ${cache} AND kind = 'log' AND name IN (
            SELECT f.name FROM side_files f WHERE f.cache = ${cache} AND f.kind = 'log' AND f.created_at < ${before}
              AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = ${cache} AND n.deriver = f.name)
            LIMIT ${limit})
          RETURNING blob, size`,
    );
    return rows.flatMap((r) => (r.blob ? [{ blob: r.blob, size: Number(r.size) }] : []));
  });
}
