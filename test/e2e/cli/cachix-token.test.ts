// Which token a command sends: for cachix:// (and provision / token inspect) --token, then
// CACHIX_AUTH_TOKEN (what cachix's client reads), then NIXCACHE_TOKEN; for http(s):// --token, then
// NIXCACHE_TOKEN, never CACHIX_AUTH_TOKEN. Checked with the real CLI against `nixcache serve`,
// where a wrong token is refused, so only the token that should win lets a push through.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startServer } from "../../../src/server/server.js";
import { runCli } from "../../helpers/cli.js";
import { nixSync, requireNix, tempDir } from "../../helpers/nix.js";

test("token precedence: --token, then CACHIX_AUTH_TOKEN for cachix://, then NIXCACHE_TOKEN", async () => {
  requireNix();
  const dir = tempDir("nixcache-cachix-token-");
  const srv = await startServer({ dataDir: dir.path, port: 0 });
  const api = `${srv.url}/api/v1`;
  try {
    const made = await runCli(["token", "create", "--data", dir.path, "--personal", "--account", "tok"]);
    assert.equal(made.code, 0, made.stderr);
    const good = made.stdout.trim();
    // Well-formed but unknown to the server: refused wherever it is sent.
    const bad = `nixcache_${randomBytes(24).toString("hex")}`;
    const created = await runCli(["provision", "cachix://prec", "--private", "--cachix-api", api], {
      env: { CACHIX_AUTH_TOKEN: good, NIXCACHE_TOKEN: "" },
    });
    assert.equal(created.code, 0, created.stderr);

    let n = 0;
    /** A fresh store path, so each push has exactly one path to upload. */
    const freshPath = () => {
      const f = join(dir.path, `tok-${n++}-${randomBytes(4).toString("hex")}`);
      writeFileSync(f, `token precedence ${f}\n`);
      return nixSync("nix-store", ["--add", f]).toString().trim();
    };
    const push = async (cache: string, env: Record<string, string>, extra: string[] = []) => {
      const path = freshPath();
      const args = ["push", cache, path, "--json", ...extra];
      if (cache.startsWith("cachix:")) args.push("--cachix-api", api);
      const r = await runCli(args, { env: { CACHIX_SIGNING_KEY: "", ...env } });
      for (const t of [good, bad]) {
        assert.ok(!r.stdout.includes(t) && !r.stderr.includes(t), "a token is never printed");
      }
      return { ...r, path };
    };
    const pushed = (
      r: { code: number | null; stdout: string; stderr: string; path: string },
      what: string,
    ) => {
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      assert.deepEqual((JSON.parse(r.stdout) as { pushed: string[] }).pushed, [r.path], what);
    };
    const refused = (r: { code: number | null; stdout: string; stderr: string }, what: string) => {
      assert.notEqual(r.code, 0, `${what}: expected a refusal`);
      assert.match(r.stderr, /nixcache: error: .*(doesn't exist or you don't have access|HTTP 401)/, what);
    };
    const cachix = "cachix://prec";
    const http = `${srv.url}/prec`;

    // cachix://: CACHIX_AUTH_TOKEN wins over NIXCACHE_TOKEN (the old order sent NIXCACHE_TOKEN).
    pushed(await push(cachix, { CACHIX_AUTH_TOKEN: good, NIXCACHE_TOKEN: bad }), "CACHIX_AUTH_TOKEN first");
    refused(await push(cachix, { CACHIX_AUTH_TOKEN: bad, NIXCACHE_TOKEN: good }), "CACHIX_AUTH_TOKEN first");
    // --token wins over both variables.
    pushed(await push(cachix, { CACHIX_AUTH_TOKEN: bad, NIXCACHE_TOKEN: bad }, ["--token", good]), "--token");
    refused(
      await push(cachix, { CACHIX_AUTH_TOKEN: good, NIXCACHE_TOKEN: good }, ["--token", bad]),
      "--token",
    );
    // NIXCACHE_TOKEN when CACHIX_AUTH_TOKEN is unset or empty.
    pushed(await push(cachix, { CACHIX_AUTH_TOKEN: "", NIXCACHE_TOKEN: good }), "NIXCACHE_TOKEN last");

    // http(s)://: --token, then NIXCACHE_TOKEN; CACHIX_AUTH_TOKEN is never sent there.
    pushed(await push(http, { CACHIX_AUTH_TOKEN: bad, NIXCACHE_TOKEN: good }), "http: NIXCACHE_TOKEN");
    refused(
      await push(http, { CACHIX_AUTH_TOKEN: good, NIXCACHE_TOKEN: bad }),
      "http: not CACHIX_AUTH_TOKEN",
    );
    pushed(
      await push(http, { CACHIX_AUTH_TOKEN: bad, NIXCACHE_TOKEN: bad }, ["--token", good]),
      "http: --token",
    );

    // token inspect and provision choose the same way as a cachix:// push.
    const inspect = async (env: Record<string, string>, extra: string[] = []) => {
      const r = await runCli(
        ["token", "inspect", "--cache", "prec", "--cachix-api", api, "--json", ...extra],
        {
          env,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes(good) && !r.stdout.includes(bad), "a token is never printed");
      return (JSON.parse(r.stdout) as { token: { kind: string } }).token.kind;
    };
    assert.equal(await inspect({ CACHIX_AUTH_TOKEN: good, NIXCACHE_TOKEN: bad }), "personal");
    assert.equal(await inspect({ CACHIX_AUTH_TOKEN: "", NIXCACHE_TOKEN: good }), "personal");
    assert.notEqual(await inspect({ CACHIX_AUTH_TOKEN: bad, NIXCACHE_TOKEN: good }), "personal");
    assert.equal(
      await inspect({ CACHIX_AUTH_TOKEN: bad, NIXCACHE_TOKEN: bad }, ["--token", good]),
      "personal",
    );
    const prov = await runCli(["provision", "cachix://prec", "--private", "--cachix-api", api, "--json"], {
      env: { CACHIX_AUTH_TOKEN: "", NIXCACHE_TOKEN: good },
    });
    assert.equal(prov.code, 0, prov.stderr);
    assert.equal((JSON.parse(prov.stdout) as { permission: string }).permission, "Admin");
  } finally {
    await srv.close();
    dir.cleanup();
  }
});
