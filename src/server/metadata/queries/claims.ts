// Leases and blob claims: the parts every engine writes the same way (taking them is the engines').
import type { Db } from "../db/database.js";
import { byEngine, sql, values } from "../db/sql.js";
import { BLOB_CLAIM_TTL_MS } from "../limits.js";

/**
 * Now (ms) by the clock blob claims are dated with: PostgreSQL's (replicas' clocks may disagree by
 * more than a claim lives), this process's on SQLite (one machine).
 */
export function claimClock() {
  return byEngine({
    sqlite: sql`${Date.now()}`,
    postgres: sql`CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)`,
  });
}

export async function releaseLease(db: Db, name: string, holder: string): Promise<void> {
  await db.run(sql`DELETE FROM leases WHERE name = ${name} AND holder = ${holder}`);
}

export async function leaseHolder(db: Db, name: string): Promise<string | undefined> {
  return (await db.get<{ holder: string }>(sql`SELECT holder FROM leases WHERE name = ${name}`))?.holder;
}

/**
 * A lapsed claim is not renewed: while it was stale, an upload may have named its blob.
 */
export async function renewBlobClaims(db: Db, blobs: readonly string[], holder: string): Promise<string[]> {
  if (blobs.length === 0) return [];
  // Quiet: nothing served changes, so no narinfo cache (here or in a replica) need be dropped.
  const rows = await db.tx(
    (t) =>
      t.all<{ blob: string }>(
        sql`UPDATE blob_claims SET claimed_at = ${claimClock()}
            WHERE blob IN ${values(blobs)} AND holder = ${holder}
              AND claimed_at > ${claimClock()} - ${BLOB_CLAIM_TTL_MS} RETURNING blob`,
      ),
    { quiet: true },
  );
  return rows.map((r) => r.blob);
}

export async function releaseBlobClaims(db: Db, blobs: readonly string[], holder: string): Promise<void> {
  if (blobs.length > 0)
    await db.run(sql`DELETE FROM blob_claims WHERE blob IN ${values(blobs)} AND holder = ${holder}`);
}

export async function blobClaims(
  db: Db,
  limit: number,
): Promise<Array<{ blob: string; holder: string; stale: boolean }>> {
  const rows = await db.all<{ blob: string; holder: string; stale: boolean | number }>(
    sql`SELECT blob, holder, claimed_at <= ${claimClock()} - ${BLOB_CLAIM_TTL_MS} AS stale
        FROM blob_claims ORDER BY claimed_at, blob LIMIT ${limit}`,
  );
  return rows.map((r) => ({ blob: r.blob, holder: r.holder, stale: r.stale === true || r.stale === 1 }));
}
