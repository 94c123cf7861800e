// PostgreSQL for tests: a real server, never a stand-in. `NIXCACHE_TEST_PG` names one to use (a
// server URL whose user may CREATE DATABASE); otherwise scripts/postgres.sh starts a throwaway one
// once per test process, removed when the process exits. Each test takes a fresh database.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const SCRIPT = fileURLToPath(new URL("../../scripts/postgres.sh", import.meta.url));

export interface LocalPostgres {
  url: string;
  dir: string;
  port: number;
  /** Stops the server at once (`pg_ctl -m immediate`, as a crash would). */
  stop(): void;
  /** Starts it again on the same port and data. */
  start(): void;
}

/** A server of this process's own (removed at exit), for tests that stop and restart it. */
export function startPostgres(): LocalPostgres {
  const dir = mkdtempSync(join(tmpdir(), "nixcache-pg-"));
  const url = execFileSync("bash", [SCRIPT, "start", dir], { encoding: "utf8" }).trim();
  const port = Number(new URL(url).port);
  let running = true;
  process.on("exit", () => {
    if (running) execFileSync("bash", [SCRIPT, "stop", dir], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    url,
    dir,
    port,
    stop() {
      execFileSync("bash", [SCRIPT, "stop", dir], { stdio: "ignore" });
      running = false;
    },
    start() {
      execFileSync("bash", [SCRIPT, "start", dir, String(port)], { stdio: "ignore" });
      running = true;
    },
  };
}

let shared: string | undefined;

/** The server tests use: NIXCACHE_TEST_PG, or one started for this process. */
export function postgresUrl(): string {
  shared ??= process.env.NIXCACHE_TEST_PG || startPostgres().url;
  return shared;
}

/** A new, empty database on `server` (default: postgresUrl()); returns its URL. */
export async function freshDatabase(server = postgresUrl()): Promise<string> {
  const name = `nixcache_test_${process.pid}_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(server);
  u.pathname = `/${name}`;
  return u.toString();
}
