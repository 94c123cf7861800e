// `nixcache serve` as a separate process (the real CLI), for tests that measure or signal it.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { NIXCACHE_BIN } from "./cli.js";

export interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `nixcache serve --data DATA --listen 127.0.0.1:0 …extra`; resolves once it listens. */
export async function serve(data: string, extra: string[] = []): Promise<Served> {
  const child = spawn(
    process.execPath,
    [NIXCACHE_BIN, "serve", "--data", data, "--listen", "127.0.0.1:0", ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^listening on (http:\/\/\S+)\n/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
  return { child, url, stderr: () => err, exited };
}

export function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

/** Alive and not a zombie. */
export function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Peak resident memory of a process, in bytes (VmHWM of /proc/<pid>/status). */
export function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, `no VmHWM for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of a process. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Staged uploads in a data directory's tmp/ (named upload-<pid>-…). */
export function stagedUploads(data: string): string[] {
  return readdirSync(join(data, "tmp")).filter((f) => f.startsWith("upload-"));
}

/** Polls `cond` (every 50 ms, up to 15 s) and fails with `what` when it never holds. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  tries = 300,
): Promise<void> {
  for (let i = 0; i < tries && !(await cond()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(await cond(), what);
}
