// Export and import of records (../records.ts) for the PostgreSQL store. Imports are one
// INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO NOTHING per batch: a page of thousands of
// rows is one round trip, which is what makes a copy (and a bulk load) of a million narinfos fast.
import type pg from "pg";
import {
  type ColumnType,
  exportPage,
  parseCursor,
  referencesOf,
  TABLES,
  withDefaults,
} from "../record-tables.js";
import type { NarInfoRecord, RecordKind, RecordPage, RecordTypes } from "../records.js";

const PG_TYPE: Record<ColumnType, string> = { text: "text", int: "bigint", bool: "boolean", bytes: "bytea" };

export async function exportRecords<K extends RecordKind>(
  q: (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>,
  kind: K,
  after: string | null,
  limit: number,
): Promise<RecordPage<K>> {
  const spec = TABLES[kind];
  const cols = spec.columns.map((c) => `t.${c.column}`);
  const extra =
    kind === "narinfos"
      ? ", ARRAY(SELECT w.ref FROM narinfo_waits w WHERE w.cache = t.cache AND w.hash = t.hash ORDER BY w.ref) AS waits" +
        ', ARRAY(SELECT r.ref FROM narinfo_refs r WHERE r.cache = t.cache AND r.hash = t.hash ORDER BY r.ref COLLATE "C") AS refs'
      : "";
  const key = spec.key.map((k) => `t.${k}`);
  const from = parseCursor(spec, after);
  const params: unknown[] = [...(from ?? []), limit];
  // COLLATE "C" on text: the same byte order as SQLite's, so a cursor means the same on both.
  const isText = (k: string) => (spec.columns.find((col) => col.column === k)?.type ?? "text") === "text";
  const keyC = spec.key.map((k) => (isText(k) ? `t.${k} COLLATE "C"` : `t.${k}`));
  const order = keyC.join(", ");
  const whereC = from ? ` WHERE (${keyC.join(", ")}) > (${key.map((_, i) => `$${i + 1}`).join(", ")})` : "";
  const rows = await q(
    `SELECT ${cols.join(", ")}${extra} FROM ${spec.table} t${whereC} ORDER BY ${order} LIMIT $${params.length}`,
    params,
  );
  return exportPage(kind, rows, limit);
}

/** Inserts the records not there yet, in the transaction `c`; returns how many were. */
export async function importRecords<K extends RecordKind>(
  c: pg.ClientBase,
  kind: K,
  given: ReadonlyArray<RecordTypes[K]>,
): Promise<number> {
  if (given.length === 0) return 0;
  const records = given.map((r) => withDefaults(kind, r));
  const spec = TABLES[kind];
  const columns = spec.columns;
  const arrays = columns.map((col) =>
    records.map((r) => {
      const v = (r as unknown as Record<string, unknown>)[col.field];
      return v === undefined ? null : v;
    }),
  );
  const res = await c.query(
    `INSERT INTO ${spec.table} (${columns.map((col) => col.column).join(", ")})
     SELECT * FROM unnest(${columns.map((col, i) => `$${i + 1}::${PG_TYPE[col.type]}[]`).join(", ")})
     ON CONFLICT DO NOTHING`,
    arrays,
  );
  if (kind === "narinfos") {
    const waits = (records as unknown as NarInfoRecord[]).flatMap((n) =>
      n.waitsFor.map((ref) => [n.cache, ref, n.hash] as const),
    );
    if (waits.length > 0)
      await c.query(
        `INSERT INTO narinfo_waits (cache, ref, hash) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
         ON CONFLICT DO NOTHING`,
        [waits.map((w) => w[0]), waits.map((w) => w[1]), waits.map((w) => w[2])],
      );
    const refs = (records as unknown as NarInfoRecord[]).flatMap((n) =>
      referencesOf(n).map((ref) => [n.cache, n.hash, ref] as const),
    );
    if (refs.length > 0)
      await c.query(
        `INSERT INTO narinfo_refs (cache, hash, ref) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
         ON CONFLICT DO NOTHING`,
        [refs.map((r) => r[0]), refs.map((r) => r[1]), refs.map((r) => r[2])],
      );
  }
  // Reports keep their ids (pages link to them): the identity goes on after the highest copied.
  if (kind === "reports")
    await c.query(
      "SELECT setval(pg_get_serial_sequence('ci_reports', 'id'), GREATEST((SELECT MAX(id) FROM ci_reports), 1))",
    );
  return res.rowCount ?? 0;
}
