// `nixcache build` and `nixcache ci` end to end: real Nix builds a flake, real `nixcache serve`
// instances receive the pushes, real `nix-store -r` substitutes the results back.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import type { MetadataStore } from "../../../src/server/metadata/store.js";
import { startServer } from "../../../src/server/server.js";
import { nix, writeFlake } from "../../fixtures/flakes/make-flake.js";
import { NIXCACHE_BIN, runCli } from "../../helpers/cli.js";
import { nixAsync, nixSync, requireNix, tempDir } from "../../helpers/nix.js";

interface Served {
  url: string;
  cache: string;
  token: string;
  publicKey: string;
  meta: MetadataStore;
  close: () => Promise<void>;
}

/** A `nixcache serve` with one public cache `main` and a write token for it. */
async function serveCache(): Promise<Served> {
  const dir = tempDir("nixcache-build-srv-");
  const made = await runCli(["cache", "create", "main", "--data", dir.path]);
  assert.equal(made.code, 0, made.stderr);
  const tok = await runCli(["token", "create", "--data", dir.path, "--cache", "main", "--perm", "write"]);
  assert.equal(tok.code, 0, tok.stderr);
  const srv = await startServer({ dataDir: dir.path, port: 0 });
  return {
    url: srv.url,
    cache: `${srv.url}/main`,
    token: tok.stdout.trim(),
    publicKey: made.stdout.trim(),
    meta: srv.meta,
    close: async () => {
      await srv.close();
      dir.cleanup();
    },
  };
}

/** A server that answers every request with `status` (a cache that is down, or refuses us). */
async function brokenServer(status: number): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer((req, res) => {
    req.resume();
    res.writeHead(status, { "content-type": "text/plain", "retry-after": "0" }).end(`status ${status}\n`);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/main`,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

async function narInfoStatus(cacheUrl: string, storePath: string): Promise<number> {
  const hash = path.basename(storePath).slice(0, 32);
  const res = await request(`${cacheUrl}/${hash}.narinfo`);
  await res.body.dump();
  return res.statusCode;
}

interface JsonTarget {
  attr: string;
  system: string;
  status: string;
  outPath: string | null;
  push: Record<string, string>;
  log: string | null;
  error?: string;
}
interface BuildJson {
  targets: JsonTarget[];
  summary: {
    ok: boolean;
    caches: Array<{
      url: string;
      status: string;
      reason?: string;
      pushedPaths: number;
      filteredPaths: number;
    }>;
  };
}

/** Runs the CLI in the background so the test can watch the cache while it works. */
function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [NIXCACHE_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { done, stderr: () => stderr };
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Builds a flake attribute with real Nix (2.8 has no --print-out-paths) and returns its output. */
function buildAttr(flakeDir: string, attr: string): string {
  nix(["build", "--no-link", `path:${flakeDir}#${attr}`]);
  return nix(["eval", "--raw", `path:${flakeDir}#${attr}.outPath`]);
}

const byAttr = (r: BuildJson, attr: string): JsonTarget => {
  const t = r.targets.find((x) => x.attr === attr);
  assert.ok(t, `no target ${attr} in ${r.targets.map((x) => x.attr).join(", ")}`);
  return t;
};

describe("nixcache build (real nix, real nixcache serve)", () => {
  let work: { path: string; cleanup: () => void };
  let flake: string;
  let marker: string;
  let a: Served;

  before(async () => {
    requireNix();
    work = tempDir("nixcache-build-");
    flake = path.join(work.path, "flake");
    // Builds run as a nixbld user, who must be able to look into the directory of the marker.
    chmodSync(work.path, 0o755);
    marker = path.join(work.path, "let-slow-finish");
    // `slow` waits for the test's signal (a file), so "fast is pushed while slow still builds"
    // is decided by the order of events, not by a clock.
    await writeFlake(
      flake,
      `let dep = leaf "x86_64-linux" "bt-dep"; in {
        other.x86_64-linux.dep = dep;
        packages.x86_64-linux = {
          cachedone = leaf "x86_64-linux" "bt-cached";
          fast = mk "x86_64-linux" "bt-fast" "echo fast-building; echo \${dep} > $out";
          slow = mk "x86_64-linux" "bt-slow" "i=0; while [ ! -e ${marker} ]; do i=$((i+1)); [ $i -gt 1200 ] && exit 9; sleep 0.1; done; echo slow > $out";
          broken = mk "x86_64-linux" "bt-broken" "echo this-build-fails-on-purpose; exit 3";
          "a.b" = leaf "x86_64-linux" "bt-dotted";
          evalfail = throw "evalfail does not evaluate";
        };
        packages.aarch64-darwin.fast = leaf "aarch64-darwin" "bt-darwin";
      }`,
      `builds:\n  include:\n    - "*.x86_64-linux.*"\n    - "*.aarch64-darwin.*"\n`,
    );
    a = await serveCache();
  });
  after(async () => {
    await a?.close();
    work?.cleanup();
  });

  test("builds what is missing, pushes each target as it finishes, and reports every status", async () => {
    // One target is in the cache before the run.
    const cachedOut = buildAttr(flake, "packages.x86_64-linux.cachedone");
    const pre = await runCli(["push", a.cache, cachedOut], { env: { NIXCACHE_TOKEN: a.token } });
    assert.equal(pre.code, 0, pre.stderr);
    const fastOut = nix(["eval", "--raw", `path:${flake}#packages.x86_64-linux.fast.outPath`]);
    const slowOut = nix(["eval", "--raw", `path:${flake}#packages.x86_64-linux.slow.outPath`]);
    const depOut = nix(["eval", "--raw", `path:${flake}#other.x86_64-linux.dep.outPath`]);
    const logDir = path.join(work.path, "logs");

    const run = startCli(
      [
        "build",
        "--flake",
        flake,
        "--push",
        a.cache,
        "--keep-going",
        "--max-jobs",
        "4",
        "--json",
        "--log-dir",
        logDir,
      ],
      { NIXCACHE_TOKEN: a.token },
    );
    // The fast target's narinfo is in the cache while the slow one is still building.
    await until("fast's narinfo in the cache", async () => (await narInfoStatus(a.cache, fastOut)) === 200);
    assert.equal(existsSync(slowOut), false, "slow must still be building when fast is already pushed");
    await writeFile(marker, "go");
    const res = await run.done;
    assert.equal(res.code, 1, `a failed target makes the exit status 1\n${res.stderr}`);
    const r = JSON.parse(res.stdout) as BuildJson;

    assert.equal(byAttr(r, "packages.x86_64-linux.cachedone").status, "cached");
    assert.deepEqual(byAttr(r, "packages.x86_64-linux.cachedone").push, { [a.cache]: "already" });
    for (const name of ["fast", "slow", '"a.b"']) {
      const t = byAttr(r, `packages.x86_64-linux.${name}`);
      assert.equal(t.status, "built", name);
      assert.deepEqual(t.push, { [a.cache]: "pushed" }, name);
    }
    const fast = byAttr(r, "packages.x86_64-linux.fast");
    assert.equal(fast.outPath, fastOut);
    assert.ok(fast.log && (await readFile(fast.log, "utf8")).includes("fast-building"), "fast's log is kept");
    const broken = byAttr(r, "packages.x86_64-linux.broken");
    assert.equal(broken.status, "failed");
    assert.match(broken.error ?? "", /bt-broken\.drv' failed with exit code 3/);
    assert.ok(broken.log?.startsWith(logDir));
    assert.match(await readFile(broken.log as string, "utf8"), /this-build-fails-on-purpose/);
    assert.match(res.stderr, /\| this-build-fails-on-purpose/, "the failed log's tail is printed");
    const evalfail = byAttr(r, "packages.x86_64-linux.evalfail");
    assert.equal(evalfail.status, "eval-failed");
    assert.match(evalfail.error ?? "", /evalfail does not evaluate/);
    assert.equal(byAttr(r, "packages.aarch64-darwin.fast").status, "not-built-here");
    // The dependency was pushed with fast's closure.
    assert.equal(await narInfoStatus(a.cache, depOut), 200);

    // Pushed outputs substitute with real Nix from the server.
    nixSync("nix-store", ["--delete", fastOut, depOut]);
    assert.equal(existsSync(fastOut), false);
    await nixAsync("nix-store", [
      "-r",
      fastOut,
      "--option",
      "substituters",
      a.cache,
      "--option",
      "trusted-public-keys",
      a.publicKey,
    ]);
    assert.equal((await readFile(fastOut, "utf8")).trim(), depOut);

    // A second run builds nothing and uploads nothing.
    const again = await runCli(["build", "--flake", flake, "--push", a.cache, "--keep-going", "--json"], {
      env: { NIXCACHE_TOKEN: a.token },
    });
    const r2 = JSON.parse(again.stdout) as BuildJson;
    for (const name of ["cachedone", "fast", "slow", '"a.b"'])
      assert.equal(byAttr(r2, `packages.x86_64-linux.${name}`).status, "cached", name);
    assert.equal(r2.summary.caches[0]?.pushedPaths, 0);
  });

  test("a push cache that is down, erroring or refusing the token fails alone; the other gets everything", async () => {
    const b = await serveCache();
    const refused = await brokenServer(401);
    const erroring = await brokenServer(500);
    // Port 1 (tcpmux) has no listener: connection refused. (A port closed by the test could be
    // handed to another test's server meanwhile.)
    const down = { url: "http://127.0.0.1:1/main" };
    const f = path.join(work.path, "two-caches");
    await writeFlake(
      f,
      `{ packages.x86_64-linux = { one = leaf "x86_64-linux" "tc-one"; two = mk "x86_64-linux" "tc-two" "echo \${leaf "x86_64-linux" "tc-dep"} > $out"; }; }`,
    );
    try {
      for (const bad of [down.url, erroring.url, refused.url]) {
        const res = await runCli(["build", "--flake", f, "--push", bad, "--push", b.cache, "--json"], {
          env: { NIXCACHE_TOKEN: b.token },
        });
        assert.equal(res.code, 0, `a push failure alone does not fail the build\n${res.stderr}`);
        const r = JSON.parse(res.stdout) as BuildJson;
        for (const t of r.targets) {
          assert.ok(t.status === "built" || t.status === "cached", `${t.attr}: ${t.status}`);
          assert.ok(["pushed", "already"].includes(t.push[b.cache] ?? ""), `${t.attr} reached ${b.cache}`);
          assert.match(t.push[bad] ?? "", /^failed: /);
          assert.ok(!(t.push[bad] ?? "").includes(b.token), "the token is never shown");
        }
        const failing = r.summary.caches.find((c) => c.url === bad);
        assert.equal(failing?.status, "failed");
        assert.match(
          failing?.reason ?? "",
          bad === down.url ? /ECONNREFUSED/ : bad === erroring.url ? /500/ : /401/,
        );
        assert.equal(r.summary.caches.find((c) => c.url === b.cache)?.status, "ok");
        assert.match(
          res.stderr,
          new RegExp(`push cache ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} failed`),
        );
      }
      const strict = await runCli(
        ["build", "--flake", f, "--push", refused.url, "--push", b.cache, "--require-push"],
        {
          env: { NIXCACHE_TOKEN: b.token },
        },
      );
      assert.equal(strict.code, 1, "--require-push makes a push failure fatal");
      assert.match(strict.stdout, /FAILED/);
    } finally {
      await Promise.all([b.close(), refused.close(), erroring.close()]);
    }
  });

  test("paths an upstream cache serves signed by its key are not pushed", async () => {
    const up = tempDir("nixcache-upstream-");
    const c = await serveCache();
    try {
      const keyGen = await runCli([
        "key",
        "generate",
        "upstream-1",
        "--secret",
        `${up.path}/sk`,
        "--public",
        `${up.path}/pk`,
      ]);
      assert.equal(keyGen.code, 0, keyGen.stderr);
      const f = path.join(work.path, "upstream");
      await writeFlake(
        f,
        `let dep = leaf "x86_64-linux" "up-dep"; in { other.x86_64-linux.dep = dep; packages.x86_64-linux.top = mk "x86_64-linux" "up-top" "echo \${dep} > $out"; }`,
      );
      const depOut = buildAttr(f, "other.x86_64-linux.dep");
      const upstream = `file://${up.path}/cache`;
      const pushed = await runCli(["push", upstream, depOut, "--signing-key", `${up.path}/sk`]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const pk = (await readFile(`${up.path}/pk`, "utf8")).trim();
      const topOut = nix(["eval", "--raw", `path:${f}#packages.x86_64-linux.top.outPath`]);

      // Signed by a key nobody trusts: not a reason to leave it out.
      const otherKey = await runCli([
        "key",
        "generate",
        "other-1",
        "--secret",
        `${up.path}/sk2`,
        "--public",
        `${up.path}/pk2`,
      ]);
      assert.equal(otherKey.code, 0);
      const wrong = (await readFile(`${up.path}/pk2`, "utf8")).trim();
      const dry = await runCli([
        "build",
        "--flake",
        f,
        "--push",
        `file://${up.path}/dry`,
        "--upstream",
        upstream,
        "--upstream-key",
        wrong,
        "--json",
      ]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal((JSON.parse(dry.stdout) as BuildJson).summary.caches[0]?.filteredPaths, 0);

      const res = await runCli(
        ["build", "--flake", f, "--push", c.cache, "--upstream", upstream, "--upstream-key", pk, "--json"],
        { env: { NIXCACHE_TOKEN: c.token } },
      );
      assert.equal(res.code, 0, res.stderr);
      const r = JSON.parse(res.stdout) as BuildJson;
      assert.equal(byAttr(r, "packages.x86_64-linux.top").push[c.cache], "pushed");
      assert.equal(r.summary.caches[0]?.filteredPaths, 1);
      assert.equal(await narInfoStatus(c.cache, depOut), 404, "the upstream's path is not copied");
      // top is served once its closure is: when the server knows the upstream serves dep (what a
      // resolver of pending references records).
      assert.equal(await narInfoStatus(c.cache, topOut), 404);
      assert.equal(await c.meta.pendingCount("main"), 1);
      assert.deepEqual(await c.meta.pendingReferences("main", 10), [
        { cache: "main", hash: path.basename(depOut).slice(0, 32) },
      ]);
      await c.meta.markUpstream("main", [path.basename(depOut).slice(0, 32)]);
      assert.equal(await narInfoStatus(c.cache, topOut), 200);
      assert.equal(await narInfoStatus(c.cache, depOut), 404);

      // Without --upstream-key only the keys the machine's Nix trusts count: upstream-1 is not one.
      const untrusted = await runCli([
        "build",
        "--flake",
        f,
        "--push",
        `file://${up.path}/plain`,
        "--upstream",
        upstream,
        "--json",
      ]);
      assert.equal(untrusted.code, 0, untrusted.stderr);
      assert.equal((JSON.parse(untrusted.stdout) as BuildJson).summary.caches[0]?.filteredPaths, 0);
      const noKey = await runCli(["build", "--flake", f, "--push", c.cache, "--upstream-key", pk]);
      assert.equal(noKey.code, 2, "--upstream-key alone is a usage error");
      assert.match(noKey.stderr, /--upstream-key needs --upstream/);
    } finally {
      await c.close();
      up.cleanup();
    }
  });
});

describe("nixcache ci (real nix, embedded server)", () => {
  test("builds, pushes and verifies against the embedded server, which Nix then substitutes from", async () => {
    requireNix();
    const work = tempDir("nixcache-ci-");
    const xdg = path.join(work.path, "xdg");
    const env = { XDG_DATA_HOME: xdg, NIXCACHE_DATA: "" };
    let pid: number | undefined;
    try {
      const f = path.join(work.path, "flake");
      await writeFlake(
        f,
        `let g = leaf "x86_64-linux" "ci-greeting"; in {
          packages.x86_64-linux.hello = mk "x86_64-linux" "ci-hello" "echo \${g} > $out";
          packages.aarch64-darwin.hello = leaf "aarch64-darwin" "ci-hello";
          checks.x86_64-linux.ok = leaf "x86_64-linux" "ci-check";
        }`,
        `builds:\n  include:\n    - "*.x86_64-linux.*"\n    - "*.aarch64-darwin.*"\n`,
      );
      const res = await runCli(["ci", "--flake", f, "--port", "0", "--json"], { env });
      assert.equal(res.code, 0, res.stderr);
      const r = JSON.parse(res.stdout) as {
        targets: Array<JsonTarget & { verify: string }>;
        summary: { ok: boolean; otherSystemsMissing: number };
        embedded: { cacheUrl: string; publicKey: string; pid: number; dataDir: string; started: boolean };
      };
      pid = r.embedded.pid;
      assert.equal(r.summary.ok, true);
      assert.equal(r.embedded.started, true);
      assert.equal(r.embedded.dataDir, path.join(xdg, "nixcache"));
      assert.match(r.embedded.cacheUrl, /^http:\/\/127\.0\.0\.1:\d+\/main$/);
      const hello = r.targets.find((t) => t.attr === "packages.x86_64-linux.hello");
      assert.equal(hello?.status, "built");
      assert.equal(hello?.verify, "ok");
      const darwin = r.targets.find((t) => t.attr === "packages.aarch64-darwin.hello");
      assert.equal(darwin?.status, "not-built-here");
      assert.equal(darwin?.verify, "missing", "other systems are still verified");
      assert.equal(r.summary.otherSystemsMissing, 1);

      // The human form prints the substituter line and key; the server is reused, not restarted.
      const again = await runCli(["ci", "--flake", f], { env });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /already running/);
      assert.ok(again.stdout.includes(`  substituters = ${r.embedded.cacheUrl}\n`));
      assert.ok(again.stdout.includes(`  trusted-public-keys = ${r.embedded.publicKey}\n`));
      assert.match(again.stdout, /packages\.x86_64-linux\.hello\s+cached\s+substitutable/);

      const out = hello?.outPath as string;
      nixSync("nix-store", ["--delete", out]);
      nixSync("nix-store", [
        "-r",
        out,
        "--option",
        "substituters",
        r.embedded.cacheUrl,
        "--option",
        "trusted-public-keys",
        r.embedded.publicKey,
      ]);
      assert.ok(existsSync(out));

      const usage = await runCli(["ci", "--flake", f, "--cache", r.embedded.cacheUrl, "--port", "1"], {
        env,
      });
      assert.equal(usage.code, 2);
    } finally {
      if (pid) process.kill(pid, "SIGTERM");
      work.cleanup();
    }
  });
});
