// The three flags that say where a server's state is, shared by serve and every admin command.
import type { Command } from "commander";
import { defaultDataDir } from "../server/data-dir.js";
import type { StoreLocation } from "../server/stores.js";

export interface StoreFlags {
  data?: string;
  db?: string;
  storage?: string;
}

export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option(
      "--data <dir>",
      "data directory: SQLite + files (default: $NIXCACHE_DATA, else $XDG_DATA_HOME/nixcache, unless --db/--storage are given)",
    )
    .option(
      "--db <url>",
      "metadata database: sqlite:///path/nixcache.db or postgres://user@host:port/dbname (PG* variables and ~/.pgpass honoured)",
    )
    .option(
      "--storage <url>",
      "blob storage: file:///path or 's3://BUCKET[/PREFIX]?endpoint=URL&region=R&path-style=1' (credentials from the AWS chain)",
    );
}

/** `--data` defaults only when neither URL is given: replicas must not keep half their state locally. */
export function storeLocation(o: StoreFlags): StoreLocation {
  const dataDir = o.data ?? (o.db === undefined && o.storage === undefined ? defaultDataDir() : undefined);
  return { dataDir, db: o.db, storage: o.storage };
}
