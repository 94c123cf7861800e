// The README's dashboard screenshots (docs/dashboard-1280.png, docs/dashboard-375.png), from real
// runs: a server over a fresh data directory, `nixcache ci` on a copy of the demo flake with one
// package that fails to build (pushing as a CI run would, with its run named), then the page in
// Debian's chromium at 1280 and 375 px. Run: node --import tsx scripts/dashboard-screenshots.ts
// (after npm run build; needs Nix and chromium, like the tests).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { mintToken } from "../src/server/auth/tokens.js";
import { startServer } from "../src/server/server.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(path.join(tmpdir(), "nixcache-screens-"));
const srv = await startServer({ dataDir: path.join(work, "data"), port: 0, upstreams: [] });
try {
  await srv.meta.createCache({ name: "main", isPublic: true, priority: 40 });
  const { token } = await mintToken(srv.meta, {
    kind: "cache",
    cache: "main",
    perm: "write",
    expiresAt: null,
    description: "GitHub Actions: Nix Build Cache",
  });
  const flake = path.join(work, "flake");
  cpSync(path.join(ROOT, "examples", "demo-flake"), flake, { recursive: true });
  const nix = path.join(flake, "flake.nix");
  writeFileSync(
    nix,
    readFileSync(nix, "utf8").replace(
      "inherit (linux) greeting hello;",
      'inherit (linux) greeting hello; manual = mk "x86_64-linux" "demo-manual" "exit 1" [ ];',
    ),
  );
  const commit = "3f9c2e1d0b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
  const nixcache = (run: string, ...args: string[]) => {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "bin", "nixcache"), ...args, "--flake", flake, "--commit", commit, "--branch", "main"],
      {
        encoding: "utf8",
        env: {
          ...process.env,
          NIXCACHE_TOKEN: token,
          NIXCACHE_RUN: `me/app#${run}`,
          NIXCACHE_RUN_URL: `https://github.com/me/app/actions/runs/${run}`,
          NIX_CONFIG: "substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false",
        },
      },
    );
    process.stderr.write(r.stderr);
  };
  // The build job, then the Cache Only check of the same commit (as the generated workflows run them).
  nixcache("9120431", "ci", "--cache", `${srv.url}/main`, "--keep-going");
  nixcache("9120433", "verify", "--closure", "--cache", `${srv.url}/main`);
  const browser = await chromium.launch({
    executablePath: process.env.NIXCACHE_TEST_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    for (const width of [1280, 375]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.goto(`${srv.url}/ui/#/cache/main`);
      await page.waitForSelector("table.pushes");
      await page.locator("td.st-missing details summary").first().click();
      const file = path.join(ROOT, "docs", `dashboard-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      process.stdout.write(`${file}\n`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
} finally {
  await srv.close();
  rmSync(work, { recursive: true, force: true });
}
