// Opening the metadata store on PostgreSQL: the pool, its migrations, its engine and its bulk
// record path; everything else is the one store (../sql-store.ts).
import { PostgresDb, type PostgresOptions } from "../db/postgres.js";
import { SqlMetadataStore, type SqlStoreOptions } from "../sql-store.js";
import { PostgresEngine } from "./engine.js";
import { migrate } from "./migrations.js";
import { exportRecords, importRecords } from "./records.js";

export type { PostgresOptions };

/** The store on PostgreSQL, with its pool's figures for the metrics. */
export class PostgresMetadataStore extends SqlMetadataStore {
  constructor(
    private readonly pg: PostgresDb,
    opts: SqlStoreOptions,
  ) {
    super(
      pg,
      new PostgresEngine(pg),
      {
        exportRecords: (kind, after, limit) =>
          exportRecords((text, params) => pg.rawRows(text, params), kind, after, limit),
        importRecords: async (kind, records) =>
          records.length === 0 ? 0 : pg.tx((t) => importRecords(t.client, kind, records)),
      },
      opts,
    );
  }

  /** Connections of the pool, for the `nixcache_db_pool_*` metrics. */
  poolStats(): { total: number; idle: number; waiting: number } {
    return this.pg.poolStats();
  }
}

/**
 * Connects to `url` (`postgres://user@host:port/dbname`; PG* variables and ~/.pgpass fill in what
 * it leaves out), applies missing migrations and starts listening for other replicas' changes.
 */
export async function openPostgresStore(
  url: string,
  opts: PostgresOptions & SqlStoreOptions = {},
): Promise<PostgresMetadataStore> {
  const db = await PostgresDb.open(url, opts, migrate);
  return new PostgresMetadataStore(db, opts);
}
