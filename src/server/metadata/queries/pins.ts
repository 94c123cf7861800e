// Pins: named store paths (revisions, newest first) whose closures the GC keeps.
import { DbError } from "../../errors.js";
import type { Db, Queryable } from "../db/database.js";
import { BYTE_ORDER, raw, sql } from "../db/sql.js";
import { lockNarInfos } from "../locks.js";
import { artifactsProblem, keepColumns, pinsFromRows, type RawPinRow } from "../pins.js";
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

/** Deletes the cache's expired pin revisions (the GC's first step on both engines). */
export function pruneExpiredPins(cache: string, now: number) {
  return sql`DELETE FROM pin_entries WHERE id IN (${expiredPinEntries(cache, now)})`;
}

/** A pin's revisions, newest first (the pin_entries_newest index). */
const NEWEST = raw("ORDER BY x.created_at DESC, x.id DESC");

/**
 * Pins by name, each with its newest `revisions` (artifacts left out without `artifacts`): the
 * revisions are read through the index per pin, and their count is the pin's counter, so a pin's
 * history costs nothing here.
 */
async function pinsOf(
  q: Queryable,
  cache: string,
  which: { name?: string; after?: string; limit: number; revisions: number; artifacts?: boolean },
): Promise<PinRow[]> {
  const name = which.name ?? null;
  const after = which.after ?? null;
  const artifacts = which.artifacts === false ? raw("'[]'") : raw("e.artifacts");
  const rows = await q.all<RawPinRow>(
    sql`SELECT p.name, p.keep_revisions, p.keep_days, p.created_at, p.revision_count, e.hash, e.store_path,
          ${artifacts} AS artifacts, e.created_at AS added_at
        FROM (SELECT * FROM pins WHERE cache = ${cache} AND (CAST(${name} AS TEXT) IS NULL OR name = ${name})
                AND (CAST(${after} AS TEXT) IS NULL OR name${BYTE_ORDER} > ${after})
              ORDER BY name${BYTE_ORDER} LIMIT ${which.limit}) p
        LEFT JOIN pin_entries e ON e.id IN
          (SELECT x.id FROM pin_entries x WHERE x.cache = p.cache AND x.pin = p.name ${NEWEST} LIMIT ${which.revisions})
        ORDER BY p.name${BYTE_ORDER}, e.created_at DESC, e.id DESC`,
  );
  return pinsFromRows(cache, rows);
}

/**
 * Under the cache's narinfo lock: a GC batch deciding on this path waits, then sees the pin. Reads
 * and writes only the revisions it adds or drops (the count is a counter kept by the database):
 * a pin with a thousand revisions takes one as fast as a new pin does.
 */
export async function addPin(db: Db, p: NewPin): Promise<PinRow> {
  const problem = artifactsProblem(p.artifacts ?? []);
  if (problem) throw new DbError("invalid", problem);
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
    const keep = await t.get<{ keep_revisions: number | null; keep_days: number | null }>(
      sql`SELECT keep_revisions, keep_days FROM pins WHERE cache = ${p.cache} AND name = ${p.name}`,
    );
    // Artifacts stay with the newest revision only: the one that was newest gives its up.
    await t.run(
      sql`UPDATE pin_entries SET artifacts = '[]' WHERE artifacts <> '[]' AND id =
            (SELECT x.id FROM pin_entries x WHERE x.cache = ${p.cache} AND x.pin = ${p.name} ${NEWEST} LIMIT 1)`,
    );
    await t.run(
      sql`DELETE FROM pin_entries WHERE cache = ${p.cache} AND pin = ${p.name} AND hash = ${p.hash}`,
    );
    await t.run(
      sql`INSERT INTO pin_entries (cache, pin, hash, store_path, artifacts, created_at)
          VALUES (${p.cache}, ${p.name}, ${p.hash}, ${p.storePath}, ${JSON.stringify(p.artifacts ?? [])}, ${now})`,
    );
    if (keep?.keep_revisions != null)
      await t.run(
        sql`DELETE FROM pin_entries WHERE cache = ${p.cache} AND pin = ${p.name} AND id NOT IN
              (SELECT x.id FROM pin_entries x WHERE x.cache = ${p.cache} AND x.pin = ${p.name} ${NEWEST}
               LIMIT ${keep.keep_revisions})`,
      );
    else if (keep?.keep_days != null)
      await t.run(
        sql`DELETE FROM pin_entries WHERE id IN (${expiredPinEntries(p.cache, now)} AND e.pin = ${p.name})`,
      );
    return (await pinsOf(t, p.cache, { name: p.name, limit: 1, revisions: 1 }))[0] as PinRow;
  });
}

/** A page of the cache's pins by name (after `after`), each with its newest `revisions`. */
export function listPins(
  db: Db,
  cache: string,
  q: { after?: string; limit: number; revisions: number; artifacts?: boolean },
): Promise<PinRow[]> {
  return pinsOf(db, cache, q);
}

/** One pin with a page of its revisions, newest first: those older than the one of hash `before`. */
export async function getPin(
  db: Db,
  cache: string,
  name: string,
  q: { before?: string; limit: number },
): Promise<PinRow | undefined> {
  const before = q.before ?? null;
  const rows = await db.all<RawPinRow>(
    sql`SELECT p.name, p.keep_revisions, p.keep_days, p.created_at, p.revision_count, e.hash, e.store_path,
          e.artifacts, e.created_at AS added_at
        FROM pins p LEFT JOIN pin_entries e ON e.id IN
          (SELECT x.id FROM pin_entries x WHERE x.cache = p.cache AND x.pin = p.name
             AND (CAST(${before} AS TEXT) IS NULL OR (x.created_at, x.id) <
               (SELECT c.created_at, c.id FROM pin_entries c WHERE c.cache = p.cache AND c.pin = p.name AND c.hash = ${before}))
           ${NEWEST} LIMIT ${q.limit})
        WHERE p.cache = ${cache} AND p.name = ${name}
        ORDER BY e.created_at DESC, e.id DESC`,
  );
  return pinsFromRows(cache, rows)[0];
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
