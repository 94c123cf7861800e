// The README's dashboard screenshots (docs/dashboard-1280.png, docs/dashboard-375.png), from real
// runs: a server over a fresh data directory, `nixcache ci` on a copy of the demo flake with one
// package that fails to build (pushing as a CI run would, with its run named), then the page in
// Debian's chromium at 1280 and 375 px. Run: node --import tsx scripts/dashboard-screenshots.ts
// (after npm run build; needs Nix and chromium, like the tests).
import { spawn } from "node:child_process";
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
  // Asynchronous: the server runs in this process, and must answer while the command runs.
  const nixcache = (run: string, commit: string, ...args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, "bin", "nixcache"), ...args, "--flake", flake, "--commit", commit],
        {
          stdio: ["ignore", "ignore", "inherit"],
          env: {
            ...process.env,
            NIXCACHE_TOKEN: token,
            NIXCACHE_RUN: `me/app#${run}`,
            NIXCACHE_RUN_URL: `https://github.com/me/app/actions/runs/${run}`,
            NIX_CONFIG: "substituters =\nexperimental-features = nix-command flakes\nwarn-dirty = false",
          },
        },
      );
      child.on("error", reject);
      child.on("close", () => resolve());
    });
  // The build job of main, and the Cache Only check of a feature branch (a second tab).
  const [main, feature] = [
    "3f9c2e1d0b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    "8e1b44c07d2a9f3e6b5c4d3a2b1c0d9e8f7a6b5c",
  ];
  await nixcache(
    "9120433",
    feature,
    "verify",
    "--closure",
    "--cache",
    `${srv.url}/main`,
    "--branch",
    "feature/docs",
  );
  await nixcache("9120431", main, "ci", "--cache", `${srv.url}/main`, "--keep-going", "--branch", "main");
  // What the GC's side shows: retention and a quota, a pin, a run.
  await srv.meta.setCacheLimits("main", { retentionMs: 30 * 86400_000, quotaBytes: 50 * 1024 ** 3 });
  const hello = (await (await fetch(`${srv.url}/api/v1/ui/caches/main`)).json()) as {
    report: { rows: Array<{ target: string; cells: Record<string, { outPath: string | null }> }> };
  };
  const out = hello.report.rows.find((r) => r.target === "packages.hello")?.cells["x86_64-linux"]?.outPath;
  if (out)
    await srv.meta.addPin({ cache: "main", name: "release-0.3", storePath: out, hash: out.slice(11, 43) });
  await srv.meta.recordGcRun({
    cache: "main",
    endedAt: Date.now() - 40 * 60_000,
    deletedPaths: 0,
    deletedBytes: 0,
  });
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
