// nixcache verify vs the shell loop it replaces, and closure verification vs `nix path-info -r`,
// in the same run against the same local HTTP cache. Usage: bench/verify/run.sh (see RESULTS.md).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openCache } from "../../src/caches/open.js";
import { hashBytes, parseHash } from "../../src/nix/hash.js";
import { formatNarInfo, type NarInfo, signNarInfo } from "../../src/nix/narinfo.js";
import { formatPublicKey, generateSecretKey, parsePublicKey, publicKeyOf } from "../../src/nix/signing.js";
import { parseStorePath } from "../../src/nix/store-path.js";
import { resolveTargets } from "../../src/targets/resolve.js";
import { verifyTargets } from "../../src/verify/verify.js";

/** The same work as the CLI through the library, without Node start-up and module loading. */
async function inProcess(flake: string, url: string, closure: boolean, configFile?: string): Promise<number> {
  const t0 = performance.now();
  const opts: Parameters<typeof resolveTargets>[0] = { flake };
  if (configFile) opts.configFile = configFile;
  const { targets } = await resolveTargets(opts);
  const cache = await openCache(url);
  const r = await verifyTargets(targets, {
    caches: [cache],
    trustedKeys: [parsePublicKey(TRUSTED)],
    closure,
  });
  await cache.close();
  if (!r.complete) throw new Error("in-process verify found the cache incomplete");
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(`  in-process (library, no start-up): ${s.toFixed(2)} s\n`);
  return s;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin/nixcache");
const OUT = path.join(ROOT, "bench/out/verify");
const key = generateSecretKey("bench-cache-1");
const TRUSTED = formatPublicKey(publicKeyOf(key));

const sh = (cmd: string, args: string[], opts: { cwd?: string } = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", cwd: opts.cwd, maxBuffer: 1 << 28 });

function time(label: string, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stderr.write(`  ${label}: ${s.toFixed(2)} s\n`);
  return s;
}

/** An openclaw-like flake: packages and checks for x86_64-linux and aarch64-darwin. */
async function writeFlake(dir: string, n: number): Promise<void> {
  // n/2 per system: ceil(n/4) packages, the rest checks (14 → 4 packages + 3 checks each).
  const pkgs = Math.ceil(n / 4);
  const checks = n / 2 - pkgs;
  await mkdir(dir, { recursive: true });
  const names = (prefix: string) =>
    Array.from({ length: prefix === "pkg" ? pkgs : checks }, (_, i) => `${prefix}${i}`);
  const set = (system: string, prefix: string) =>
    `{ ${names(prefix)
      .map((n) => `${n} = mk "${system}" "${n}";`)
      .join(" ")} }`;
  const flake = `{
  outputs = { self }: let
    lib = system: derivation { name = "openclaw-lib"; inherit system; builder = "/bin/sh";
      args = [ "-c" "echo lib > $out" ]; PATH = "/usr/bin:/bin"; };
    mk = system: name: derivation { inherit name system; builder = "/bin/sh";
      args = [ "-c" "echo ${"$"}{lib system} > $out" ]; PATH = "/usr/bin:/bin"; };
  in {
    packages.x86_64-linux = ${set("x86_64-linux", "pkg")};
    packages.aarch64-darwin = ${set("aarch64-darwin", "pkg")};
    checks.x86_64-linux = ${set("x86_64-linux", "check")};
    checks.aarch64-darwin = ${set("aarch64-darwin", "check")};
    legacyPackages.x86_64-linux.openclaw-lib = lib "x86_64-linux";
    legacyPackages.aarch64-darwin.openclaw-lib = lib "aarch64-darwin";
    apps.x86_64-linux.default = { type = "app"; program = "/bin/sh"; };
  };
}
`;
  await writeFile(path.join(dir, "flake.nix"), flake);
  await writeFile(
    path.join(dir, "garnix.yaml"),
    "builds:\n  include:\n    - '*.x86_64-linux.*'\n    - '*.aarch64-darwin.*'\n",
  );
}

async function writeNarInfo(cache: string, ni: NarInfo): Promise<void> {
  await writeFile(
    path.join(cache, `${parseStorePath(ni.storePath).hash}.narinfo`),
    formatNarInfo(signNarInfo(ni, key)),
  );
}

/** Signed narinfos for each target output, referencing its system's lib (built or not: verify reads narinfos). */
async function publishTargets(
  cache: string,
  targets: Array<{ outPath: string; system: string }>,
  lib: Record<string, string>,
) {
  for (const t of targets) {
    await writeNarInfo(cache, {
      storePath: t.outPath,
      url: `nar/${parseStorePath(t.outPath).hash}.nar`,
      compression: "none",
      narHash: hashBytes("sha256", t.outPath),
      narSize: 120,
      references: [path.basename(lib[t.system] as string)],
      sigs: [],
      extra: [],
    });
  }
  for (const l of Object.values(lib)) {
    await writeNarInfo(cache, {
      storePath: l,
      url: `nar/${parseStorePath(l).hash}.nar`,
      compression: "none",
      narHash: hashBytes("sha256", l),
      narSize: 64,
      references: [],
      sigs: [],
      extra: [],
    });
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Serves a cache directory over HTTP: Debian's nginx when installed (a real, fast static cache, so
 * the clients are what is measured), else a small Node static server.
 */
async function startServer(dir: string): Promise<{ url: string; stop: () => void }> {
  if (existsSync("/usr/sbin/nginx")) {
    const port = await freePort();
    const conf = path.join(OUT, `nginx-${port}`);
    await mkdir(conf, { recursive: true });
    await writeFile(
      path.join(conf, "nginx.conf"),
      `worker_processes 1; daemon off; pid ${conf}/nginx.pid; error_log ${conf}/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${conf}/body; proxy_temp_path ${conf}/proxy;
  fastcgi_temp_path ${conf}/fcgi; uwsgi_temp_path ${conf}/uwsgi; scgi_temp_path ${conf}/scgi;
  keepalive_requests 100000;
  server { listen 127.0.0.1:${port}; location /cache/ { alias ${dir}/; } } }
`,
    );
    const child = spawn("/usr/sbin/nginx", ["-p", conf, "-c", path.join(conf, "nginx.conf")], {
      stdio: "inherit",
    });
    const url = `http://127.0.0.1:${port}/cache`;
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`${url}/nix-cache-info`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { url, stop: () => child.kill() };
  }
  const child = spawn("node", ["--import", "tsx", path.join(ROOT, "bench/verify/static-server.ts"), dir], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve) => {
    child.stdout.once("data", (d) => resolve({ url: String(d).trim(), stop: () => child.kill() }));
  });
}

async function benchTargets(n: number, results: string[]): Promise<void> {
  const dir = path.join(OUT, `flake-${n}`);
  const cache = path.join(OUT, `cache-${n}`);
  await rm(cache, { recursive: true, force: true });
  await mkdir(cache, { recursive: true });
  await writeFile(
    path.join(cache, "nix-cache-info"),
    "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n",
  );
  await writeFlake(dir, n);
  const targets = JSON.parse(sh(BIN, ["targets", "--json", "--flake", `path:${dir}`])) as Array<{
    attr: string;
    outPath: string;
    system: string;
  }>;
  if (targets.length !== n) throw new Error(`expected ${n} targets, got ${targets.length}`);
  if (n <= 14) {
    // The small layout is built for real: linux outputs and their lib land in the cache via nix copy.
    const linux = targets.filter((t) => t.system === "x86_64-linux");
    sh("nix", ["build", "--no-link", ...linux.map((t) => `path:${dir}#${t.attr}`)]);
  }
  const lib = JSON.parse(
    sh("nix", [
      "eval",
      "--json",
      `path:${dir}#legacyPackages`,
      "--apply",
      "builtins.mapAttrs (s: v: v.openclaw-lib.outPath)",
    ]),
  ) as Record<string, string>;
  await publishTargets(cache, targets, lib);
  const srv = await startServer(cache);
  try {
    process.stderr.write(`${n} targets (cache ${srv.url}):\n`);
    const ours = time("nixcache verify", () => {
      const r = spawnSync(
        BIN,
        ["verify", "--flake", `path:${dir}`, "--cache", srv.url, "--trusted-key", TRUSTED],
        {
          encoding: "utf8",
        },
      );
      if (r.status !== 0) throw new Error(`nixcache verify failed: ${r.stdout}${r.stderr}`);
    });
    const loop = targets
      .map(
        (t) =>
          `out=$(nix eval --raw "path:${dir}#${t.attr}.outPath") && nix path-info --store "${srv.url}" "$out" >/dev/null`,
      )
      .join("\n");
    const theirs = time("shell loop (nix eval + nix path-info per target)", () => {
      sh("bash", ["-euc", loop]);
    });
    const lib = await inProcess(`path:${dir}`, srv.url, false);
    results.push(
      `| ${n} targets | ${ours.toFixed(2)} s | ${lib.toFixed(2)} s | ${theirs.toFixed(2)} s | ${(theirs / ours).toFixed(1)}× | ${(theirs / lib).toFixed(1)}× |`,
    );
  } finally {
    srv.stop();
  }
}

async function benchClosure(results: string[]): Promise<void> {
  const fixture = path.join(ROOT, "bench/out/fixture");
  const root = sh("bash", [path.join(ROOT, "bench/fixture/make.sh"), fixture]).trim();
  const system = sh("nix", ["eval", "--impure", "--raw", "--expr", "builtins.currentSystem"]);
  const cache = path.join(OUT, "cache-closure");
  await rm(cache, { recursive: true, force: true });
  await mkdir(cache, { recursive: true });
  await writeFile(
    path.join(cache, "nix-cache-info"),
    "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n",
  );
  // narinfos from the local store's metadata: verification reads narinfos, never NARs.
  const raw = JSON.parse(sh("nix", ["path-info", "--json", "-r", root])) as Array<{
    path: string;
    narHash: string;
    narSize: number;
    references: string[];
  }>;
  for (const p of raw) {
    await writeNarInfo(cache, {
      storePath: p.path,
      url: `nar/${parseStorePath(p.path).hash}.nar`,
      compression: "none",
      narHash: parseHash(p.narHash),
      narSize: p.narSize,
      references: p.references.map((r) => path.basename(r)).sort(),
      sigs: [],
      extra: [],
    });
  }
  const cfg = path.join(OUT, "closure.yaml");
  await writeFile(cfg, `builds:\n  include: ['packages.${system}.default']\n`);
  const srv = await startServer(cache);
  try {
    process.stderr.write(`closure of ${raw.length} paths (cache ${srv.url}):\n`);
    // Both sides get the root store path and walk its closure through the cache's narinfos.
    const ours = time("nixcache verify --closure --path ROOT", () => {
      const r = spawnSync(BIN, ["verify", "--closure", "--path", root, "--cache", srv.url, "--json"], {
        encoding: "utf8",
      });
      if (r.status !== 0) throw new Error(`nixcache verify --closure failed: ${r.stdout}${r.stderr}`);
      const size = JSON.parse(r.stdout).targets[0].closureSize;
      if (size !== raw.length) throw new Error(`closure ${size} != ${raw.length}`);
    });
    // A fresh CI machine has no narinfo disk cache: make Nix ask the cache, as we do.
    const theirs = time("nix path-info -r --store URL ROOT", () => {
      const args = ["path-info", "-r", "--store", srv.url, root];
      args.push("--option", "narinfo-cache-positive-ttl", "0", "--option", "narinfo-cache-negative-ttl", "0");
      const n = sh("nix", args).trim().split("\n").length;
      if (n !== raw.length) throw new Error(`nix path-info listed ${n}`);
    });
    const lib = await inProcess(`path:${fixture}`, srv.url, true, cfg);
    results.push(
      `| closure, ${raw.length} paths | ${ours.toFixed(2)} s | ${lib.toFixed(2)} s | ${theirs.toFixed(2)} s | ${(theirs / ours).toFixed(1)}× | ${(theirs / lib).toFixed(1)}× |`,
    );
  } finally {
    srv.stop();
  }
}

await mkdir(OUT, { recursive: true });
const results: string[] = [];
await benchTargets(14, results);
await benchTargets(500, results);
await benchClosure(results);
const startup = time("nixcache --help (Node start-up + module loading)", () => {
  sh(BIN, ["--help"]);
});
process.stdout.write(
  "| case | nixcache verify (CLI) | same, in-process | peer | ratio (CLI) | ratio (in-process) |\n" +
    `|---|---|---|---|---|---|\n${results.join("\n")}\n\nCLI start-up alone (\`nixcache --help\`): ${startup.toFixed(2)} s\n`,
);
