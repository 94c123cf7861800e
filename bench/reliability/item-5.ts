// Issue 30, item 5, replayed against a `nixcache serve` process (the built CLI): a cache with
// CI reports from 30,000 branches; its dashboard view is read anonymously (bytes, and the server's
// CPU per read), then by four clients at once while /healthz is probed; a branch among the oldest
// is found by name.
//
//   npm run build && node --import tsx bench/reliability/item-5.ts
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { adminCreateCache } from "../../src/server/admin.js";
import { withMetadata } from "../../src/server/state-location.js";
import { serve } from "../../test/helpers/serve.js";

const BRANCHES = 30_000;
const READS = 20;

const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** CPU time (user and system) the process has used, ms. */
function cpuMs(pid: number): number {
  // /proc/PID/stat: fields 14 and 15 (utime, stime), counted after the command's closing paren.
  const after = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(after[11]) + Number(after[12])) * TICK_MS;
}

async function timed(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t0 = performance.now();
  const r = await fetch(url);
  const body = await r.arrayBuffer();
  return { ms: performance.now() - t0, bytes: body.byteLength, status: r.status };
}

/** The slowest /healthz while `readers` loop over `url` for `ms`. */
async function healthzUnder(base: string, url: string, readers: number, ms: number): Promise<number> {
  const until = performance.now() + ms;
  const read = async () => {
    while (performance.now() < until) await timed(url);
  };
  let worst = 0;
  const probe = async () => {
    while (performance.now() < until) {
      worst = Math.max(worst, (await timed(`${base}/healthz`)).ms);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await Promise.all([...Array.from({ length: readers }, read), probe()]);
  return worst;
}

export async function item5(): Promise<{ item: number; what: string; before: string; now: string }> {
  const work = mkdtempSync(join(tmpdir(), "nixcache-reliability-5-"));
  const data = join(work, "data");
  await adminCreateCache(data, { name: "many", isPublic: true, priority: 40 });
  await withMetadata({ dataDir: data }, async (meta) => {
    for (let i = 0; i < BRANCHES; i++)
      await meta.insertReport({
        cache: "many",
        kind: "ci",
        commit: "0123456789abcdef0123456789abcdef01234567",
        branch: `feature/${i}`,
        runId: `run-${i}`,
        runUrl: null,
        tokenId: null,
        ok: i % 7 !== 0,
        counts: JSON.stringify({
          ok: 10,
          missing: 0,
          unsigned: 0,
          "eval-failed": 0,
          "not-built": 0,
          total: 10,
        }),
        targets: "[]",
      });
  });
  const { child, url } = await serve(data, ["--quiet", "--no-upstream"]);
  try {
    const view = `${url}/api/v1/ui/caches/many`;
    const first = await timed(view);
    if (first.status !== 200) throw new Error(`the cache view answered ${first.status}`);
    const cpu0 = cpuMs(child.pid as number);
    let bytes = 0;
    for (let i = 0; i < READS; i++) bytes = (await timed(view)).bytes;
    const cpuPerGet = (cpuMs(child.pid as number) - cpu0) / READS;
    const healthz = await healthzUnder(url, view, 4, 3000);
    const found = await timed(`${url}/api/v1/ui/caches/many/branches?q=feature/17`);
    return {
      item: 5,
      what: `the dashboard's cache view of a cache with CI reports from ${BRANCHES.toLocaleString("en")} branches`,
      before: "11.2 MB and 0.55 s of CPU per anonymous GET; four clients stall /healthz 3.9 s",
      now:
        `${(bytes / 1024).toFixed(0)} KB and ${cpuPerGet.toFixed(0)} ms of CPU per anonymous GET (the newest 30 branches; ` +
        `the rest paged and searched: ?q= answered ${(found.bytes / 1024).toFixed(0)} KB in ${found.ms.toFixed(0)} ms); ` +
        `four clients: /healthz max ${healthz.toFixed(0)} ms`,
    };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const row = await item5();
  process.stdout.write(`${JSON.stringify(row, null, 2)}\n`);
}
