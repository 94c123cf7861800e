// Issue 30, item 15, replayed: a `nixcache gc` SIGKILLed while it deletes blobs. Before, its lease
// kept every GC out for 5 minutes and its blob claims made re-uploads of those blobs answer 503 for
// about 6 (until a GC past the lease settled them). Now: how long after the kill the next
// `nixcache gc` runs, and a re-upload of a blob the dead GC had claimed answers 204.
//
//   node --import tsx bench/reliability/item-15.ts      (after `npm run build`)
//
// A `nixcache serve` (in-process) on SQLite and S3 (NIXCACHE_TEST_S3, or a Swift started here by
// scripts/swift.sh); the GC child reaches S3 through a proxy that holds its DELETEs, so it is killed
// with its claims taken and its deletes in flight.
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { startServer } from "../../src/server/server.js";
import { deleteHoldingProxy } from "../../test/helpers/delete-holding-proxy.js";
import { makeUpload, narInfoText } from "../../test/helpers/uploads.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(root, "bin/nixcache");
const PATHS = 20;

function cli(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: "ignore" });
    child.on("exit", (code) => resolve(code));
  });
}

export async function item15(): Promise<{ item: number; what: string; before: string; now: string }> {
  const work = mkdtempSync(join(tmpdir(), "nixcache-item-15-"));
  const cleanups: Array<() => unknown> = [() => rmSync(work, { recursive: true, force: true })];
  try {
    let endpoint = process.env.NIXCACHE_TEST_S3?.replace(/\/+$/, "");
    if (!endpoint || !process.env.AWS_ACCESS_KEY_ID) {
      process.env.AWS_ACCESS_KEY_ID = "test:tester";
      process.env.AWS_SECRET_ACCESS_KEY = "testing";
    }
    if (!endpoint) {
      const swift = join(work, "swift");
      execFileSync("chmod", ["755", work]);
      endpoint = execFileSync("bash", [join(root, "scripts/swift.sh"), "start", swift], {
        encoding: "utf8",
      }).trim();
      cleanups.push(() => execFileSync("bash", [join(root, "scripts/swift.sh"), "stop", swift]));
    }
    const bucket = `nixcache-item-15-${randomBytes(4).toString("hex")}`;
    const storage = (e: string) =>
      `s3://${bucket}?${new URLSearchParams({ endpoint: e, region: "us-east-1", "path-style": "1" })}`;
    const proxy = await deleteHoldingProxy(endpoint);
    cleanups.push(() => proxy.close());
    const dataDir = join(work, "data");
    const at = { dataDir, storage: storage(endpoint) };
    await adminCreateCache(at, { name: "c", isPublic: true, priority: 41, retentionMs: 1000 });
    const token = (await adminCreateToken(at, { cache: "c", perm: "write", expiresAt: null })).token;
    const srv = await startServer({ ...at, port: 0, upstreams: [], gcIntervalMs: 0 });
    cleanups.push(() => srv.close());
    const put = async (path: string, body: Buffer | string) => {
      const r = await fetch(`${srv.url}/c/${path}`, {
        method: "PUT",
        body: typeof body === "string" ? body : new Uint8Array(body),
        headers: { authorization: `Bearer ${token}` },
      });
      await r.arrayBuffer();
      return r.status;
    };
    const paths = [];
    for (let i = 0; i < PATHS; i++) {
      const u = await makeUpload(`item-15-${i}`);
      if ((await put(u.url, u.file)) !== 204) throw new Error(`pushing ${u.url} failed`);
      if ((await put(`${u.hash}.narinfo`, narInfoText(u.narinfo))) !== 204)
        throw new Error(`pushing ${u.storePath} failed`);
      paths.push({ ...u, blob: createHash("sha256").update(u.file).digest("hex") });
    }
    await new Promise((r) => setTimeout(r, 1100)); // past the retention

    proxy.hold();
    const gcArgs = ["gc", "--data", dataDir, "--cache", "c", "--grace", "0s"];
    const dying = spawn(process.execPath, [BIN, ...gcArgs, "--storage", storage(proxy.url)], {
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => dying.on("exit", resolve));
    await Promise.race([proxy.heldOne, exited]);
    if (dying.exitCode !== null) throw new Error("the GC ended before deleting a blob");
    dying.kill("SIGKILL");
    await exited;
    const killedAt = performance.now();
    const claimed = paths.find((p) => proxy.deleting.includes(p.blob));
    if (!claimed) throw new Error("no pushed blob was being deleted");

    // As an operator (or cron) would: the next GC at once; meanwhile a client pushes the path again,
    // retrying its 503s every 250 ms as clients do.
    let reuploadAt = 0;
    let refusals = 0;
    const reupload = (async () => {
      for (;;) {
        const status = await put(claimed.url, claimed.file);
        if (status === 204) {
          reuploadAt = performance.now();
          return;
        }
        if (status !== 503) throw new Error(`re-upload answered ${status}`);
        refusals++;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    let gcAt = 0;
    for (;;) {
      if ((await cli([...gcArgs, "--storage", storage(endpoint)])) === 0) {
        gcAt = performance.now();
        break;
      }
    }
    await reupload;
    const s = (t: number) => `${((t - killedAt) / 1000).toFixed(1)} s`;
    return {
      item: 15,
      what: "a nixcache gc SIGKILLed mid-delete: the next GC, and re-uploads of the blobs it had claimed",
      before: "every GC refused as busy for 5 min (the lease); re-uploads of its blobs 503 for ~6 min",
      now:
        `the next nixcache gc ran, done ${s(gcAt)} after the kill (the dead one's process was seen ` +
        `gone); a re-upload of a blob it had claimed answered 204 ${s(reuploadAt)} after the kill, ` +
        `after ${refusals} 503s (with no GC or sweep meanwhile: 30 s at most, the claim's TTL; a GC ` +
        "killed on another machine keeps the next out 30 s at most, the lease's TTL)",
    };
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const row = await item15();
  console.log(JSON.stringify(row, null, 2));
  process.exit(0);
}
