// The settings that say where a server's state is, shared by `serve` (settings.ts) and every
// admin command (cli/state-flags.ts), and the shape of a setting. Kept free of the server's
// modules so that the admin commands' flags cost nothing to define.

/**
 * What a setting holds, which decides its TOML type and how its environment variable is read:
 * - `string`: a TOML string (a URL, an address, a path, a duration such as "10m").
 * - `size`: a TOML string such as "8G", or an integer number of bytes.
 * - `count`: a TOML integer ≥ 0.
 * - `workers`: a TOML integer, or the string "auto".
 * - `bool`: a TOML boolean; in the environment 1/true/yes/on or 0/false/no/off.
 * - `list`: a TOML array of strings; in the environment separated by spaces or commas.
 */
export type SettingKind = "string" | "size" | "count" | "workers" | "bool" | "list";

/** A secret that a setting names the file of (the setting's value, a path, is not secret). */
export interface SecretSource {
  /** What it is, for messages: "the metrics token". */
  what: string;
  /**
   * The systemd credential read when the setting is not given: `$CREDENTIALS_DIRECTORY/<name>`
   * (`LoadCredential=<name>:/path` in the unit). It is also the name refused as a flag
   * (`--metrics-token`) and as a config key: a secret's value never goes on argv or in the file.
   */
  credential: string;
  /** An environment variable holding the value itself (kept for compatibility). */
  valueEnv?: string;
  /** Where else it may come from, for the refusal's advice ("PGPASSWORD or ~/.pgpass"). */
  alternatives?: string;
}

export interface Setting {
  /** The long flag without `--`, the config key; the environment variable is envName(name). */
  name: string;
  kind: SettingKind;
  /** Commander's argument, e.g. `<host:port>` (none for booleans). */
  arg?: string;
  /** The default as the config file would write it; undefined: not set unless given. */
  default?: string | boolean;
  help: string;
  /** The value is a path whose file's first line is a secret. */
  secret?: SecretSource;
  /** A `--no-<name>` flag sets the list to [] (its help). */
  negate?: string;
}

/** `--data`, `--db`, `--storage`: where the metadata and the blobs are. */
export const STATE_SETTINGS: readonly Setting[] = [
  {
    name: "data",
    kind: "string",
    arg: "<dir>",
    help: "data directory: SQLite + files (default: $NIXCACHE_DATA, else $XDG_DATA_HOME/nixcache, unless --db/--storage are given)",
  },
  {
    name: "db",
    kind: "string",
    arg: "<url>",
    help: "metadata database: sqlite:///path/nixcache.db or postgres://user@host:port/dbname (PG* variables and ~/.pgpass honoured)",
  },
  {
    name: "storage",
    kind: "string",
    arg: "<url>",
    help: "blob storage: file:///path or 's3://BUCKET[/PREFIX]?endpoint=URL&region=R&path-style=1' (credentials: serve's s3-*-file settings, else the AWS chain)",
  },
];
