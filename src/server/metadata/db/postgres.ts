// The PostgreSQL adapter of the database seam: a pool shared by the requests of this process, and a
// LISTEN connection counting other replicas' writes. Every write transaction ends with a NOTIFY
// naming this object (its own listener skips it), so the other replicas' narinfo caches drop what
// they hold. While the database is unreachable each call fails with DbError (unavailable), which
// routes answer with 503; the pool opens new connections on the next call.
import { randomBytes } from "node:crypto";
import pg from "pg";
import {
  CHANGES_CHANNEL,
  ChangeListener,
  ClosingClient,
  clientConfig,
  ErrorMapper,
  isConnectionError,
} from "../postgres/connection.js";
import type { Db, Tx } from "./database.js";
import type { Sql } from "./sql.js";

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long a new connection may take before the call fails as unavailable (default 10 s). */
  connectTimeoutMs?: number;
}

/** Advisory locks on names, in one order: two lockers of overlapping sets never deadlock. */
const LOCK_NAMES = `SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
  FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS k ORDER BY k) s`;

export class PostgresDb implements Db {
  readonly engine = "postgres" as const;
  readonly changes: { local(): number; external(): number };
  private writes = 0;
  /** Ends every write: the payload names this object, so its own listener does not count it. */
  private readonly notifyAndCommit: string;

  private constructor(
    private readonly pool: pg.Pool,
    readonly errors: ErrorMapper,
    private readonly listener: ChangeListener,
    self: string,
  ) {
    this.notifyAndCommit = `NOTIFY ${CHANGES_CHANNEL}, '${self}'; COMMIT`;
    this.changes = { local: () => this.writes, external: () => this.listener.value() };
  }

  /**
   * Connects to `url` (`postgres://user@host:port/dbname`; PG* variables and ~/.pgpass fill in
   * what it leaves out), runs `setup` on one connection (the migrations) and starts listening.
   */
  static async open(
    url: string,
    opts: PostgresOptions,
    setup: (c: pg.ClientBase, where: string) => Promise<unknown>,
  ): Promise<PostgresDb> {
    const errors = new ErrorMapper(url);
    const config = clientConfig(url, { connectTimeoutMs: opts.connectTimeoutMs });
    const pool = new pg.Pool({ ...config, max: opts.poolSize ?? 10, Client: ClosingClient });
    // An idle connection that dies (a server restart) is dropped from the pool, which opens a new
    // one on the next call; without a listener the event would end the process.
    pool.on("error", () => {});
    const self = randomBytes(8).toString("hex");
    const listener = new ChangeListener(config, self);
    try {
      const client = await pool.connect();
      try {
        await setup(client, errors.where);
      } finally {
        client.release();
      }
      await listener.start();
    } catch (e) {
      await listener.close();
      await pool.end().catch(() => {});
      throw errors.opening(e);
    }
    return new PostgresDb(pool, errors, listener, self);
  }

  /** Connections of the pool, for the `nixcache_db_pool_*` metrics. */
  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async all<R>(q: Sql): Promise<R[]> {
    const { text, params } = q.render("postgres");
    try {
      return (await this.pool.query(text, params)).rows as R[];
    } catch (e) {
      throw this.errors.map(e);
    }
  }

  /** Rows of a statement already in PostgreSQL's own text (`$n`): the record export builds its own. */
  async rawRows(text: string, params: unknown[]): Promise<Array<Record<string, unknown>>> {
    try {
      return (await this.pool.query(text, params)).rows;
    } catch (e) {
      throw this.errors.map(e);
    }
  }

  /**
   * A statement prepared once per connection under `name` (after a few runs PostgreSQL executes it
   * with a cached generic plan): for the statements every request runs, where planning a
   * primary-key lookup took twice as long as running it.
   */
  async prepared<R>(name: string, text: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query({ name, text, values: params })).rows as R[];
    } catch (e) {
      throw this.errors.map(e);
    }
  }

  async get<R>(q: Sql): Promise<R | undefined> {
    return (await this.all<R>(q))[0];
  }

  /** A write on its own is a transaction too: it must notify the other replicas. */
  run(q: Sql): Promise<number> {
    return this.tx((t) => t.run(q));
  }

  /** The connection of a transaction, for an engine's own statements (the GC's, in SQL of its own). */
  async tx<T>(
    f: (t: Tx & { client: pg.PoolClient }) => Promise<T>,
    opts: { quiet?: boolean } = {},
  ): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw this.errors.map(e);
    }
    const query = async (q: Sql) => {
      const { text, params } = q.render("postgres");
      return c.query(text, params);
    };
    const t = {
      engine: "postgres" as const,
      client: c,
      all: async <R>(q: Sql) => (await query(q)).rows as R[],
      get: async <R>(q: Sql) => (await query(q)).rows[0] as R | undefined,
      run: async (q: Sql) => (await query(q)).rowCount ?? 0,
      lock: async (names: readonly string[]) => {
        if (names.length > 0) await c.query(LOCK_NAMES, [names]);
      },
    };
    let broken: Error | undefined;
    try {
      await c.query("BEGIN");
      const result = await f(t);
      await c.query(opts.quiet ? "COMMIT" : this.notifyAndCommit);
      return result;
    } catch (e) {
      if (isConnectionError(e)) broken = e as Error;
      else await c.query("ROLLBACK").catch((r: Error) => (broken = r));
      throw this.errors.map(e);
    } finally {
      // A failed commit may still have committed: count it, caches in front re-read either way.
      if (!opts.quiet) this.writes++;
      c.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.listener.close();
    await this.pool.end();
  }
}
