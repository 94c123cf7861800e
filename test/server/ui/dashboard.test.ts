// The dashboard in a real browser (Debian's chromium): after a real `nixcache ci` run its
// coverage matrix says exactly what CI found; a private cache shows the token form and no data;
// hostile names render as text and run nothing; the page asks nothing of any other server; it is
// usable by keyboard and at 375 px. Screenshots land in test-output/ui/ for a person to look at.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { mintToken } from "../../../src/server/auth/tokens.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import type { ReportUpload } from "../../../src/ui-api/types.js";
import { writeFlake } from "../../fixtures/flakes/make-flake.js";
import { assertOnlyFrom, launch, watchedPage } from "../../helpers/browser.js";
import { runCli } from "../../helpers/cli.js";
import { requireNix, tempDir } from "../../helpers/nix.js";
import { makeUpload, narInfoText } from "../../helpers/uploads.js";

const XSS = "<img src=x onerror=alert(1)>";
const COMMIT = "5eb1c0ffee5eb1c0ffee5eb1c0ffee5eb1c0ffee";

let browser: Browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

interface MatrixRow {
  target: string;
  cells: Array<{ cls: string; status: string }>;
}

async function matrix(page: import("playwright-core").Page): Promise<MatrixRow[]> {
  await page.waitForSelector("table.matrix");
  return page.$$eval("table.matrix tbody tr", (rows) =>
    rows.map((r) => ({
      target: r.querySelector("th")?.textContent ?? "",
      cells: [...r.querySelectorAll("td")].map((td) => ({
        cls: td.className,
        status: td.querySelector(".status")?.textContent?.trim() ?? "",
      })),
    })),
  );
}

describe("after a real nixcache ci run (embedded server)", () => {
  test("the matrix shows exactly the failed target as missing, the rest ok; names are text", async () => {
    requireNix();
    const work = tempDir("nixcache-ui-ci-");
    const env = { XDG_DATA_HOME: path.join(work.path, "xdg"), NIXCACHE_DATA: "" };
    let pid: number | undefined;
    try {
      const f = path.join(work.path, "flake");
      await writeFlake(
        f,
        `let g = leaf "x86_64-linux" "ui-greeting"; in {
          packages.x86_64-linux.hello = mk "x86_64-linux" "ui-hello" "echo \${g} > $out";
          packages.x86_64-linux.greeting = g;
          packages.x86_64-linux.broken = mk "x86_64-linux" "ui-broken" "echo no; exit 1";
          packages.x86_64-linux."${XSS}" = leaf "x86_64-linux" "ui-xss";
          checks.x86_64-linux.runs = leaf "x86_64-linux" "ui-check";
        }`,
        `builds:\n  include:\n    - "*.x86_64-linux.*"\n`,
      );
      const res = await runCli(
        ["ci", "--flake", f, "--port", "0", "--keep-going", "--json", "--commit", COMMIT, "--branch", "main"],
        { env },
      );
      assert.equal(res.code, 1, "one target fails to build");
      const out = JSON.parse(res.stdout) as {
        targets: Array<{ attr: string; status: string; verify: string; logUrl?: string }>;
        embedded: { cacheUrl: string; pid: number };
      };
      pid = out.embedded.pid;
      assert.match(
        res.stderr,
        /nixcache: report uploaded: http:\/\/127\.0\.0\.1:\d+\/ui\/#\/cache\/main\/report\/\d+/,
      );
      assert.equal(out.targets.find((t) => t.attr === "packages.x86_64-linux.broken")?.status, "failed");
      const origin = new URL(out.embedded.cacheUrl).origin;
      const brokenLog = out.targets.find((t) => t.attr === "packages.x86_64-linux.broken")?.logUrl ?? "";
      assert.match(brokenLog, new RegExp(`^${origin}/ui/#/cache/main/log/[0-9a-z]{32}-ui-broken\\.drv$`));

      for (const width of [1280, 375]) {
        const w = await watchedPage(browser, width);
        await w.page.goto(`${origin}/ui/#/cache/main`);
        const rows = await matrix(w.page);
        assert.deepEqual(
          rows.map((r) => r.target),
          ["checks.runs", `packages."${XSS}"`, "packages.broken", "packages.greeting", "packages.hello"],
        );
        for (const r of rows) {
          assert.equal(r.cells.length, 1, "one system");
          const expected = r.target === "packages.broken" ? "missing" : "ok";
          assert.match(r.cells[0]?.cls ?? "", new RegExp(`\\bst-${expected}\\b`), r.target);
          assert.equal(r.cells[0]?.status, `${expected === "ok" ? "✓" : "✗"} ${expected}`, r.target);
        }
        // The missing cell lists (and links to) what is missing: the broken output itself.
        const link = w.page.locator("td.st-missing details a");
        await w.page.locator("td.st-missing details summary").click();
        assert.match((await link.first().textContent()) ?? "", /-ui-broken$/);
        assert.equal(await w.page.locator("main img").count(), 0, "the attribute name made no element");
        assert.match((await w.page.locator(".report-line").textContent()) ?? "", /5eb1c0ffee5e on main/);
        // Pushes were counted for the embedded token; its description is for the cache's writers
        // only (issue 30, item 11), and this page has no token.
        await w.page.waitForSelector("table.pushes");
        const pushes = (await w.page.locator("table.pushes").textContent()) ?? "";
        assert.match(pushes, /a write token/);
        assert.doesNotMatch(pushes, /nixcache ci \(embedded default\)/);
        if (width === 375) {
          const overflow = await w.page.evaluate(
            () => document.documentElement.scrollWidth - window.innerWidth,
          );
          assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
        }
        await w.screenshot(`ci-matrix-${width}`);

        await link.first().click();
        await w.page.waitForSelector("h1.path-title");
        assert.match((await w.page.locator("main").textContent()) ?? "", /not in this cache/);
        await w.screenshot(`path-missing-${width}`);

        // Every cell of a target built here links to its build log; the failed one's says why.
        await w.page.goto(`${origin}/ui/#/cache/main`);
        await w.page.waitForSelector("table.matrix");
        assert.equal(await w.page.locator("table.matrix td .log-link a").count(), 5);
        await w.page.locator("td.st-missing .log-link a").click();
        await w.page.waitForSelector("pre.log");
        assert.equal(w.page.url(), brokenLog);
        assert.equal(await w.page.locator("pre.log").textContent(), "no\n");
        assert.deepEqual(w.dialogs, []);
        assert.deepEqual(w.errors, []);
        assertOnlyFrom(w, origin);
        await w.page.close();
      }
    } finally {
      if (pid) process.kill(pid, "SIGTERM");
      work.cleanup();
    }
  });
});

describe("a private cache", () => {
  let dir: ReturnType<typeof tempDir>;
  let srv: RunningServer;
  let readToken: string;
  let writeToken: string;

  before(async () => {
    dir = tempDir("nixcache-ui-private-");
    srv = await startServer({ dataDir: dir.path, port: 0, upstreams: [] });
    await srv.meta.createCache({ name: "secret", isPublic: false, priority: 40 });
    readToken = (await mintToken(srv.meta, { kind: "cache", cache: "secret", perm: "read", expiresAt: null }))
      .token;
    writeToken = (
      await mintToken(srv.meta, {
        kind: "cache",
        cache: "secret",
        perm: "write",
        expiresAt: null,
        description: `CI ${XSS} <script>alert(3)</script>`,
      })
    ).token;
    const u = await makeUpload(`tool-${"x".repeat(4)}`);
    const auth = { authorization: `Bearer ${writeToken}` };
    await fetch(`${srv.url}/secret/${u.url}`, { method: "PUT", body: new Uint8Array(u.file), headers: auth });
    await fetch(`${srv.url}/secret/${u.hash}.narinfo`, {
      method: "PUT",
      body: narInfoText(u.narinfo),
      headers: { ...auth, "x-nixcache-run": `run ${XSS}` },
    });
    await srv.meta.setCacheLimits("secret", { retentionMs: 14 * 86400_000, quotaBytes: 10 * 1024 ** 3 });
    await srv.meta.recordGcRun({
      cache: "secret",
      endedAt: Date.now() - 3600_000,
      deletedPaths: 12,
      deletedBytes: 5 << 20,
    });
    await srv.meta.addPin({ cache: "secret", name: `v1 ${XSS}`, storePath: u.storePath, hash: u.hash });
    const report: ReportUpload = {
      version: 1,
      kind: "verify",
      commit: COMMIT,
      branch: `feature/${XSS}`,
      run: { id: "me/app#7", url: "javascript:alert(4)" },
      ok: true,
      targets: [
        {
          attr: `packages.x86_64-linux."${XSS}"`,
          system: "x86_64-linux",
          status: "ok",
          outPath: u.storePath,
          missing: [],
          missingCount: 0,
          unsigned: [],
          unsignedCount: 0,
        },
      ],
    };
    const bad = await fetch(`${srv.url}/api/v1/cache/secret/reports`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(report),
    });
    assert.equal(bad.status, 400, "a javascript: run URL is refused");
    const ok = await fetch(`${srv.url}/api/v1/cache/secret/reports`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ ...report, run: { id: `me/app#7 ${XSS}`, url: null } }),
    });
    assert.equal(ok.status, 201, await ok.text());
  });

  after(async () => {
    await srv.close();
    dir.cleanup();
  });

  test("without a token: the token form and no data; with one: the cache, the token never shown", async () => {
    const w = await watchedPage(browser, 1280);
    await w.page.goto(`${srv.url}/ui/#/cache/secret`);
    await w.page.waitForSelector("form.login");
    assert.equal(await w.page.locator("h1").textContent(), "A token is needed");
    assert.equal(await w.page.locator("table").count(), 0, "no data without a token");
    const text = (await w.page.locator("main").textContent()) ?? "";
    assert.doesNotMatch(text, /tool-xxxx|feature|Signing key/);
    await w.screenshot("private-login-1280");

    // Keyboard only: Tab to the token field, type, Enter. A write token: the pushing token's
    // description is for the cache's writers only (issue 30, item 11).
    await w.page.locator("#token").focus();
    await w.page.keyboard.type(writeToken);
    await w.page.keyboard.press("Enter");
    await w.page.waitForSelector("table.matrix");
    assert.equal(await w.page.locator("#token").count(), 0);
    const html = await w.page.content();
    assert.ok(!html.includes(readToken) && !html.includes(writeToken), "no token in the DOM");
    assert.equal(await w.page.evaluate(() => sessionStorage.getItem("nixcache.token")), writeToken);
    assert.equal(await w.page.evaluate(() => localStorage.length), 0);
    assert.ok(!w.requests.some((u) => u.includes(writeToken)), "the token never goes in a URL");

    const rows = await matrix(w.page);
    assert.deepEqual(
      rows.map((r) => r.target),
      [`packages."${XSS}"`],
    );
    await w.page.waitForSelector("table.pushes");
    const pushes = (await w.page.locator("table.pushes").textContent()) ?? "";
    assert.ok(pushes.includes(`CI ${XSS} <script>alert(3)</script>`), "the description as text");
    assert.ok(pushes.includes(`run ${XSS}`));
    assert.ok((await w.page.locator(".tabs, .report-line").first().textContent())?.includes(XSS));
    const facts = (await w.page.locator("dl.facts").textContent()) ?? "";
    assert.match(facts, /of 10 GiB/, "the quota");
    assert.match(facts, /14 days after the last push or fetch/);
    assert.match(facts, /freed 5\.0 MiB \(12 paths\)/);
    assert.ok(
      ((await w.page.locator("section[aria-labelledby=pins]").textContent()) ?? "").includes(`v1 ${XSS}`),
    );
    assert.equal(await w.page.locator("main img, main script").count(), 0);
    await w.screenshot("private-signed-in-1280");

    // Keyboard: after a reload (the token stays for the tab) the skip link comes first and leads
    // into the content; the lookup form works with Enter.
    await w.page.reload();
    await w.page.waitForSelector("table.matrix");
    await w.page.keyboard.press("Tab");
    assert.equal(await w.page.evaluate(() => document.activeElement?.textContent), "Skip to the content");
    await w.page.keyboard.press("Enter");
    await w.page.keyboard.press("Tab");
    assert.equal(
      await w.page.evaluate(() => document.activeElement?.closest("main") !== null),
      true,
      "the next stop is in the content",
    );
    await w.page.locator("#path-q").fill("/nix/store/00000000000000000000000000000000-nothing");
    await w.page.locator("#path-q").press("Enter");
    await w.page.waitForSelector("h1.path-title");
    assert.match((await w.page.locator("main").textContent()) ?? "", /not in this cache/);
    assert.equal(
      await w.page.evaluate(() => document.activeElement?.tagName),
      "H1",
      "focus follows the view",
    );

    // Signing out forgets the token: the cache is refused again.
    await w.page.getByRole("button", { name: "Sign out" }).click();
    await w.page.waitForSelector("form.login");
    assert.equal(await w.page.evaluate(() => sessionStorage.getItem("nixcache.token")), null);

    assert.deepEqual(w.dialogs, [], "no attacker's script ran");
    assert.deepEqual(
      w.errors.filter((e) => !/401/.test(e)),
      [],
    );
    assertOnlyFrom(w, srv.url);
    await w.page.close();
  });

  test("the path page lists the realisations naming the path: derivation, output, served or pending", async () => {
    const auth = { authorization: `Bearer ${writeToken}`, "content-type": "application/json" };
    const u = await makeUpload("ca-shown");
    const base = u.storePath.slice("/nix/store/".length);
    const id = `sha256:${"5a".repeat(32)}!out`;
    const drv = `${u.hash}-ca-shown.drv`;
    const put = async (p: string, body: string) => {
      const r = await fetch(`${srv.url}/secret/${p}`, { method: "PUT", body, headers: auth });
      assert.equal(r.status, 204, await r.text());
    };
    // Stored before the path: pending until it is.
    await put(`build-trace-v2/${drv}/dev.doi`, JSON.stringify({ outPath: base, signatures: [] }));
    const w = await watchedPage(browser, 1280);
    await w.page.addInitScript((t) => {
      if (location.protocol === "http:") sessionStorage.setItem("nixcache.token", t);
    }, readToken);
    const show = async () => {
      // A fresh load each time (the same URL again would not navigate).
      await w.page.goto("about:blank");
      await w.page.goto(`${srv.url}/ui/#/cache/secret/path/${encodeURIComponent(u.storePath)}`);
      await w.page.waitForSelector("h1.path-title");
      return w.page
        .locator("tr.realisation")
        .evaluateAll((rows) =>
          rows.map((r) => Array.from(r.children, (c) => c.textContent ?? "").slice(0, 4)),
        );
    };
    assert.deepEqual(await show(), [[drv, "dev", "build trace (Nix ≥ 2.35)", "pending"]]);
    await fetch(`${srv.url}/secret/${u.url}`, {
      method: "PUT",
      body: new Uint8Array(u.file),
      headers: { authorization: auth.authorization },
    });
    await fetch(`${srv.url}/secret/${u.hash}.narinfo`, {
      method: "PUT",
      body: narInfoText(u.narinfo),
      headers: { authorization: auth.authorization },
    });
    await put(`realisations/${id}.doi`, JSON.stringify({ id, outPath: base, signatures: [] }));
    assert.deepEqual(await show(), [
      [drv, "dev", "build trace (Nix ≥ 2.35)", "served"],
      [id.slice(0, -"!out".length), "out", "realisation (Nix ≤ 2.34)", "served"],
    ]);
    assert.match((await w.page.locator("main").textContent()) ?? "", /Realisations \(2\)/);
    await w.screenshot("path-realisations-1280");
    assert.deepEqual(w.errors, []);
    assertOnlyFrom(w, srv.url);
    await w.page.close();
  });

  test("the list of caches: anonymous sees no private cache, and is told a token shows more", async () => {
    const w = await watchedPage(browser, 375);
    await w.page.goto(`${srv.url}/ui/`);
    await w.page.waitForSelector(".notice");
    assert.match((await w.page.locator("main").textContent()) ?? "", /no public cache here/i);
    assert.doesNotMatch((await w.page.locator("main").textContent()) ?? "", /secret/);
    await w.screenshot("caches-anonymous-375");
    assertOnlyFrom(w, srv.url);
    await w.page.close();
  });
});

// Issue 30, item 5: the cache view held every branch; now the newest few dozen, and a search.
describe("a cache with many branches", () => {
  let dir: ReturnType<typeof tempDir>;
  let srv: RunningServer;

  before(async () => {
    dir = tempDir("nixcache-ui-branches-");
    srv = await startServer({ dataDir: dir.path, port: 0, upstreams: [] });
    await srv.meta.createCache({ name: "busy", isPublic: true, priority: 40 });
    for (const branch of ["main", ...Array.from({ length: 40 }, (_, i) => `feature/${i}`)])
      await srv.meta.insertReport({
        cache: "busy",
        kind: "ci",
        commit: COMMIT,
        branch,
        runId: null,
        runUrl: null,
        tokenId: null,
        ok: true,
        counts: "{}",
        targets: "[]",
      });
  });

  after(async () => {
    await srv.close();
    dir.cleanup();
  });

  test("tabs for the newest branches and the one shown; the others are found by name", async () => {
    const w = await watchedPage(browser, 1280);
    await w.page.goto(`${srv.url}/ui/#/cache/busy`);
    await w.page.waitForSelector("nav.tabs");
    const tabs = await w.page.locator("nav[aria-label=Branches] a").allTextContents();
    assert.equal(tabs.length, 31, "the 30 newest, and main (older) which the page shows");
    assert.match(tabs[0] ?? "", /^feature\/39 /);
    assert.match(tabs.at(-1) ?? "", /^main /);
    assert.match((await w.page.locator(".report-line").textContent()) ?? "", / on main/);

    await w.page.locator("#branch-q").fill("feature/1");
    await w.page.locator("#branch-q").press("Enter");
    await w.page.waitForSelector("nav[aria-label='Branches found']");
    const found = await w.page.locator("nav[aria-label='Branches found'] a").allTextContents();
    assert.deepEqual(
      found.map((t) => t.replace(/ .*$/, "")),
      [
        "feature/19",
        "feature/18",
        "feature/17",
        "feature/16",
        "feature/15",
        "feature/14",
        "feature/13",
        "feature/12",
        "feature/11",
        "feature/10",
        "feature/1",
      ],
    );
    await w.page.locator("nav[aria-label='Branches found'] a", { hasText: "feature/12" }).click();
    await w.page.waitForFunction(() =>
      document.querySelector(".report-line")?.textContent?.includes(" on feature/12"),
    );
    const shown = await w.page.locator("nav[aria-label=Branches] a[aria-current=page]").textContent();
    assert.match(shown ?? "", /^feature\/12 /, "its tab is shown, current");
    await w.screenshot("many-branches-1280");
    assert.deepEqual(w.errors, []);
    assertOnlyFrom(w, srv.url);
    await w.page.close();
  });
});
