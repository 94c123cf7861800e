// The SQLite adapter of the database seam: one better-sqlite3 connection, statements prepared once
// and kept by their text. better-sqlite3 is synchronous, but the store's transactions are async
// functions: between two of their statements other requests of this process run. So the
// connection has a turn: a transaction holds it from BEGIN IMMEDIATE to COMMIT, and any statement
// arriving meanwhile waits for its end (it would otherwise join the open transaction). An idle
// connection runs a statement at once, with no wait.
import type Database from "better-sqlite3";
import type { Db, Tx } from "./database.js";
import type { Sql } from "./sql.js";

/** Prepared statements kept; beyond it the cache starts over (queries with lists vary in text). */
const STATEMENTS_KEPT = 2000;

/** One holder at a time, in arrival order. */
class Turn {
  held = false;
  private readonly waiting: Array<() => void> = [];

  async take(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}

function bind(params: unknown[]): unknown[] {
  return params.map((p) => (p === true ? 1 : p === false ? 0 : p === undefined ? null : p));
}

export class SqliteDb implements Db {
  readonly engine = "sqlite" as const;
  readonly changes: { local(): number; external(): number };
  private readonly statements = new Map<string, Database.Statement>();
  private readonly turn = new Turn();
  /** Rows changed by quiet writes: `changes.local` leaves them out. */
  private quietChanges = 0;
  private readonly totalChanges: () => number;

  constructor(readonly sqlite: Database.Database) {
    const total = sqlite.prepare("SELECT total_changes()").pluck();
    this.totalChanges = () => total.get() as number;
    const dataVersion = sqlite.prepare("PRAGMA data_version").pluck();
    this.changes = {
      local: () => this.totalChanges() - this.quietChanges,
      external: () => dataVersion.get() as number,
    };
  }

  private statement(q: Sql): { stmt: Database.Statement; params: unknown[] } {
    const { text, params } = q.render("sqlite");
    let stmt = this.statements.get(text);
    if (!stmt) {
      if (this.statements.size >= STATEMENTS_KEPT) this.statements.clear();
      stmt = this.sqlite.prepare(text);
      this.statements.set(text, stmt);
    }
    return { stmt, params: bind(params) };
  }

  private direct: Tx = {
    engine: "sqlite",
    all: async <R>(q: Sql) => {
      const { stmt, params } = this.statement(q);
      return stmt.all(...params) as R[];
    },
    get: async <R>(q: Sql) => {
      const { stmt, params } = this.statement(q);
      return stmt.get(...params) as R | undefined;
    },
    run: async (q: Sql) => {
      const { stmt, params } = this.statement(q);
      return stmt.run(...params).changes;
    },
    lock: async () => {},
  };

  /**
   * Runs `f` (synchronous work on the raw connection, e.g. a better-sqlite3 transaction) in this
   * connection's turn; with `quiet`, the rows it changes do not move `changes.local`.
   */
  async exclusive<T>(f: () => T, opts: { quiet?: boolean } = {}): Promise<T> {
    const counted = (): T => {
      if (!opts.quiet) return f();
      const before = this.totalChanges();
      try {
        return f();
      } finally {
        this.quietChanges += this.totalChanges() - before;
      }
    };
    if (!this.turn.held) return counted();
    await this.turn.take();
    try {
      return counted();
    } finally {
      this.turn.give();
    }
  }

  all<R>(q: Sql): Promise<R[]> {
    return this.exclusive(() => {
      const { stmt, params } = this.statement(q);
      return stmt.all(...params) as R[];
    });
  }

  get<R>(q: Sql): Promise<R | undefined> {
    return this.exclusive(() => {
      const { stmt, params } = this.statement(q);
      return stmt.get(...params) as R | undefined;
    });
  }

  run(q: Sql): Promise<number> {
    return this.exclusive(() => {
      const { stmt, params } = this.statement(q);
      return stmt.run(...params).changes;
    });
  }

  /**
   * `work` (synchronous statements on the raw connection) in one immediate transaction, in this
   * connection's turn, run in slices: each time it yields, the event loop runs before it goes on.
   * The turn stays held meanwhile, so no statement of this connection joins the transaction or
   * reads its unfinished state (they wait, as other processes wait for the write lock). Work that
   * never yields commits within the task that began it, like `exclusive`. (Another connection of
   * the same process that wants to write while a long one is between slices blocks the event
   * loop in SQLite's busy wait, up to the busy timeout: a server has one connection.)
   */
  async sliced<T>(work: () => Generator<void, T, undefined>): Promise<T> {
    await this.turn.take();
    try {
      this.sqlite.exec("BEGIN IMMEDIATE");
      try {
        const steps = work();
        for (let step = steps.next(); ; step = steps.next()) {
          if (step.done) {
            this.sqlite.exec("COMMIT");
            return step.value;
          }
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } catch (e) {
        if (this.sqlite.inTransaction) this.sqlite.exec("ROLLBACK");
        throw e;
      }
    } finally {
      this.turn.give();
    }
  }

  /**
   * BEGIN IMMEDIATE takes the database's write lock first: no other process writes between this
   * transaction's reads and its writes (a plain BEGIN would fail with SQLITE_BUSY at its first
   * write under `serve --workers`, instead of waiting out the busy timeout).
   */
  async tx<T>(f: (t: Tx) => Promise<T>, opts: { quiet?: boolean } = {}): Promise<T> {
    await this.turn.take();
    try {
      const before = opts.quiet ? this.totalChanges() : 0;
      this.sqlite.exec("BEGIN IMMEDIATE");
      let result: T;
      try {
        result = await f(this.direct);
        this.sqlite.exec("COMMIT");
      } catch (e) {
        if (this.sqlite.inTransaction) this.sqlite.exec("ROLLBACK");
        throw e;
      }
      if (opts.quiet) this.quietChanges += this.totalChanges() - before;
      return result;
    } finally {
      this.turn.give();
    }
  }

  async close(): Promise<void> {
    await this.turn.take();
    try {
      if (this.sqlite.open) this.sqlite.close();
    } finally {
      this.turn.give();
    }
  }
}
