// The npm package as a user gets it: `npm pack` in a copy of this checkout (its prepack builds),
// `npm install -g` of the tarball into an empty prefix with an empty HOME, then the installed
// `nixcache` runs the demo (ci on the embedded server it starts from the installed package, and
// Nix substitutes from that server), and `npx <tarball>` runs too. The registry is npm's as the
// machine has it set up: its cache (filled by the checkout's `npm ci`, so installs are offline
// but for what is missing) and its user config (node-gyp builds against the Node headers it
// names). Installing compiles the native addons (better-sqlite3, zstd-napi) from the sources in
// their packages, after prebuild-install's download fails: minutes, so it happens once here.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { requireNix, tempDir } from "../../helpers/nix.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program without blocking the event loop, capturing everything (never throws). */
function run(
  program: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  const start = Date.now();
  return new Promise((resolve) =>
    execFile(program, args, { ...opts, maxBuffer: 1 << 28 }, (err, stdout, stderr) =>
      resolve({
        code: err ? ((err as { code?: number }).code ?? 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
        ms: Date.now() - start,
      }),
    ),
  );
}

const show = (r: Run) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** This environment without what an enclosing `npm test` sets for its scripts (npm_*, INIT_CWD). */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_/i.test(k) || k === "INIT_CWD") delete env[k];
  return env;
}

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string }[];
}

describe("the npm package, packed, installed and run as a user does", { concurrency: false }, () => {
  const dir = tempDir("nixcache-package-");
  const checkout = path.join(dir.path, "checkout");
  const prefix = path.join(dir.path, "prefix");
  const home = path.join(dir.path, "home");
  const installed = path.join(prefix, "bin", "nixcache");
  let packed: Packed;
  let tarball = "";
  let install: Run;
  let env: NodeJS.ProcessEnv = {};
  const servers: number[] = [];
  let npxDir = "";

  before(async () => {
    requireNix();
    // A checkout as a clone has it: the tracked and untracked-not-ignored files, no dist/ but the
    // committed Action bundle; node_modules is this checkout's (the build's tools).
    const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: ROOT,
    })
      .toString()
      .split("\0")
      .filter((f) => f !== "" && f !== "node_modules" && existsSync(path.join(ROOT, f)));
    for (const f of listed) {
      mkdirSync(path.dirname(path.join(checkout, f)), { recursive: true });
      copyFileSync(path.join(ROOT, f), path.join(checkout, f));
    }
    symlinkSync(realpathSync(path.join(ROOT, "node_modules")), path.join(checkout, "node_modules"));
    assert.ok(!existsSync(path.join(checkout, "dist", "cli")), "the copy has no build yet");

    // The machine's npm set-up, read before HOME changes: its cache and its user config.
    const npmGet = (key: string) =>
      execFileSync("npm", ["config", "get", key], { env: userEnv(), cwd: dir.path }).toString().trim();
    const cache = npmGet("cache");
    const userconfig = npmGet("userconfig");
    mkdirSync(home, { recursive: true });
    env = {
      ...userEnv(),
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, ".config"),
      XDG_DATA_HOME: path.join(home, ".local", "share"),
      XDG_CACHE_HOME: path.join(home, ".cache"),
      npm_config_cache: cache,
      ...(existsSync(userconfig) ? { npm_config_userconfig: userconfig } : {}),
    };

    // npm pack: prepack builds into the copy's dist/.
    const pack = await run("npm", ["pack", "--json", "--pack-destination", dir.path], { cwd: checkout, env });
    assert.equal(pack.code, 0, show(pack));
    const [first] = JSON.parse(pack.stdout) as Packed[];
    assert.ok(first, pack.stdout);
    packed = first;
    tarball = path.join(dir.path, packed.filename);

    // npm install -g into an empty prefix. The addons' install scripts are allowed by name (npm 11
    // only warns without it; npm 12 runs none that are not).
    install = await run(
      "npm",
      [
        "install",
        "--global",
        "--prefix",
        prefix,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--allow-scripts=better-sqlite3,lzma-native,zstd-napi",
        tarball,
      ],
      { cwd: dir.path, env },
    );
  });

  after(async () => {
    for (const pid of servers) {
      try {
        process.kill(pid, "SIGTERM");
        // Gone before its data directory is removed.
        for (let i = 0; i < 100; i++) {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 50));
        }
      } catch {
        // Gone.
      }
    }
    if (npxDir) rmSync(npxDir, { recursive: true, force: true });
    dir.cleanup();
  });

  test("the tarball holds what runs and nothing else", (t) => {
    const files = packed.files.map((f) => f.path).sort();
    t.diagnostic(
      `${packed.filename}: ${(packed.size / 1000).toFixed(1)} kB packed, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${packed.entryCount} files`,
    );
    for (const f of [
      "package.json",
      "README.md",
      "LICENSE",
      "npm-shrinkwrap.json",
      "bin/nixcache",
      "dist/cli/main.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/ci/embedded.js",
      "dist/local-nix/eval-targets.nix",
      "dist/ui/index.html",
      "dist/ui/app.js",
    ])
      assert.ok(files.includes(f), `${f} is missing`);
    const unwanted = files.filter(
      (f) =>
        !/^(package\.json|README\.md|LICENSE|npm-shrinkwrap\.json|bin\/nixcache)$/.test(f) &&
        !/^dist\/(?!action\/).+\.(js|d\.ts|nix|html|css|svg)$/.test(f),
    );
    assert.deepEqual(unwanted, [], "files that do not run: sources, tests, maps, the Action's bundle, ...");
    assert.equal(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).length, 0);
    // The shrinkwrap is the lock file the tests ran with; the checkout keeps none after packing.
    const shrinkwrap = execFileSync("tar", ["-xOzf", tarball, "package/npm-shrinkwrap.json"]).toString();
    assert.equal(shrinkwrap, readFileSync(path.join(checkout, "package-lock.json"), "utf8"));
    assert.ok(!existsSync(path.join(checkout, "npm-shrinkwrap.json")), "postpack removes the shrinkwrap");
  });

  test("npm install -g into an empty prefix compiles the addons; nixcache --version runs", async (t) => {
    t.diagnostic(`npm install -g took ${(install.ms / 1000).toFixed(0)} s`);
    assert.equal(install.code, 0, show(install));
    const pkgDir = path.join(prefix, "lib", "node_modules", "nixcache");
    // Built here from the sources in the npm packages (no binary download can succeed offline).
    for (const addon of [
      "better-sqlite3/build/Release/better_sqlite3.node",
      "zstd-napi/build/Release/binding.node",
    ])
      assert.ok(existsSync(path.join(pkgDir, "node_modules", addon)), `${addon} was not built`);
    // No development dependency came along.
    for (const dev of ["typescript", "esbuild", "tsx", "@biomejs/biome", "playwright-core"])
      assert.ok(!existsSync(path.join(pkgDir, "node_modules", dev)), `${dev} is installed`);
    const v = await run(installed, ["--version"], { env });
    assert.equal(v.code, 0, show(v));
    assert.equal(
      v.stdout.trim(),
      (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version,
    );
  });

  test("the installed command runs the demo: ci on its embedded server, then Nix substitutes from it", async () => {
    assert.equal(install.code, 0, "the install failed");
    // The demo flake with a fresh greeting: store paths of this run only.
    const flake = path.join(dir.path, "demo-flake");
    mkdirSync(flake);
    for (const f of ["flake.nix", "garnix.yaml"])
      copyFileSync(path.join(ROOT, "examples", "demo-flake", f), path.join(flake, f));
    const nonce = createHash("sha256").update(dir.path).digest("hex").slice(0, 12);
    const text = readFileSync(path.join(flake, "flake.nix"), "utf8");
    assert.ok(text.includes("hello from nixcache's demo flake"));
    writeFileSync(
      path.join(flake, "flake.nix"),
      text.replace("hello from nixcache's demo flake", `hello from nixcache's demo flake (${nonce})`),
    );

    const data = path.join(dir.path, "data");
    const runEnv = { ...env, PATH: `${path.join(prefix, "bin")}:${env.PATH ?? ""}`, TMPDIR: dir.path };
    const ci = await run("nixcache", ["ci", "--flake", flake, "--data", data, "--port", "0"], {
      env: runEnv,
    });
    const state = path.join(data, "embedded-server.json");
    if (existsSync(state)) servers.push((JSON.parse(readFileSync(state, "utf8")) as { pid: number }).pid);
    assert.equal(ci.code, 0, show(ci));
    assert.match(ci.stdout, /^OK: 4 built, 0 cached/m);
    const substituter = /^ {2}substituters = (\S+)$/m.exec(ci.stdout)?.[1] ?? "";
    const key = /^ {2}trusted-public-keys = (\S+)$/m.exec(ci.stdout)?.[1] ?? "";
    assert.match(substituter, /^http:\/\/127\.0\.0\.1:\d+\/main$/);
    assert.match(key, /^main-1:/);

    // The server runs from the installed package (bin/nixcache beside its dist/).
    const [pid] = servers;
    assert.ok(pid !== undefined);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    assert.equal(cmdline[1], path.join(prefix, "lib", "node_modules", "nixcache", "bin", "nixcache"));
    assert.equal(cmdline[2], "serve");

    // As scripts/demo.sh: delete an output locally, substitute it back with plain Nix.
    const targets = await run(
      "nixcache",
      ["targets", "--flake", flake, "--system", "x86_64-linux", "--json"],
      {
        env: runEnv,
      },
    );
    assert.equal(targets.code, 0, show(targets));
    const out = (JSON.parse(targets.stdout) as { attr: string; outPath: string }[]).find(
      (x) => x.attr === "packages.x86_64-linux.hello",
    )?.outPath;
    assert.ok(out);
    const del = await run("nix-store", ["--delete", out]);
    assert.equal(del.code, 0, show(del));
    const sub = await run("nix-store", [
      "-r",
      out,
      "--option",
      "substituters",
      substituter,
      "--option",
      "trusted-public-keys",
      key,
    ]);
    assert.equal(sub.code, 0, show(sub));
    assert.doesNotMatch(sub.stderr, /^building '/m);
    assert.ok(sub.stderr.includes(`copying path '${out}' from '${substituter}'`), sub.stderr);
    assert.equal(
      execFileSync(path.join(out, "bin", "demo-hello"))
        .toString()
        .trim(),
      `hello from nixcache's demo flake (${nonce})`,
    );
  });

  test("npx runs the tarball", async () => {
    // As a user types it: `npx ./nixcache-<v>.tgz` (a relative path: npx runs an absolute one as a
    // command). npx installs into npm's cache, _npx/<hash of the spec>: the spec names this run's
    // directory, so the hash is this run's, and the directory is removed afterwards. That install
    // skips the addons' compilation (the global install above proved it); --version needs none.
    const spec = `./${path.basename(dir.path)}/${packed.filename}`;
    npxDir = path.join(
      env.npm_config_cache ?? "",
      "_npx",
      createHash("sha512").update(spec).digest("hex").slice(0, 16),
    );
    const r = await run("npx", ["--yes", "--prefer-offline", "--ignore-scripts", spec, "--version"], {
      cwd: path.dirname(dir.path),
      // No global nixcache of this machine's may stand in for the tarball's.
      env: { ...env, npm_config_prefix: path.join(dir.path, "npx-prefix") },
    });
    assert.equal(r.code, 0, show(r));
    assert.equal(
      r.stdout.trim(),
      (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version,
    );
    assert.ok(
      existsSync(path.join(npxDir, "node_modules", "nixcache", "bin", "nixcache")),
      `npx installed elsewhere than ${npxDir}`,
    );
  });
});
