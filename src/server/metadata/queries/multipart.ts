// Multipart uploads: their records and their parts' (the bytes are in storage).
import { randomBytes } from "node:crypto";
import { DbError } from "../../errors.js";
import type { Db } from "../db/database.js";
import { sql } from "../db/sql.js";
import { multipartFromRow, type RawMultipart } from "../rows.js";
import type { MultipartState, MultipartUpload, NewMultipart, PartRow } from "../types.js";

export async function createMultipart(db: Db, u: NewMultipart): Promise<MultipartUpload> {
  const narId = u.narId ?? globalThis.crypto.randomUUID();
  const uploadId = u.uploadId ?? randomBytes(24).toString("base64url");
  const row = await db.tx((t) =>
    t.get<RawMultipart>(
      sql`INSERT INTO multipart (nar_id, upload_id, cache, compression, state, created_at, token_id)
          VALUES (${narId}, ${uploadId}, ${u.cache}, ${u.compression}, 'open', ${Date.now()}, ${u.tokenId ?? null})
          RETURNING *`,
    ),
  );
  if (!row) throw new DbError("internal", "multipart upload was not stored");
  return multipartFromRow(row);
}

export async function getMultipart(db: Db, narId: string): Promise<MultipartUpload | undefined> {
  const r = await db.get<RawMultipart>(sql`SELECT * FROM multipart WHERE nar_id = ${narId}`);
  return r && multipartFromRow(r);
}

export async function openMultipartsBefore(db: Db, time: number): Promise<string[]> {
  const rows = await db.all<{ nar_id: string }>(
    sql`SELECT nar_id FROM multipart WHERE state IN ('open', 'completing') AND created_at < ${time} ORDER BY created_at`,
  );
  return rows.map((r) => r.nar_id);
}

export async function openMultipartsOf(db: Db, tokenId: string): Promise<number> {
  const r = await db.get<{ n: number }>(
    sql`SELECT COUNT(*) AS n FROM multipart WHERE token_id = ${tokenId} AND state IN ('open', 'completing')`,
  );
  return Number(r?.n ?? 0);
}

/** One UPDATE … WHERE state = from: the write lock (SQLite) or row lock makes exactly one caller win. */
export async function transitionMultipart(
  db: Db,
  narId: string,
  from: MultipartState,
  to: MultipartState,
): Promise<boolean> {
  return (
    (await db.run(sql`UPDATE multipart SET state = ${to} WHERE nar_id = ${narId} AND state = ${from}`)) === 1
  );
}

export async function putPart(db: Db, narId: string, p: PartRow): Promise<void> {
  await db.run(
    sql`INSERT INTO parts (nar_id, part, etag, size) VALUES (${narId}, ${p.part}, ${p.etag}, ${p.size})
        ON CONFLICT (nar_id, part) DO UPDATE SET etag = excluded.etag, size = excluded.size`,
  );
}

export async function parts(db: Db, narId: string): Promise<PartRow[]> {
  return db.all<PartRow>(sql`SELECT part, etag, size FROM parts WHERE nar_id = ${narId} ORDER BY part`);
}

export async function deleteParts(db: Db, narId: string): Promise<void> {
  await db.run(sql`DELETE FROM parts WHERE nar_id = ${narId}`);
}
