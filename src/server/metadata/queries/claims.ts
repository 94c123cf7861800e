// Leases and blob claims: the parts every engine writes the same way (taking them is the engines').
import type { Db } from "../db/database.js";
import { BYTE_ORDER, sql, values } from "../db/sql.js";

export async function releaseLease(db: Db, name: string, holder: string): Promise<void> {
  await db.run(sql`DELETE FROM leases WHERE name = ${name} AND holder = ${holder}`);
}

export async function releaseBlobClaims(db: Db, blobs: readonly string[]): Promise<void> {
  if (blobs.length > 0) await db.run(sql`DELETE FROM blob_claims WHERE blob IN ${values(blobs)}`);
}

export async function blobClaimsBefore(db: Db, time: number): Promise<string[]> {
  const rows = await db.all<{ blob: string }>(
    sql`SELECT blob FROM blob_claims WHERE claimed_at < ${time} ORDER BY blob${BYTE_ORDER}`,
  );
  return rows.map((r) => r.blob);
}
