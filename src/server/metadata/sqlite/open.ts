// Opening the metadata store on SQLite: the connection, its migrations, its engine and its bulk
// record path; everything else is the one store (../sql-store.ts).
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { SqliteDb } from "../db/sqlite.js";
import { SqlMetadataStore, type SqlStoreOptions } from "../sql-store.js";
import { SqliteEngine } from "./engine.js";
import { migrate as migrateSqlite } from "./migrations.js";
import { exportRecords as exportSqliteRecords, importRecords as importSqliteRecords } from "./records.js";

/** The SQLite file inside a data directory. */
export const DB_FILE = "nixcache.db";

/** Creates the file with mode 0600 first, so the signing keys inside are never world-readable. */
function createPrivateFile(path: string): void {
  closeSync(openSync(path, "a", 0o600));
}

/**
 * Opens (creating and migrating when needed) a SQLite database file, in WAL mode: safe to share
 * between the workers of `serve --workers` and the admin commands (short write transactions, a
 * busy timeout).
 */
export function openSqliteStore(file: string, opts: SqlStoreOptions = {}): SqlMetadataStore {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  createPrivateFile(file);
  const sqlite = new Database(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  migrateSqlite(sqlite);
  const db = new SqliteDb(sqlite);
  return new SqlMetadataStore(
    db,
    new SqliteEngine(db),
    {
      exportRecords: (kind, after, limit) =>
        db.exclusive(() => exportSqliteRecords(sqlite, kind, after, limit)),
      importRecords: (kind, records) => db.exclusive(() => importSqliteRecords(sqlite, kind, records)),
    },
    opts,
  );
}
