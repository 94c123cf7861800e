// Fault tests on the real `nixcache serve` process: SIGKILL in the middle of 20 concurrent uploads
// must leave a consistent data directory, and the CLI's admin commands behave as documented.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openMetadata, openStorage } from "../../src/server/state-location.js";
import { forEachBackend, stateArgs } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { serve } from "../helpers/serve.js";
import { makeUpload, narInfoText, type Upload } from "../helpers/uploads.js";

forEachBackend((backend) => {
  /** Sends a NAR slowly (in pieces), then its narinfo. Resolves with the narinfo status, or an error. */
  function slowUpload(
    base: string,
    token: string,
    u: Upload,
    onCommitted: () => void,
  ): Promise<number | Error> {
    return new Promise((resolve) => {
      const req = httpRequest(`${base}/main/${u.url}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-length": String(u.file.length) },
      });
      req.on("error", (e) => resolve(e));
      req.on("response", async (res) => {
        res.resume();
        if (res.statusCode !== 204) return resolve(new Error(`NAR PUT ${res.statusCode}`));
        try {
          const r = await fetch(`${base}/main/${u.hash}.narinfo`, {
            method: "PUT",
            body: narInfoText(u.narinfo),
            headers: { authorization: `Bearer ${token}` },
          });
          if (r.status === 204) onCommitted();
          resolve(r.status);
        } catch (e) {
          resolve(e as Error);
        }
      });
      let off = 0;
      const step = 32 * 1024;
      const pump = () => {
        if (off >= u.file.length) return req.end();
        const chunk = u.file.subarray(off, off + step);
        off += step;
        req.write(chunk, () => setTimeout(pump, 2));
      };
      pump();
    });
  }

  test("SIGKILL during 20 concurrent uploads leaves no narinfo without its NAR and no stray content", async () => {
    const data = await mkdtemp(join(tmpdir(), "nixcache-crash-"));
    const at = await backend.stores(data);
    const where = stateArgs(at);
    const backends = where.slice(2); // --db/--storage, after --data
    let child: ChildProcess | undefined;
    try {
      assert.equal((await runCli(["cache", "create", "main", ...where])).code, 0);
      const tok = await runCli(["token", "create", ...where, "--cache", "main", "--perm", "write"]);
      const token = tok.stdout.trim();
      const uploads = await Promise.all(
        Array.from({ length: 20 }, (_, i) => makeUpload(`crash-${i}`, "none", 100_000 + i * 60_000)),
      );
      const server = await serve(data, backends);
      child = server.child;
      let committed = 0;
      let killed = false;
      const results = uploads.map((u) =>
        slowUpload(server.url, token, u, () => {
          committed++;
          // Kill once a few have committed: the larger uploads are still streaming.
          if (committed === 3 && !killed) {
            killed = true;
            child?.kill("SIGKILL");
          }
        }),
      );
      const outcomes = await Promise.all(results);
      assert.ok(killed, "the server was killed mid-run");
      assert.ok(
        outcomes.some((o) => o instanceof Error),
        "some uploads were cut off by the kill",
      );

      // Restart: staged writes are cleared, and every narinfo's NAR is a complete blob with the
      // recorded hash. (An object store shared by replicas keeps a dead process's staged objects for
      // hours, since another replica's write looks the same: there, only blobs are checked.)
      const again = await serve(data, backends);
      child = again.child;
      const storage = await openStorage(at);
      if (!backend.onS3) assert.deepEqual(await storage.listStaged(), []);
      const meta = await openMetadata(at);
      const bytesOf = async (blob: string) => Buffer.concat(await storage.readBlob(blob).toArray());
      let checked = 0;
      try {
        for (const row of await meta.narInfoBlobs()) {
          assert.ok(row.blob, `narinfo ${row.hash} points at ${row.url}, which has no upload`);
          const up = await meta.getNar(row.cache, row.url);
          const bytes = await bytesOf(row.blob);
          assert.equal(bytes.length, up?.fileSize);
          assert.equal(createHash("sha256").update(bytes).digest("hex"), row.blob);
          const r = await fetch(`${again.url}/main/${row.url}`);
          assert.equal(r.status, 200);
          assert.equal(Buffer.from(await r.arrayBuffer()).length, bytes.length);
          checked++;
        }
        assert.ok(checked >= 3, `at least the committed paths survived (${checked})`);
        // Every blob stored is complete content under its own hash.
        for (const blob of await storage.listBlobs())
          assert.equal(
            createHash("sha256")
              .update(await bytesOf(blob))
              .digest("hex"),
            blob,
          );
      } finally {
        await meta.close();
      }
      // The restarted server accepts the interrupted uploads again.
      const retry = await Promise.all(
        uploads.slice(15).map((u) => slowUpload(again.url, token, u, () => {})),
      );
      assert.deepEqual(retry, [204, 204, 204, 204, 204]);

      // SIGTERM: graceful exit with status 0.
      const exited = new Promise<number | null>((resolve) => again.child.on("exit", (c) => resolve(c)));
      again.child.kill("SIGTERM");
      assert.equal(await exited, 0);
      child = undefined;
      assert.match(again.stderr(), /"event":"shutdown"/);
      assert.ok(!again.stderr().includes(token));
    } finally {
      child?.kill("SIGKILL");
      await rm(data, { recursive: true, force: true });
    }
  });

  test("cache and token administration from the CLI", async () => {
    const data = await mkdtemp(join(tmpdir(), "nixcache-admin-"));
    try {
      const created = await runCli([
        "cache",
        "create",
        "team",
        "--data",
        data,
        "--private",
        "--priority",
        "10",
      ]);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /^team-1:[A-Za-z0-9+/]{43}=\n$/);
      assert.equal(statSync(join(data, "nixcache.db")).mode & 0o777, 0o600);
      assert.doesNotMatch(readFileSync(join(data, "nixcache.db")).toString("latin1"), /nxc_/);

      const dup = await runCli(["cache", "create", "team", "--data", data]);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /nixcache: error: cache "team" already exists/);
      const bad = await runCli(["cache", "create", "Bad/Name", "--data", data]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /cache names are 1-64 characters/);

      const list = await runCli(["cache", "list", "--data", data, "--json"]);
      const caches = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
      assert.equal(caches[0]?.name, "team");
      assert.equal(caches[0]?.public, false);
      assert.equal(caches[0]?.priority, 10);
      assert.equal(caches[0]?.publicKey, created.stdout.trim());

      const tok = await runCli([
        "token",
        "create",
        "--data",
        data,
        "--cache",
        "team",
        "--perm",
        "read",
        "--expires",
        "30d",
      ]);
      assert.equal(tok.code, 0, tok.stderr);
      assert.match(tok.stdout, /^nxc_[A-Za-z0-9_-]{43}\n$/);
      const token = tok.stdout.trim();
      assert.ok(
        !readFileSync(join(data, "nixcache.db")).toString("latin1").includes(token),
        "only the hash is stored",
      );
      const badPerm = await runCli(["token", "create", "--data", data, "--cache", "team", "--perm", "owner"]);
      assert.equal(badPerm.code, 2);
      assert.match(badPerm.stderr, /--perm "owner" must be read, write or admin/);
      const noCache = await runCli(["token", "create", "--data", data, "--cache", "nope", "--perm", "read"]);
      assert.match(noCache.stderr, /no cache named "nope"/);

      const tokens = JSON.parse((await runCli(["token", "list", "--data", data, "--json"])).stdout) as Array<
        Record<string, unknown>
      >;
      assert.equal(tokens.length, 1);
      assert.equal(tokens[0]?.perm, "read");
      assert.ok(typeof tokens[0]?.expiresAt === "string");
      assert.ok(!JSON.stringify(tokens).includes(token));

      const revoked = await runCli(["token", "revoke", "-", "--data", data], { input: token });
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.ok(!revoked.stderr.includes(token));
      const again = await runCli(["token", "revoke", String(tokens[0]?.id), "--data", data]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already revoked/);

      for (const cmd of [["serve"], ["cache", "create"], ["token", "create"], ["token", "revoke"]]) {
        const help = await runCli([...cmd, "--help"]);
        assert.equal(help.code, 0);
        assert.match(help.stdout, /Examples?:/, cmd.join(" "));
      }
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
