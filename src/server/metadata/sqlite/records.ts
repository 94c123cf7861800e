// Export and import of records (../records.ts) for the SQLite store: pages in key order, and
// insert-or-keep writes in one transaction per batch (a resumed copy may send a page again).
import type Database from "better-sqlite3";
import { exportPage, parseCursor, referencesOf, TABLES, withDefaults } from "../record-tables.js";
import type { NarInfoRecord, RecordKind, RecordPage, RecordTypes } from "../records.js";

function toSql(v: unknown): unknown {
  if (typeof v === "boolean") return v ? 1 : 0;
  return v ?? null;
}

export function exportRecords<K extends RecordKind>(
  db: Database.Database,
  kind: K,
  after: string | null,
  limit: number,
): RecordPage<K> {
  const spec = TABLES[kind];
  const t = "t";
  const cols = spec.columns.map((c) => `${t}.${c.column}`);
  const extra =
    kind === "narinfos"
      ? ", (SELECT group_concat(w.ref) FROM narinfo_waits w WHERE w.cache = t.cache AND w.hash = t.hash) AS waits" +
        ", (SELECT group_concat(r.ref) FROM narinfo_refs r WHERE r.cache = t.cache AND r.hash = t.hash) AS refs"
      : "";
  const key = spec.key.map((k) => `${t}.${k}`);
  const from = parseCursor(spec, after);
  const where = from ? ` WHERE (${key.join(", ")}) > (${key.map(() => "?").join(", ")})` : "";
  const rows = db
    .prepare(
      `SELECT ${cols.join(", ")}${extra} FROM ${spec.table} ${t}${where} ORDER BY ${key.join(", ")} LIMIT ?`,
    )
    .all(...(from ?? []), limit) as Array<Record<string, unknown>>;
  return exportPage(kind, rows, limit);
}

/** Inserts the records that are not there yet; returns how many were. */
export function importRecords<K extends RecordKind>(
  db: Database.Database,
  kind: K,
  records: ReadonlyArray<RecordTypes[K]>,
): number {
  const spec = TABLES[kind];
  const insert = db.prepare(
    `INSERT OR IGNORE INTO ${spec.table} (${spec.columns.map((c) => c.column).join(", ")}) VALUES (${spec.columns.map(() => "?").join(", ")})`,
  );
  const wait = db.prepare("INSERT OR IGNORE INTO narinfo_waits (cache, ref, hash) VALUES (?, ?, ?)");
  const ref = db.prepare("INSERT OR IGNORE INTO narinfo_refs (cache, hash, ref) VALUES (?, ?, ?)");
  let n = 0;
  db.transaction(() => {
    for (const rec of records) {
      const r = withDefaults(kind, rec) as unknown as Record<string, unknown>;
      const added = insert.run(...spec.columns.map((c) => toSql(r[c.field]))).changes > 0;
      if (!added) continue;
      n++;
      if (kind === "narinfos") {
        const ni = rec as unknown as NarInfoRecord;
        for (const w of ni.waitsFor) wait.run(ni.cache, w, ni.hash);
        for (const x of referencesOf(ni)) ref.run(ni.cache, ni.hash, x);
      }
    }
  })();
  return n;
}
