// The flake (flake.nix, nix/): nixpkgs cannot be reached here, so the package and the NixOS module
// are never evaluated or built in this suite. What is checked: every .nix file parses
// (`nix-instantiate --parse`); nix/npm-lock.nix, builtins only, is evaluated on the real
// package-lock.json and each tarball URL it gives importNpmLock is the one npm itself fetched,
// with the same integrity hash; the module's typed settings are `nixcache serve` flags; the unit
// it writes runs `serve --config`. docs/guide/install.md ("For Nix users") says the same.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../../helpers/cli.js";
import { requireNix, tempDir } from "../../helpers/nix.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** flake.nix and everything under nix/. */
function nixFiles(): string[] {
  const dir = path.join(ROOT, "nix");
  return [
    path.join(ROOT, "flake.nix"),
    ...readdirSync(dir)
      .filter((f) => f.endsWith(".nix"))
      .map((f) => path.join(dir, f)),
  ];
}

function parse(file: string): { ok: boolean; stderr: string } {
  try {
    execFileSync("nix-instantiate", ["--parse", file], { stdio: ["ignore", "pipe", "pipe"] });
    return { ok: true, stderr: "" };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: Buffer }).stderr ?? e) };
  }
}

/** Every `make-fetch-happen` entry of npm's cache index: URL → integrity. */
function npmCacheTarballs(cacheDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else
        for (const line of readFileSync(p, "utf8").split("\n")) {
          const json = line.slice(line.indexOf("\t") + 1);
          if (!json.startsWith("{")) continue;
          try {
            const e = JSON.parse(json) as { key?: string; integrity?: string };
            const m = /^make-fetch-happen:request-cache:(.+\.tgz)$/.exec(e.key ?? "");
            if (m?.[1] && e.integrity) out.set(m[1], e.integrity);
          } catch {
            // A torn line of a concurrent write: npm skips those too.
          }
        }
    }
  };
  walk(path.join(cacheDir, "_cacache", "index-v5"));
  return out;
}

describe("the flake's Nix files", () => {
  test("flake.nix and nix/*.nix parse (nix-instantiate --parse); a broken file does not", () => {
    requireNix();
    const files = nixFiles();
    assert.deepEqual(files.map((f) => path.relative(ROOT, f)).sort(), [
      "flake.nix",
      "nix/module.nix",
      "nix/npm-lock.nix",
      "nix/package.nix",
    ]);
    for (const f of files) {
      const r = parse(f);
      assert.ok(r.ok, `${path.relative(ROOT, f)}: ${r.stderr}`);
    }
    const dir = tempDir("nixcache-nix-parse-");
    try {
      const broken = path.join(dir.path, "broken.nix");
      writeFileSync(broken, "{ services.nixcache = { enable = ; }; }\n");
      assert.equal(parse(broken).ok, false);
    } finally {
      dir.cleanup();
    }
  });

  test("nix/npm-lock.nix gives importNpmLock the tarball URL npm fetched, for every installed package", () => {
    requireNix();
    const expr = `let l = import ${path.join(ROOT, "nix", "npm-lock.nix")} ${path.join(ROOT, "package-lock.json")}; in l.packages`;
    const packages = JSON.parse(
      execFileSync("nix-instantiate", ["--eval", "--strict", "--json", "-E", expr], {
        maxBuffer: 1 << 26,
      }).toString(),
    ) as Record<string, { version?: string; integrity?: string; resolved?: string }>;
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, object>;
    };
    assert.deepEqual(Object.keys(packages).sort(), Object.keys(lock.packages).sort());

    const cacheDir = execFileSync("npm", ["config", "get", "cache"]).toString().trim();
    const fetched = npmCacheTarballs(cacheDir);
    let checked = 0;
    for (const [key, entry] of Object.entries(packages)) {
      if (key === "") continue;
      assert.ok(entry.resolved, `${key} has no URL`);
      assert.ok(entry.integrity, `${key} has no integrity`);
      // What `npm ci` installed here it fetched from that URL: the same bytes Nix's fetchurl checks.
      if (!existsSync(path.join(ROOT, key, "package.json"))) continue;
      assert.equal(fetched.get(entry.resolved), entry.integrity, `${key}: ${entry.resolved}`);
      checked++;
    }
    // The platform packages of other systems are not installed here; the rest are.
    assert.ok(checked > 100, `only ${checked} packages checked`);
  });

  test("the module's typed settings are `nixcache serve` flags, and its unit runs `serve --config`", async () => {
    const help = await runCli(["serve", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    const flags = new Set([...help.stdout.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
    const module = readFileSync(path.join(ROOT, "nix", "module.nix"), "utf8");
    const block = module.slice(
      module.indexOf("freeformType = toml.type;"),
      module.indexOf("credentialFiles = mkOption"),
    );
    const typed = [...block.matchAll(/^ {10}([a-z][a-z0-9-]*) = (?:mkOption|nullable)/gm)].map((m) => m[1]);
    assert.deepEqual(typed, [
      "listen",
      "data",
      "db",
      "storage",
      "public-url",
      "upstream",
      "oidc-issuer",
      "gc-interval",
      "metrics-token-file",
    ]);
    for (const k of typed) assert.ok(flags.has(k), `settings.${k} is not a serve flag`);
    assert.match(module, /ExecStart = "\$\{lib\.getExe cfg\.package\} serve --config \$\{configFile\}";/);
    assert.match(module, /Type = "notify";/);
    assert.match(module, /DynamicUser = true;/);
    assert.match(module, /StateDirectory = "nixcache";/);
  });
});
