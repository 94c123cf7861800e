// Multipart uploads: their records and their parts' (the bytes are in storage).
import { randomBytes } from "node:crypto";
import { DbError } from "../../errors.js";
import type { Db } from "../db/database.js";
import { sql } from "../db/sql.js";
import { multipartFromRow, type RawMultipart } from "../rows.js";
import type { MultipartState, MultipartUpload, NewMultipart, PartRow } from "../types.js";

/**
 * With `maxOpen` (and a token), the count and the insert are one statement: counting first and
 * inserting after let uploads opened at once, by several processes or replicas, all pass. On
 * PostgreSQL it runs under a lock on the token's name (under READ COMMITTED two such statements
 * could each miss the other's row); SQLite's single write statement holds the database already
 * (and a transaction of its own there would interleave with this process's others).
 */
export async function createMultipart(db: Db, u: NewMultipart): Promise<MultipartUpload> {
  const narId = u.narId ?? globalThis.crypto.randomUUID();
  const uploadId = u.uploadId ?? randomBytes(24).toString("base64url");
  const token = u.tokenId ?? null;
  const capped = token !== null && u.maxOpen !== undefined;
  const room = capped
    ? sql`(SELECT COUNT(*) FROM multipart WHERE token_id = ${token} AND state IN ('open', 'completing')) < ${u.maxOpen ?? 0}`
    : sql`TRUE`;
  const insert = sql`INSERT INTO multipart (nar_id, upload_id, cache, compression, state, created_at, token_id)
    SELECT CAST(${narId} AS TEXT), CAST(${uploadId} AS TEXT), CAST(${u.cache} AS TEXT),
      CAST(${u.compression} AS TEXT), 'open', CAST(${Date.now()} AS BIGINT), CAST(${token} AS TEXT)
    WHERE ${room}
    RETURNING *`;
  const row =
    db.engine === "postgres"
      ? await db.tx(async (t) => {
          if (capped) await t.lock([`nixcache multipart ${token}`]);
          return t.get<RawMultipart>(insert);
        })
      : await db.get<RawMultipart>(insert);
  if (!row) {
    if (capped)
      throw new DbError(
        "tooLarge",
        `this token has ${u.maxOpen} multipart uploads open, the server's limit: complete or abort some first`,
      );
    throw new DbError("internal", "multipart upload was not stored");
  }
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
