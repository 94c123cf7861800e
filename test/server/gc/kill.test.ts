// A `nixcache gc` SIGKILLed while it deletes blobs (issue 30, item 15): the sweep settles the dead
// run's blob claims at once (their holder is seen gone), so a re-upload of one of those blobs goes
// through, and the next GC proceeds at once (the lease's holder is gone too), instead of a GC
// refused as busy for the lease's 5 minutes and re-uploads answered 503 for the claims' 15. The storage is a real S3 behind a proxy that holds
// DELETE requests, so the GC child is killed with its claims taken and its deletes in flight.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { adminCreateCache, adminCreateToken } from "../../../src/server/admin.js";
import { collectGarbage } from "../../../src/server/gc.js";
import { sweep } from "../../../src/server/ingest/sweep.js";
import { startServer } from "../../../src/server/server.js";
import { openStorage, type StateLocation } from "../../../src/server/state-location.js";
import { stateArgs } from "../../helpers/backends.js";
import { NIXCACHE_BIN } from "../../helpers/cli.js";
import { deleteHoldingProxy } from "../../helpers/delete-holding-proxy.js";
import { tempDir } from "../../helpers/nix.js";
import { freshDatabase } from "../../helpers/postgres.js";
import { freshStorageUrl } from "../../helpers/s3.js";
import { makeUpload, narInfoText, type Upload } from "../../helpers/uploads.js";

const LOCATIONS: Array<{ name: string; at(dir: string, storage: string): Promise<StateLocation> }> = [
  { name: "SQLite", at: async (dir, storage) => ({ dataDir: dir, storage }) },
  { name: "PostgreSQL", at: async (_dir, storage) => ({ db: await freshDatabase(), storage }) },
];

for (const location of LOCATIONS)
  test(`item 15 on ${location.name}: after a GC is SIGKILLed mid-delete, the next GC and re-uploads of its blobs proceed at once`, async () => {
    const dir = tempDir("nixcache-gc-kill-");
    const storage = await freshStorageUrl();
    const endpoint = new URL(storage).searchParams.get("endpoint") as string;
    const proxy = await deleteHoldingProxy(endpoint);
    const proxied = new URL(storage);
    proxied.searchParams.set("endpoint", proxy.url);
    const at = await location.at(dir.path, storage);
    const srv = await startServer({ ...at, port: 0, upstreams: [], gcIntervalMs: 0 });
    try {
      await adminCreateCache(at, { name: "c", isPublic: true, priority: 41, retentionMs: 1000 });
      const token = (await adminCreateToken(at, { cache: "c", perm: "write", expiresAt: null })).token;
      const put = async (path: string, body: Buffer | string) => {
        const r = await fetch(`${srv.url}/c/${path}`, {
          method: "PUT",
          body: typeof body === "string" ? body : new Uint8Array(body),
          headers: { authorization: `Bearer ${token}` },
        });
        await r.arrayBuffer();
        return r.status;
      };
      const paths: Upload[] = [];
      for (let i = 0; i < 12; i++) paths.push(await makeUpload(`killed-gc-${i}`));
      for (const u of paths) {
        assert.equal(await put(u.url, u.file), 204);
        assert.equal(await put(`${u.hash}.narinfo`, narInfoText(u.narinfo)), 204);
      }
      await new Promise((r) => setTimeout(r, 1100)); // past the retention

      proxy.hold();
      const child = spawn(
        process.execPath,
        [
          NIXCACHE_BIN,
          "gc",
          ...stateArgs({ ...at, storage: proxied.toString() }),
          "--cache",
          "c",
          "--grace",
          "0s",
        ],
        { stdio: "ignore" },
      );
      const exited = new Promise((resolve) => child.on("exit", resolve));
      await Promise.race([proxy.heldOne, exited]);
      assert.equal(child.exitCode, null, "the GC was still deleting");
      child.kill("SIGKILL");
      await exited;
      await proxy.close();

      const meta = srv.meta;
      const claimed = [...proxy.deleting];
      assert.ok(claimed.length > 0, "the dead GC was deleting blobs");

      // Right away: the sweep (serve runs it at start and every 10 minutes) settles the dead GC's
      // claims, a path whose blob it had claimed is pushed again, and the next GC runs.
      const direct = await openStorage(at);
      await sweep(meta, direct);
      const again = paths.find((u) => claimed.includes(createHash("sha256").update(u.file).digest("hex")));
      assert.ok(again, "a pushed path's blob was claimed");
      const reupload = await put(again.url, again.file);
      const next = await collectGarbage(meta, direct, { cache: "c", graceMs: 0 }).then(
        () => "ran",
        (e: unknown) => String(e),
      );
      assert.deepEqual({ reupload, next }, { reupload: 204, next: "ran" });
      assert.equal(await put(`${again.hash}.narinfo`, narInfoText(again.narinfo)), 204);
      const served = await fetch(`${srv.url}/c/${again.url}`);
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), again.file, "served whole");
      assert.deepEqual(await meta.blobClaims(100), [], "the dead GC's claims are settled");
      assert.equal(await meta.leaseHolder("gc"), undefined, "and the lease free");
      const stored = await direct.listBlobs();
      for (const b of claimed.filter((b) => b !== createHash("sha256").update(again.file).digest("hex")))
        assert.ok(!stored.includes(b), `the claimed blob ${b} was deleted by the sweep`);
    } finally {
      await srv.close();
      await proxy.close().catch(() => {});
      dir.cleanup();
    }
  });
