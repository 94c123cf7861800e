import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { hashBytes } from "../../../src/nix/hash.js";
import { formatNarInfo, parseNarInfo, signNarInfo } from "../../../src/nix/narinfo.js";
import {
  formatPublicKey,
  formatSecretKey,
  generateSecretKey,
  publicKeyOf,
} from "../../../src/nix/signing.js";
import { parseStorePath } from "../../../src/nix/store-path.js";
import { nix, nixOutPath, writeFlake } from "../../fixtures/flakes/make-flake.js";

const BIN = fileURLToPath(new URL("../../../bin/nixcache", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(BIN, args, { cwd: opts.cwd, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A static server over a cache directory (what nginx in front of a file cache is), counting requests. */
async function serveDir(
  dir: string,
): Promise<{ url: string; hits: Map<string, number>; close: () => Promise<void> }> {
  const hits = new Map<string, number>();
  const server = http.createServer(async (req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/cache\//, "");
    hits.set(rel, (hits.get(rel) ?? 0) + 1);
    try {
      if (rel.includes("..")) throw new Error("no");
      const body = await readFile(path.join(dir, rel));
      res.writeHead(200, { "content-length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/cache`,
    hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const key = generateSecretKey("test-cache-1");
const other = generateSecretKey("test-cache-1");
const TRUSTED = formatPublicKey(publicKeyOf(key));
const WRONG = formatPublicKey(publicKeyOf(other));

describe("nixcache verify (real nix)", () => {
  let tmp: string;
  let flake: string;
  let full: string; // a signed cache holding every target and its closure
  const out: Record<string, string> = {};

  const narinfoFile = (dir: string, storePath: string) =>
    path.join(dir, `${parseStorePath(storePath).hash}.narinfo`);
  async function variant(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
    const dir = path.join(tmp, name);
    await cp(full, dir, { recursive: true });
    await edit(dir);
    return dir;
  }
  const fileUrl = (dir: string) => `file://${dir}`;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "nixcache-verify-"));
    flake = path.join(tmp, "flake");
    await writeFlake(
      flake,
      `let dep = leaf "x86_64-linux" "dep"; in {
      packages.x86_64-linux.app = mk "x86_64-linux" "app" "echo ${"$"}{dep} > $out";
      packages.x86_64-linux.tool = leaf "x86_64-linux" "tool";
      packages.aarch64-darwin.app = leaf "aarch64-darwin" "app";
      checks.x86_64-linux.test = leaf "x86_64-linux" "test";
      apps.x86_64-linux.default = { type = "app"; program = "/bin/sh"; };
    }`,
      "builds:\n  include: ['*.x86_64-linux.*', 'packages.aarch64-darwin.*']\n",
    );
    for (const a of [
      "packages.x86_64-linux.app",
      "packages.x86_64-linux.tool",
      "checks.x86_64-linux.test",
      "packages.aarch64-darwin.app",
    ]) {
      out[a] = nixOutPath(flake, a);
    }
    const linux = ["packages.x86_64-linux.app", "packages.x86_64-linux.tool", "checks.x86_64-linux.test"];
    nix(["build", "--no-link", ...linux.map((a) => `path:${flake}#${a}`)]);
    const sk = path.join(tmp, "sk");
    await writeFile(sk, formatSecretKey(key), { mode: 0o600 });
    full = path.join(tmp, "full");
    nix([
      "copy",
      "--to",
      `file://${full}?secret-key=${sk}&compression=none`,
      ...linux.map((a) => out[a] as string),
    ]);
    // The darwin output cannot be built here: publish a hand-made, signed narinfo for it.
    const darwin = signNarInfo(
      {
        storePath: out["packages.aarch64-darwin.app"] as string,
        url: "nar/darwin.nar",
        compression: "none",
        narHash: hashBytes("sha256", "darwin"),
        narSize: 120,
        references: [],
        sigs: [],
        extra: [],
      },
      key,
    );
    await writeFile(narinfoFile(full, darwin.storePath), formatNarInfo(darwin));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test("everything present and signed, closures too, over HTTP: exit 0, each narinfo fetched once", async () => {
    const srv = await serveDir(full);
    try {
      const r = await run(["verify", "--cache", srv.url, "--trusted-key", TRUSTED, "--closure", "--json"], {
        cwd: flake,
      });
      assert.equal(r.code, 0, r.stderr);
      const rep = JSON.parse(r.stdout);
      assert.equal(rep.complete, true);
      assert.deepEqual(rep.counts, { ok: 4, missing: 0, unsigned: 0, incomplete: 0, error: 0, total: 4 });
      const app = rep.targets.find((t: { attr: string }) => t.attr === "packages.x86_64-linux.app");
      assert.equal(app.closureSize, 2);
      assert.equal(app.cache, srv.url);
      const narinfoHits = [...srv.hits].filter(([p]) => p.endsWith(".narinfo"));
      assert.equal(narinfoHits.length, 5); // 4 outputs + dep
      assert.ok(
        narinfoHits.every(([, n]) => n === 1),
        JSON.stringify(narinfoHits),
      );
    } finally {
      await srv.close();
    }
  });

  test("a cache that lacks one output: exit 1, a table per system naming it", async () => {
    const dir = await variant("lacks-tool", (d) =>
      unlink(narinfoFile(d, out["packages.x86_64-linux.tool"] as string)),
    );
    const r = await run(["verify", "--cache", fileUrl(dir), "--trusted-key", TRUSTED], { cwd: flake });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^aarch64-darwin\n/m);
    assert.match(r.stdout, /^x86_64-linux\n/m);
    assert.match(r.stdout, /packages\.x86_64-linux\.tool\s+MISSING\s+\/nix\/store\/\S+-tool is in no cache/);
    assert.match(r.stdout, /packages\.aarch64-darwin\.app\s+ok/);
    assert.match(r.stdout, /3\/4 ok, 1 missing/);
  });

  test("a cache that lacks a closure member: fine without --closure, incomplete with it", async () => {
    const dep = (await readFile(out["packages.x86_64-linux.app"] as string, "utf8")).trim();
    const dir = await variant("lacks-dep", (d) => unlink(narinfoFile(d, dep)));
    const plain = await run(["verify", "--cache", fileUrl(dir)], { cwd: flake });
    assert.equal(plain.code, 0, plain.stderr);
    const r = await run(["verify", "--cache", fileUrl(dir), "--closure", "--json"], { cwd: flake });
    assert.equal(r.code, 1);
    const app = JSON.parse(r.stdout).targets.find(
      (t: { attr: string }) => t.attr === "packages.x86_64-linux.app",
    );
    assert.equal(app.status, "incomplete");
    assert.deepEqual(app.missing, [dep]);
    // Several caches together: the member found in a second cache completes the closure.
    const both = await run(
      ["verify", "--cache", fileUrl(dir), fileUrl(full), "--closure", "--trusted-key", TRUSTED],
      {
        cwd: flake,
      },
    );
    assert.equal(both.code, 0, both.stdout + both.stderr);
  });

  test("an unsigned narinfo is its own status; without --trusted-key only presence is checked", async () => {
    const tool = out["packages.x86_64-linux.tool"] as string;
    const dir = await variant("unsigned", async (d) => {
      const ni = parseNarInfo(await readFile(narinfoFile(d, tool), "utf8"));
      await writeFile(narinfoFile(d, tool), formatNarInfo({ ...ni, sigs: [] }));
    });
    const r = await run(["verify", "--cache", fileUrl(dir), "--trusted-key", TRUSTED], { cwd: flake });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /packages\.x86_64-linux\.tool\s+UNSIGNED\s+\S+ is not signed by a trusted key/);
    const p = await run(["verify", "--cache", fileUrl(dir)], { cwd: flake });
    assert.equal(p.code, 0);
    assert.match(p.stdout, /signatures NOT checked/);
  });

  test("a wrong key: every target unsigned", async () => {
    const r = await run(["verify", "--cache", fileUrl(full), "--trusted-key", WRONG, "--json"], {
      cwd: flake,
    });
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout).counts.unsigned, 4);
  });

  test("GitHub Actions: Markdown step summary and ::error annotations", async () => {
    const dir = await variant("gh", (d) =>
      unlink(narinfoFile(d, out["packages.aarch64-darwin.app"] as string)),
    );
    const summary = path.join(tmp, "summary.md");
    await writeFile(summary, "previous step\n");
    const r = await run(["verify", "--cache", fileUrl(dir), "--trusted-key", TRUSTED], {
      cwd: flake,
      env: { ...process.env, GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary },
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      new RegExp(
        `^::error title=Missing from cache::packages\\.aarch64-darwin\\.app \\(aarch64-darwin\\) missing from file://${dir}$`,
        "m",
      ),
    );
    const md = await readFile(summary, "utf8");
    assert.match(md, /^previous step\n## .*nixcache verify/);
    assert.match(md, /3\/4 ok, 1 missing/);
    assert.match(md, /### aarch64-darwin\n\n\| target \| status \| missing \|/);
    assert.match(md, /\| `packages\.aarch64-darwin\.app` \| \*\*MISSING\*\* \|/);
    const own = path.join(tmp, "own.md");
    const s = await run(["verify", "--cache", fileUrl(full), "--summary", own], { cwd: flake });
    assert.equal(s.code, 0);
    assert.match(await readFile(own, "utf8"), /every target is in the cache/);
  });

  test("--wait re-checks what is missing until it arrives", async () => {
    const tool = out["packages.x86_64-linux.tool"] as string;
    const saved = await readFile(narinfoFile(full, tool), "utf8");
    const dir = await variant("wait", (d) => unlink(narinfoFile(d, tool)));
    const child = spawn(
      BIN,
      [
        "verify",
        "--cache",
        fileUrl(dir),
        "--trusted-key",
        TRUSTED,
        "--wait",
        "60s",
        "--interval",
        "300ms",
        "--json",
      ],
      { cwd: flake },
    );
    let stderr = "";
    let stdout = "";
    let published = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", async (d) => {
      stderr += d;
      if (!published && /1 of 4 targets not yet in the cache; checking again in 0s/.test(stderr)) {
        published = true;
        await writeFile(narinfoFile(dir, tool), saved);
      }
    });
    const code = await new Promise<number | null>((r) => child.on("close", r));
    assert.equal(code, 0, stderr);
    const rep = JSON.parse(stdout);
    assert.ok(rep.rounds >= 2);
    assert.equal(rep.complete, true);
  });

  test("--wait gives up at the deadline with exit 1", async () => {
    const dir = await variant("never", (d) =>
      unlink(narinfoFile(d, out["checks.x86_64-linux.test"] as string)),
    );
    const r = await run(
      ["verify", "--cache", fileUrl(dir), "--wait", "1s", "--interval", "200ms", "--json"],
      { cwd: flake },
    );
    assert.equal(r.code, 1);
    assert.ok(JSON.parse(r.stdout).rounds >= 2);
    assert.match(r.stderr, /not yet in the cache/);
  });

  test("usage and evaluation errors exit 2 without printing key material", async () => {
    const secretText = formatSecretKey(key);
    const bad = await run(["verify", "--cache", fileUrl(full), "--trusted-key", secretText], { cwd: flake });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--trusted-key #1: public key "test-cache-1" holds 64 bytes, expected 32/);
    assert.ok(!bad.stderr.includes(secretText.split(":")[1] as string));
    const dur = await run(["verify", "--cache", fileUrl(full), "--wait", "soon"], { cwd: flake });
    assert.equal(dur.code, 2);
    assert.match(dur.stderr, /--wait: invalid duration "soon"/);
    const nocache = await run(["verify"], { cwd: flake });
    assert.equal(nocache.code, 2);
    const notCache = await run(["verify", "--cache", fileUrl(path.join(tmp, "nope"))], { cwd: flake });
    assert.equal(notCache.code, 2);
    assert.match(notCache.stderr, /is not usable/);
    const cfg = path.join(tmp, "with-broken.yaml");
    await writeFile(cfg, "builds:\n  include: ['*.*.*']\n");
    const brokenFlake = path.join(tmp, "broken-flake");
    await writeFlake(
      brokenFlake,
      `{ packages.x86_64-linux.b = throw "broken on purpose"; packages.x86_64-linux.ok = leaf "x86_64-linux" "ok"; }`,
    );
    const ev = await run(["verify", "--cache", fileUrl(full), "--config", cfg], { cwd: brokenFlake });
    assert.equal(ev.code, 2);
    assert.match(ev.stdout, /packages\.x86_64-linux\.b\s+EVAL ERROR\s+broken on purpose/);
    assert.match(ev.stdout, /packages\.x86_64-linux\.ok\s+MISSING/);
  });

  test("--path verifies store paths without a flake, closures included", async () => {
    const app = out["packages.x86_64-linux.app"] as string;
    const dep = (await readFile(app, "utf8")).trim();
    const ok = await run(
      ["verify", "--closure", "--path", app, "--cache", fileUrl(full), "--trusted-key", TRUSTED, "--json"],
      {
        cwd: tmp,
      },
    );
    assert.equal(ok.code, 0, ok.stderr);
    const rep = JSON.parse(ok.stdout);
    assert.equal(rep.targets.length, 1);
    assert.equal(rep.targets[0].outPath, app);
    assert.equal(rep.targets[0].closureSize, 2);
    // The darwin output was never built here: its path alone is enough.
    const darwin = out["packages.aarch64-darwin.app"] as string;
    const remote = await run([
      "verify",
      "--path",
      darwin,
      "--cache",
      fileUrl(full),
      "--trusted-key",
      TRUSTED,
    ]);
    assert.equal(remote.code, 0, remote.stdout + remote.stderr);
    const dir = await variant("path-lacks-dep", (d) => unlink(narinfoFile(d, dep)));
    const missing = await run(["verify", "--closure", "--path", app, "--cache", fileUrl(dir)]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /INCOMPLETE/);
    const outside = await run(["verify", "--path", "/etc/passwd", "--cache", fileUrl(full)]);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /--path \/etc\/passwd is not in the Nix store/);
    const both = await run(["verify", "--path", app, "--flake", flake, "--cache", fileUrl(full)]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--path cannot be combined with --flake/);
  });

  test("--help documents the command", async () => {
    const r = await run(["verify", "--help"]);
    assert.equal(r.code, 0);
    for (const f of [
      "--cache",
      "--trusted-key",
      "--closure",
      "--wait",
      "--interval",
      "--json",
      "--summary",
      "Exit status",
      "Examples",
    ]) {
      assert.ok(r.stdout.includes(f), f);
    }
  });
});
