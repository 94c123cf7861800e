// A real browser for the dashboard tests: Debian's chromium (scripts/setup-browser.sh installs it)
// driven by playwright-core, which never downloads a browser of its own. Each page records every
// request it makes and every dialog it opens, so a test can say "nothing left this server" and
// "no script of an attacker ran"; screenshots go to test-output/ui/ for people to look at.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.NIXCACHE_TEST_CHROMIUM || "/usr/bin/chromium";
export const SCREENSHOTS = fileURLToPath(new URL("../../test-output/ui/", import.meta.url));

/** Fails (never skips) without a browser, as tests that need Nix fail without Nix. */
export function requireBrowser(): void {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run scripts/setup-browser.sh (apt-get install -y chromium) as root`,
  );
}

export async function launch(): Promise<Browser> {
  requireBrowser();
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
}

export interface Watched {
  page: Page;
  /** Every URL the page requested. */
  requests: string[];
  /** Messages of dialogs (alert, confirm, prompt) the page opened; each was dismissed. */
  dialogs: string[];
  /** Uncaught errors and console errors. */
  errors: string[];
  screenshot(name: string): Promise<string>;
}

export async function watchedPage(browser: Browser, width: number, height = 900): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width, height } });
  const w: Watched = {
    page,
    requests: [],
    dialogs: [],
    errors: [],
    async screenshot(name) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
  };
  page.on("request", (r) => w.requests.push(r.url()));
  page.on("dialog", (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => w.errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") w.errors.push(m.text());
  });
  return w;
}

/** Every request went to `origin` (the server under test). */
export function assertOnlyFrom(w: Watched, origin: string): void {
  const elsewhere = w.requests.filter((u) => new URL(u).origin !== origin);
  assert.deepEqual(elsewhere, [], `requests outside ${origin}`);
  assert.ok(w.requests.length > 0, "the page made requests");
}
