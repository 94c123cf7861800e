// The embedded default: `nixcache ci` with no --cache pushes to nixcache's own server, started
// on a loopback port over the per-user data directory (or the one already running there), so a
// new user needs no account anywhere. The server outlives the command: Nix substitutes from it.
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { adminCreateCache, adminCreateToken, adminListCaches, adminListTokens } from "../server/admin.js";
import { hashToken, tokenId, tokenState } from "../server/auth/tokens.js";
import { defaultDataDir } from "../server/data-dir.js";
import { NixcacheError } from "../util/errors.js";

export const EMBEDDED_CACHE = "main";
export const EMBEDDED_PORT = 7080;

export interface EmbeddedServer {
  dataDir: string;
  /** The server's base URL, `http://127.0.0.1:PORT`. */
  origin: string;
  /** The cache's URL: the substituter users add. */
  cacheUrl: string;
  cacheName: string;
  publicKey: string;
  /** A write token for the cache (kept in the data directory, mode 0600). */
  token: string;
  pid: number;
  /** Whether this call started the server (else it was already running). */
  started: boolean;
  logFile: string;
}

interface ServerState {
  pid: number;
  origin: string;
}

const STATE_FILE = "embedded-server.json";
const TOKEN_FILE = "ci-write.token";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function healthy(origin: string): Promise<boolean> {
  try {
    const res = await request(`${origin}/healthz`, { headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

function readState(dataDir: string): ServerState | undefined {
  try {
    const s = JSON.parse(readFileSync(path.join(dataDir, STATE_FILE), "utf8")) as Partial<ServerState>;
    if (typeof s.pid === "number" && typeof s.origin === "string") return { pid: s.pid, origin: s.origin };
  } catch {
    // No state, or a torn one: start afresh.
  }
  return undefined;
}

/** A free loopback port: `preferred` when it is free, else one the kernel picks. */
function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : port));
      });
    });
  return tryPort(preferred).catch(() => tryPort(0));
}

/** The cache `name`, created (public, with its own signing key) when missing. */
async function ensureCache(dataDir: string, name: string): Promise<string> {
  const existing = (await adminListCaches(dataDir)).find((c) => c.name === name);
  if (existing) return existing.publicKey;
  return (await adminCreateCache(dataDir, { name, isPublic: true, priority: 30 })).publicKey;
}

/** The stored write token when it is still valid, else a new one (stored mode 0600). */
async function ensureToken(dataDir: string, cache: string): Promise<string> {
  const file = path.join(dataDir, TOKEN_FILE);
  let token: string | undefined;
  try {
    token = readFileSync(file, "utf8").trim();
  } catch {
    token = undefined;
  }
  if (token) {
    const id = tokenId(hashToken(token));
    const row = (await adminListTokens(dataDir)).find((t) => t.id === id);
    const usable = row && tokenState(row) === "active" && row.cache === cache && row.perm !== "read";
    if (usable) return token;
  }
  const created = await adminCreateToken(dataDir, {
    cache,
    perm: "write",
    expiresAt: null,
    description: "nixcache ci (embedded default)",
  });
  writeFileSync(file, `${created.token}\n`, { mode: 0o600 });
  return created.token;
}

export interface EmbeddedOptions {
  dataDir?: string;
  cache?: string;
  port?: number;
  /** How long to wait for a started server to answer (default 15 s). */
  startTimeoutMs?: number;
}

/** Returns the running embedded server, starting it (detached) when none answers. */
export async function ensureEmbeddedServer(opts: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const dataDir = path.resolve(opts.dataDir ?? defaultDataDir());
  const cacheName = opts.cache ?? EMBEDDED_CACHE;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const publicKey = await ensureCache(dataDir, cacheName);
  const token = await ensureToken(dataDir, cacheName);
  const logFile = path.join(dataDir, "embedded-server.log");
  const state = readState(dataDir);
  if (state && alive(state.pid) && (await healthy(state.origin))) {
    return {
      dataDir,
      origin: state.origin,
      cacheUrl: `${state.origin}/${cacheName}`,
      cacheName,
      publicKey,
      token,
      pid: state.pid,
      started: false,
      logFile,
    };
  }
  const port = await freePort(opts.port ?? EMBEDDED_PORT);
  const origin = `http://127.0.0.1:${port}`;
  const bin = fileURLToPath(new URL("../../bin/nixcache", import.meta.url));
  const log = openSync(logFile, "a", 0o600);
  const child = spawn(process.execPath, [bin, "serve", "--data", dataDir, "--listen", `127.0.0.1:${port}`], {
    detached: true,
    stdio: ["ignore", log, log],
    env: embeddedServerEnv(process.env),
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new NixcacheError("unavailable", "could not start nixcache serve");
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  while (!(await healthy(origin))) {
    if (!alive(pid) || Date.now() > deadline) {
      throw new NixcacheError(
        "unavailable",
        `nixcache serve did not start on ${origin} (its log: ${logFile})`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  writeFileSync(path.join(dataDir, STATE_FILE), `${JSON.stringify({ pid, origin })}\n`, { mode: 0o600 });
  return {
    dataDir,
    origin,
    cacheUrl: `${origin}/${cacheName}`,
    cacheName,
    publicKey,
    token,
    pid,
    started: true,
    logFile,
  };
}

/**
 * The environment of the embedded server: this one without what would configure another server
 * (serve's NIXCACHE_* settings and NIXCACHE_CONFIG; systemd's notify socket, sockets, watchdog
 * and credentials), so that the embedded default is the same wherever `ci` runs.
 */
export function embeddedServerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith("NIXCACHE_") && k !== "NIXCACHE_DEBUG") continue;
    if (/^(NOTIFY_SOCKET|LISTEN_(FDS|PID|FDNAMES)|WATCHDOG_(USEC|PID)|CREDENTIALS_DIRECTORY)$/.test(k))
      continue;
    out[k] = v;
  }
  return out;
}
