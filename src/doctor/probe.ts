// Is a substituter alive? Each step Nix takes is timed on its own — resolve the name, open a TCP
// connection, GET nix-cache-info — so a dead cache is named by what failed (the name does not
// resolve, the port refuses, nothing answers before the deadline) and what it costs.
import { lookup } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import { isIP, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { readNetrcCredentials } from "../http/netrc.js";
import { type CacheInfo, parseCacheInfo } from "../nix/cache-info.js";
import { DEFAULT_STORE_DIR } from "../nix/store-path.js";
import { errorMessage } from "../util/errors.js";

export type SubstituterStatus = "ok" | "dead" | "invalid" | "slow";

/** Where a probe stopped: the step that failed, or `done`. */
export type ProbeStage = "resolve" | "connect" | "cache-info" | "done" | "skipped";

export interface ProbeResult {
  url: string;
  status: SubstituterStatus;
  /** What was found, in words (never credentials). */
  reason: string;
  /** Time the whole probe took, in milliseconds. */
  ms: number;
  stage: ProbeStage;
  /** Set when the probe got that far. */
  cacheInfo?: CacheInfo;
  /** The failure was the deadline, not an answer. */
  timedOut?: boolean;
}

export interface ProbeOptions {
  /** Deadline for each step (default 5 s). */
  timeoutMs?: number;
  /** A live cache slower than this is `slow` (default 2 s). */
  slowMs?: number;
  /** netrc file for private caches (Nix's `netrc-file`). */
  netrcFile?: string;
}

class Deadline extends Error {}

function withDeadline<T>(p: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Deadline());
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  const socket = new Socket();
  const done = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.connect({ host, port });
  return withDeadline(done, timeoutMs).finally(() => socket.destroy());
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Checks one substituter URL the way Nix first touches it. */
export async function probeSubstituter(url: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const slowMs = opts.slowMs ?? 2000;
  const start = performance.now();
  const elapsed = () => Math.round(performance.now() - start);
  const result = (
    status: SubstituterStatus,
    stage: ProbeStage,
    reason: string,
    extra: Partial<ProbeResult> = {},
  ): ProbeResult => ({ url, status, reason, ms: elapsed(), stage, ...extra });

  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return result("invalid", "skipped", "not a URL");
  }
  if (u.protocol === "file:") return probeFileCache(fileURLToPath(u), result);
  if (u.protocol !== "http:" && u.protocol !== "https:")
    return result("ok", "skipped", `${u.protocol}// substituters are not probed by nixcache`);

  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  let address = host;
  if (isIP(host) === 0) {
    try {
      address = (await withDeadline(lookup(host), timeoutMs)).address;
    } catch (e) {
      if (e instanceof Deadline)
        return result("dead", "resolve", `resolving ${host} did not finish within ${secs(timeoutMs)}`, {
          timedOut: true,
        });
      const code = (e as NodeJS.ErrnoException).code ?? errorMessage(e);
      return result("dead", "resolve", `the name ${host} does not resolve (${code})`);
    }
  }
  try {
    await tcpConnect(address, port, timeoutMs);
  } catch (e) {
    if (e instanceof Deadline)
      return result("dead", "connect", `no connection to ${host}:${port} within ${secs(timeoutMs)}`, {
        timedOut: true,
      });
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === "ECONNREFUSED" ? "refused" : `failed (${code ?? errorMessage(e)})`;
    return result("dead", "connect", `connection to ${host}:${port} ${what}`);
  }

  const infoUrl = `${url.replace(/\/+$/, "")}/nix-cache-info`;
  const headers: Record<string, string> = {};
  const cred = opts.netrcFile ? readNetrcCredentials(opts.netrcFile, u.hostname) : undefined;
  if (cred)
    headers.authorization = `Basic ${Buffer.from(`${cred.login}:${cred.password}`).toString("base64")}`;
  const abort = new AbortController();
  let status: number;
  let text: string;
  try {
    const res = await withDeadline(
      request(infoUrl, { headers, signal: abort.signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }),
      timeoutMs,
      () => abort.abort(),
    );
    status = res.statusCode;
    text = await withDeadline(res.body.text(), timeoutMs, () => abort.abort());
  } catch (e) {
    if (e instanceof Deadline || (e as { name?: string }).name === "AbortError")
      return result("dead", "cache-info", `GET ${infoUrl} got no answer within ${secs(timeoutMs)}`, {
        timedOut: true,
      });
    return result("dead", "cache-info", `GET ${infoUrl} failed: ${errorMessage(e)}`);
  }
  if (status !== 200) {
    const hint =
      status === 401 || status === 403
        ? " (a private cache: Nix needs a netrc entry for it, `netrc-file` in nix.conf)"
        : status === 404
          ? " (not a binary cache at this URL: check the path)"
          : "";
    return result("invalid", "cache-info", `GET ${infoUrl} answered HTTP ${status}${hint}`);
  }
  return checkCacheInfo(text, result, slowMs);
}

type Make = (
  status: SubstituterStatus,
  stage: ProbeStage,
  reason: string,
  extra?: Partial<ProbeResult>,
) => ProbeResult;

function checkCacheInfo(text: string, result: Make, slowMs: number): ProbeResult {
  let info: CacheInfo;
  try {
    info = parseCacheInfo(text);
  } catch (e) {
    return result("invalid", "cache-info", `its nix-cache-info is malformed: ${errorMessage(e)}`);
  }
  if (info.storeDir !== DEFAULT_STORE_DIR)
    return result(
      "invalid",
      "cache-info",
      `it serves StoreDir ${info.storeDir}, not ${DEFAULT_STORE_DIR}: Nix refuses it`,
      { cacheInfo: info },
    );
  const r = result("ok", "done", "serves a valid nix-cache-info for /nix/store", { cacheInfo: info });
  if (r.ms > slowMs) {
    r.status = "slow";
    r.reason = `answers, but took ${secs(r.ms)} (more than ${secs(slowMs)})`;
  }
  return r;
}

async function probeFileCache(dir: string, result: Make): Promise<ProbeResult> {
  let text: string;
  try {
    text = await readFile(`${dir}/nix-cache-info`, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? result("dead", "cache-info", `${dir}/nix-cache-info does not exist`)
      : result("dead", "cache-info", `cannot read ${dir}/nix-cache-info (${code ?? errorMessage(e)})`);
  }
  return checkCacheInfo(text, result, Number.POSITIVE_INFINITY);
}

/** What Nix's download settings make a dead substituter cost one Nix invocation. */
export interface DeadCost {
  /** Lower and upper estimate, milliseconds. */
  minMs: number;
  maxMs: number;
  attempts: number;
  /** The sentence a user reads. */
  text: string;
}

/**
 * Nix treats a failed connection as transient: it tries `download-attempts` times (default 5),
 * waiting 250 ms · 2^(n-1+u) between tries (u uniform in [0, 0.5]), before it gives up on the
 * substituter for the rest of that invocation; every new `nix` process pays again, since nothing
 * about a cache that never answered is kept in the disk cache. A try that hangs lasts until a
 * timeout: `connect-timeout` while connecting (0 means curl's own, 300 s), `stalled-download-timeout`
 * (300 s) once connected; the caller passes the one that applies as `hangS`.
 */
export function deadCost(probe: ProbeResult, attempts = 5, hangS = 300): DeadCost {
  const n = Math.max(1, attempts);
  let backoffMin = 0;
  for (let k = 1; k < n; k++) backoffMin += 250 * 2 ** (k - 1);
  const backoffMax = backoffMin * Math.SQRT2;
  const perTry = probe.timedOut ? hangS * 1000 : probe.ms;
  const minMs = Math.round(n * perTry + backoffMin);
  const maxMs = Math.round(n * perTry + backoffMax);
  const range = probe.timedOut ? `up to ${secs(maxMs)}` : `about ${secs(minMs)}–${secs(maxMs)}`;
  return {
    minMs,
    maxMs,
    attempts: n,
    text: `${range} per Nix invocation that substitutes (${n} tries with backoff, download-attempts = ${n})`,
  };
}
