import { homedir } from "node:os";
import { join } from "node:path";

/** The server's data directory: `--data`, else `$NIXCACHE_DATA`, else the per-user XDG data dir. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NIXCACHE_DATA) return env.NIXCACHE_DATA;
  const base = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "nixcache");
}
