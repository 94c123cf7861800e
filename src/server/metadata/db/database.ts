// The database seam under the metadata store: statements written once (sql.ts) run on SQLite or
// PostgreSQL through one of two adapters (sqlite.ts, postgres.ts). Only what the store needs:
// rows, one row, a write's count, a write transaction, and locks on names within one.
import type { Engine, Sql } from "./sql.js";

export interface Queryable {
  readonly engine: Engine;
  all<R>(q: Sql): Promise<R[]>;
  get<R>(q: Sql): Promise<R | undefined>;
  /** Runs a write; the number of rows it changed. */
  run(q: Sql): Promise<number>;
}

/** Statements inside a write transaction. */
export interface Tx extends Queryable {
  /**
   * Locks held until the transaction ends, on names (PostgreSQL advisory locks, taken in one order
   * so two lockers never deadlock); nothing on SQLite, whose write transaction holds the database.
   */
  lock(names: readonly string[]): Promise<void>;
}

export interface Db extends Queryable {
  /**
   * `f` in one write transaction (SQLite: BEGIN IMMEDIATE, so its reads see no other writer;
   * PostgreSQL: READ COMMITTED, ending with a NOTIFY to the other replicas). `quiet` for writes
   * that change nothing served (access times, dashboard counters): neither `changes` counter moves
   * for them here, and other replicas are not told.
   */
  tx<T>(f: (t: Tx) => Promise<T>, opts?: { quiet?: boolean }): Promise<T>;
  /**
   * Change counters for caches kept in front of the store: `local` moves on every (non-quiet)
   * write through this object, `external` on writes by other processes.
   */
  readonly changes: { local(): number; external(): number };
  close(): Promise<void>;
}

/** Which constraint a failed write broke, if any: the store turns these into its own errors. */
export function violation(e: unknown): "unique" | "foreignKey" | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE")
    return "unique";
  if (code === "23503" || code === "SQLITE_CONSTRAINT_FOREIGNKEY") return "foreignKey";
  return undefined;
}
