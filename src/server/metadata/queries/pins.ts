// Pins: named store paths (revisions, newest first) whose closures the GC keeps.
import { DbError } from "../../errors.js";
import type { Db, Queryable } from "../db/database.js";
import { BYTE_ORDER, sql } from "../db/sql.js";
import { lockNarInfos } from "../locks.js";
import { keepColumns, pinsFromRows, type RawPinRow } from "../pins.js";
import type { NewPin, PinRow } from "../types.js";

const DAY_MS = sql`CAST(86400000 AS BIGINT)`;

/**
 * Pin revisions older than their pin's `keep_days` (the newest of each pin always stays). Newest
 * is by created_at, then id (a data copy renumbers ids).
 */
export function expiredPinEntries(cache: string, now: number) {
  return sql`SELECT e.id FROM pin_entries e JOIN pins p ON p.cache = e.cache AND p.name = e.pin
    WHERE e.cache = ${cache} AND p.keep_days IS NOT NULL AND e.created_at < ${now} - p.keep_days * ${DAY_MS}
      AND e.id <> (SELECT x.id FROM pin_entries x WHERE x.cache = e.cache AND x.pin = e.pin
                   ORDER BY x.created_at DESC, x.id DESC LIMIT 1)`;
}

async function pinsOf(q: Queryable, cache: string, name: string | null): Promise<PinRow[]> {
  const rows = await q.all<RawPinRow>(
    sql`SELECT p.name, p.keep_revisions, p.keep_days, p.created_at, e.hash, e.store_path, e.artifacts,
          e.created_at AS added_at
        FROM pins p LEFT JOIN pin_entries e ON e.cache = p.cache AND e.pin = p.name
        WHERE p.cache = ${cache} AND (CAST(${name} AS TEXT) IS NULL OR p.name = ${name})
        ORDER BY p.name${BYTE_ORDER}, e.created_at DESC, e.id DESC`,
  );
  return pinsFromRows(cache, rows);
}

/** Under the cache's narinfo lock: a GC batch deciding on this path waits, then sees the pin. */
export async function addPin(db: Db, p: NewPin): Promise<PinRow> {
  return db.tx(async (t) => {
    const now = Date.now();
    await lockNarInfos(t, p.cache);
    const stored = (
      await t.get<{ store_path: string }>(
        sql`SELECT store_path FROM narinfos WHERE cache = ${p.cache} AND hash = ${p.hash} AND visible`,
      )
    )?.store_path;
    if (stored === undefined)
      throw new DbError(
        "notFound",
        `cache ${JSON.stringify(p.cache)} has no store path ${p.storePath}: push it (with its closure) first`,
      );
    if (stored !== p.storePath)
      throw new DbError(
        "notFound",
        `cache ${JSON.stringify(p.cache)} has ${stored} for hash ${p.hash}, not ${p.storePath}`,
      );
    await t.run(
      sql`INSERT INTO pins (cache, name, created_at) VALUES (${p.cache}, ${p.name}, ${now}) ON CONFLICT DO NOTHING`,
    );
    if (p.keep !== undefined) {
      const [revisions, days] = keepColumns(p.keep);
      await t.run(
        sql`UPDATE pins SET keep_revisions = ${revisions}, keep_days = ${days} WHERE cache = ${p.cache} AND name = ${p.name}`,
      );
    }
    await t.run(
      sql`DELETE FROM pin_entries WHERE cache = ${p.cache} AND pin = ${p.name} AND hash = ${p.hash}`,
    );
    await t.run(
      sql`INSERT INTO pin_entries (cache, pin, hash, store_path, artifacts, created_at)
          VALUES (${p.cache}, ${p.name}, ${p.hash}, ${p.storePath}, ${JSON.stringify(p.artifacts ?? [])}, ${now})`,
    );
    const pin = (await pinsOf(t, p.cache, p.name))[0] as PinRow;
    if (typeof pin.keep === "object" && "revisions" in pin.keep)
      await t.run(
        sql`DELETE FROM pin_entries WHERE cache = ${p.cache} AND pin = ${p.name} AND id NOT IN
              (SELECT id FROM pin_entries WHERE cache = ${p.cache} AND pin = ${p.name}
               ORDER BY created_at DESC, id DESC LIMIT ${pin.keep.revisions})`,
      );
    else if (typeof pin.keep === "object")
      await t.run(
        sql`DELETE FROM pin_entries WHERE id IN (${expiredPinEntries(p.cache, now)} AND e.pin = ${p.name})`,
      );
    else return pin;
    return (await pinsOf(t, p.cache, p.name))[0] as PinRow;
  });
}

export function listPins(db: Db, cache: string): Promise<PinRow[]> {
  return pinsOf(db, cache, null);
}

export async function removePin(db: Db, cache: string, name: string): Promise<boolean> {
  return (await db.run(sql`DELETE FROM pins WHERE cache = ${cache} AND name = ${name}`)) > 0;
}

/** Down from each pin's revisions: pins are few, a common path's dependents many. */
export async function pinsKeeping(db: Db, cache: string, hash: string): Promise<string[]> {
  const rows = await db.all<{ pin: string }>(
    sql`WITH RECURSIVE down(pin, h) AS (
          SELECT pin, hash FROM pin_entries WHERE cache = ${cache}
          UNION SELECT down.pin, r.ref FROM down JOIN narinfo_refs r ON r.cache = ${cache} AND r.hash = down.h)
        SELECT pin FROM down WHERE h = ${hash} GROUP BY pin ORDER BY pin${BYTE_ORDER}`,
  );
  return rows.map((r) => r.pin);
}
