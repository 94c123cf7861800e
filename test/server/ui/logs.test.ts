// Build logs on the dashboard: the API answers a log's last lines (read from the end of the stored
// log, decompressed when it was stored compressed, refused to callers who may not read the cache),
// and the page shows them in a real browser (Debian's chromium) as text: terminal escapes gone,
// long lines cut and marked, a log's HTML shown and never run, the whole log a link away, a
// clear state when there is no log; the coverage matrix's cells link to their target's log.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { brotliCompressSync, gzipSync } from "node:zlib";
import type { Browser } from "playwright-core";
import { compressor } from "../../../src/codec/compression.js";
import { mintToken } from "../../../src/server/auth/tokens.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import type { LogTail, ReportUpload } from "../../../src/ui-api/types.js";
import { assertOnlyFrom, launch, watchedPage } from "../../helpers/browser.js";
import { tempDir } from "../../helpers/nix.js";

const DRV = `${"a".repeat(32)}-hello-1.0.drv`;
const NO_LOG = `${"b".repeat(32)}-never-built.drv`;
const XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>";
const ESC = "\u001b";

/** 130 lines: `line 1` … `line 124`, five hostile or awkward ones, then `the end`. */
function hostileLog(): { text: string; lines: string[] } {
  const lines = Array.from({ length: 130 }, (_, i) => `line ${i + 1}`);
  lines[124] = `${ESC}[31;1mred${ESC}[0m and ${ESC}]8;;http://evil.example/${"\u0007"}a link${ESC}]8;;${"\u0007"} done`;
  lines[125] = XSS;
  lines[126] = `${"x".repeat(1000)}`;
  lines[127] = "progress 10%\rprogress 100%\r";
  lines[128] = `tab\there, bell\u0007, nul\u0000, ${ESC}(Bcharset`;
  lines[129] = "the end";
  return { text: `${lines.join("\n")}\n`, lines };
}

/** `text` compressed by nixcache's own codecs. */
async function compressed(c: "zstd" | "xz", text: string): Promise<Buffer> {
  const z = compressor(c);
  const out: Buffer[] = [];
  z.on("data", (d: Buffer) => out.push(d));
  const ended = new Promise((r) => z.on("end", r));
  z.end(text);
  await ended;
  return Buffer.concat(out);
}

let dir: ReturnType<typeof tempDir>;
let srv: RunningServer;
let write: string;
let secretWrite: string;
let secretRead: string;
let browser: Browser;

async function putLog(cache: string, drv: string, body: Buffer | string, token: string, headers = {}) {
  const r = await fetch(`${srv.url}/${cache}/log/${drv}`, {
    method: "PUT",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  assert.equal(r.status, 204, await r.text());
}

async function tail(cache: string, drv: string, token?: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${srv.url}/api/v1/ui/caches/${cache}/log/${drv}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: r.status, body: await r.json() };
}

before(async () => {
  dir = tempDir("nixcache-ui-logs-");
  srv = await startServer({ dataDir: dir.path, port: 0, upstreams: [] });
  await srv.meta.createCache({ name: "main", isPublic: true, priority: 40 });
  await srv.meta.createCache({ name: "secret", isPublic: false, priority: 40 });
  const grant = async (cache: string, perm: "read" | "write") =>
    (await mintToken(srv.meta, { kind: "cache", cache, perm, expiresAt: null })).token;
  write = await grant("main", "write");
  secretWrite = await grant("secret", "write");
  secretRead = await grant("secret", "read");
  await putLog("main", DRV, hostileLog().text, write);
  await putLog("secret", DRV, "a private line\n", secretWrite);
});

after(async () => {
  await browser?.close();
  await srv?.close();
  dir?.cleanup();
});

describe("the log API", () => {
  test("the last 100 lines, cleaned and cut; a log's page on the PUT's answer", async () => {
    const r = await tail("main", DRV);
    assert.equal(r.status, 200);
    const t = r.body as LogTail;
    const { text } = hostileLog();
    assert.equal(t.drv, DRV);
    assert.equal(t.bytes, Buffer.byteLength(text));
    assert.equal(t.encoding, null);
    assert.equal(t.earlier, true);
    assert.equal(t.cachePublic, true);
    assert.equal(t.lines.length, 100);
    assert.deepEqual(t.lines[0], { text: "line 31" });
    assert.deepEqual(t.lines.slice(-6), [
      { text: "red and a link done" },
      { text: XSS },
      { text: "x".repeat(650), cut: true },
      { text: "progress 100%" },
      { text: "tab\there, bell, nul, charset" },
      { text: "the end" },
    ]);
    const put = await fetch(`${srv.url}/main/log/${DRV}`, {
      method: "PUT",
      body: text,
      headers: { authorization: `Bearer ${write}` },
    });
    assert.equal(put.headers.get("x-nixcache-log-page"), `${srv.url}/ui/#/cache/main/log/${DRV}`);
  });

  test("a large log is read from its end; one longer than the window shows its end, marked", async () => {
    // 12 MiB in 2 million lines: the answer is its end, read without the rest.
    const big = Buffer.alloc(12 * 1024 * 1024, "y");
    let at = 0;
    let n = 0;
    while (at + 9 <= big.length) {
      const s = `L${String(n++).padStart(7, "0")}\n`;
      big.write(s, at);
      at += s.length;
    }
    const bigDrv = `${"c".repeat(32)}-big.drv`;
    await putLog("main", bigDrv, big, write);
    const t = (await tail("main", bigDrv)).body as LogTail;
    assert.equal(t.lines.length, 100);
    assert.equal(t.earlier, true);
    assert.equal(t.bytes, big.length);
    // The buffer ends in a few filler bytes after the last whole line.
    assert.match(t.lines.at(-1)?.text ?? "", /^y+$/);
    assert.equal(t.lines.at(-2)?.text, `L${String(n - 1).padStart(7, "0")}`);

    const oneLine = Buffer.alloc(3 * 1024 * 1024, "z");
    const longDrv = `${"d".repeat(32)}-one-line.drv`;
    await putLog("main", longDrv, oneLine, write);
    const l = (await tail("main", longDrv)).body as LogTail;
    assert.equal(l.lines.length, 1);
    assert.deepEqual(l.lines[0], { text: `…${"z".repeat(649)}`, cut: true });
    assert.equal(l.earlier, true);

    const emptyDrv = `${"f".repeat(32)}-empty.drv`;
    await putLog("main", emptyDrv, "", write);
    assert.deepEqual((await tail("main", emptyDrv)).body, {
      drv: emptyDrv,
      bytes: 0,
      encoding: null,
      lines: [],
      earlier: false,
      cachePublic: true,
    });
  });

  test("a log stored compressed (Content-Encoding, as Nix's log-compression) is decompressed", async () => {
    const lines = Array.from({ length: 150 }, (_, i) => `compressed ${i + 1}`);
    const text = `${lines.join("\n")}\n`;
    for (const [enc, body] of [
      ["br", brotliCompressSync(text)],
      ["gzip", gzipSync(text)],
      ["zstd", await compressed("zstd", text)],
      ["xz", await compressed("xz", text)],
    ] as const) {
      const drv = `${"g".repeat(32)}-${enc}.drv`;
      await putLog("main", drv, body, write, { "content-encoding": enc });
      const t = (await tail("main", drv)).body as LogTail;
      assert.equal(t.encoding, enc);
      assert.equal(t.bytes, body.length);
      assert.equal(t.earlier, true);
      assert.deepEqual(
        t.lines.map((l) => l.text),
        lines.slice(50),
        enc,
      );
    }
    const corrupt = `${"i".repeat(32)}-corrupt.drv`;
    await putLog("main", corrupt, "not gzip at all", write, { "content-encoding": "gzip" });
    const c = await tail("main", corrupt);
    assert.equal(c.status, 400);
    assert.match((c.body as { error: string }).error, /gzip data does not decode/);
    // A bomb: 300 MiB of one byte in 300 KiB; decoding stops at 256 MiB, with the reason.
    const bomb = `${"j".repeat(32)}-bomb.drv`;
    await putLog("main", bomb, gzipSync(Buffer.alloc(300 << 20, 0x61), { level: 1 }), write, {
      "content-encoding": "gzip",
    });
    const b = await tail("main", bomb);
    assert.equal(b.status, 413);
    assert.match((b.body as { error: string }).error, /more than 256 MiB: download the whole log/);
    const odd = `${"h".repeat(32)}-odd.drv`;
    await putLog("main", odd, "whatever", write, { "content-encoding": "bzip2" });
    const r = await tail("main", odd);
    assert.equal(r.status, 400);
    assert.match((r.body as { error: string }).error, /bzip2-compressed.*download the whole log/);
  });

  test("no log: 404 in words; a bad name: 400; a private cache's log needs a read token", async () => {
    const none = await tail("main", NO_LOG);
    assert.equal(none.status, 404);
    assert.deepEqual(none.body, { error: `no build log for ${NO_LOG} in this cache` });
    assert.equal((await tail("main", "..%2F..%2Fetc%2Fpasswd")).status, 400);
    assert.equal((await tail("secret", DRV)).status, 401, "anonymous");
    assert.equal((await tail("secret", DRV, write)).status, 401, "another cache's token");
    const ok = await tail("secret", DRV, secretRead);
    assert.equal(ok.status, 200);
    assert.deepEqual((ok.body as LogTail).lines, [{ text: "a private line" }]);
    assert.equal((ok.body as LogTail).cachePublic, false);
  });

  test("a report's drvPath reaches the matrix cell; reports without one still work", async () => {
    const target = (attr: string, extra = {}) => ({
      attr,
      system: "x86_64-linux",
      status: "missing" as const,
      outPath: null,
      missing: [],
      missingCount: 0,
      unsigned: [],
      unsignedCount: 0,
      ...extra,
    });
    const upload = (targets: ReportUpload["targets"]) =>
      fetch(`${srv.url}/api/v1/cache/main/reports`, {
        method: "POST",
        headers: { authorization: `Bearer ${write}`, "content-type": "application/json" },
        body: JSON.stringify({
          version: 1,
          kind: "ci",
          commit: null,
          branch: "logs-api",
          run: null,
          ok: false,
          targets,
        } satisfies ReportUpload),
      });
    const bad = await upload([target("packages.x86_64-linux.a", { drvPath: "/nix/store/../../etc/passwd" })]);
    assert.equal(bad.status, 400, "a drvPath must be a derivation path");
    const ok = await upload([
      target("packages.x86_64-linux.a", { drvPath: `/nix/store/${DRV}` }),
      target("packages.x86_64-linux.b"),
    ]);
    assert.equal(ok.status, 201);
    const { id } = (await ok.json()) as { id: number };
    const m = (await (await fetch(`${srv.url}/api/v1/ui/caches/main/reports/${id}`)).json()) as {
      rows: Array<{ target: string; cells: Record<string, { drvPath?: string }> }>;
    };
    assert.deepEqual(
      m.rows.map((r) => [r.target, r.cells["x86_64-linux"]?.drvPath]),
      [
        ["packages.a", `/nix/store/${DRV}`],
        ["packages.b", undefined],
      ],
    );
  });
});

describe("the log page (chromium)", () => {
  before(async () => {
    browser = await launch();
  });

  test("the tail as text: escapes stripped, long lines cut, HTML shown and never run; the whole log a link away", async () => {
    for (const width of [1280, 375]) {
      const w = await watchedPage(browser, width);
      await w.page.goto(`${srv.url}/ui/#/cache/main/log/${DRV}`);
      await w.page.waitForSelector("pre.log");
      const shown = ((await w.page.locator("pre.log").textContent()) ?? "").split("\n");
      assert.equal(shown.pop(), "", "every line ends in a newline");
      assert.equal(shown.length, 100);
      assert.equal(shown[0], "line 31");
      assert.deepEqual(shown.slice(-6), [
        "red and a link done",
        XSS,
        `${"x".repeat(650)}…`,
        "progress 100%",
        "tab\there, bell, nul, charset",
        "the end",
      ]);
      assert.equal(await w.page.locator("pre.log .cut").count(), 1, "the cut is marked");
      assert.equal(await w.page.locator("pre.log .cut").getAttribute("title"), "cut at 650 characters");
      assert.equal(
        await w.page.locator("main script, main img, pre.log a").count(),
        0,
        "the log made no element",
      );
      assert.match((await w.page.locator(".log-what").textContent()) ?? "", /^The last 100 lines of the log/);
      assert.match((await w.page.locator("h1").textContent()) ?? "", new RegExp(`Build log of ${DRV}`));
      if (width === 375) {
        const overflow = await w.page.evaluate(
          () => document.documentElement.scrollWidth - window.innerWidth,
        );
        assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
      }
      await w.screenshot(`log-${width}`);

      assert.deepEqual(w.errors, []);

      // The whole log: the cache's own `log/<drv>`, as Nix reads it.
      const link = w.page.locator("a.whole-log");
      assert.equal(await link.getAttribute("href"), `${srv.url}/main/log/${DRV}`);
      await link.click();
      await w.page.waitForURL(`${srv.url}/main/log/${DRV}`);
      const raw = (await w.page.locator("body").textContent()) ?? "";
      assert.ok(
        raw.startsWith("line 1\nline 2\n") && raw.includes(`\n${XSS}\n`) && raw.endsWith("the end\n"),
        raw,
      );
      assert.equal(await w.page.locator("script, img").count(), 0, "served as text, not HTML");

      assert.deepEqual(w.dialogs, [], "no script of the log ran");
      // (A plain-text page has the browser ask for /favicon.ico, which is not there.)
      assert.deepEqual(
        w.errors.filter((e) => !/404/.test(e)),
        [],
      );
      assertOnlyFrom(w, srv.url);
      await w.page.close();
    }
  });

  test("no log in the cache: said in words, no error", async () => {
    const w = await watchedPage(browser, 1280);
    await w.page.goto(`${srv.url}/ui/#/cache/main/log/${NO_LOG}`);
    await w.page.waitForSelector(".notice");
    assert.equal(
      (await w.page.locator(".notice").textContent())?.trim(),
      `No build log for ${NO_LOG} in this cache.`,
    );
    assert.equal(await w.page.locator("pre.log").count(), 0);
    await w.screenshot("log-missing-1280");
    assert.deepEqual(
      w.errors.filter((e) => !/404/.test(e)),
      [],
    );
    assertOnlyFrom(w, srv.url);
    await w.page.close();
  });

  test("a private cache's log: the token form first, then the log", async () => {
    const w = await watchedPage(browser, 1280);
    await w.page.goto(`${srv.url}/ui/#/cache/secret/log/${DRV}`);
    await w.page.waitForSelector("form.login");
    assert.equal(await w.page.locator("pre.log").count(), 0);
    await w.page.locator("#token").fill(secretRead);
    await w.page.locator("#token").press("Enter");
    await w.page.waitForSelector("pre.log");
    assert.equal(await w.page.locator("pre.log").textContent(), "a private line\n");
    assert.match((await w.page.locator(".log-whole").textContent()) ?? "", /this cache is private/);
    assert.ok(!w.requests.some((u) => u.includes(secretRead)), "the token never goes in a URL");
    assertOnlyFrom(w, srv.url);
    await w.page.close();
  });

  test("the coverage matrix's cell links to its target's log", async () => {
    const w = await watchedPage(browser, 1280);
    await w.page.goto(`${srv.url}/ui/#/cache/main/branch/logs-api`);
    await w.page.waitForSelector("table.matrix");
    const links = w.page.locator("table.matrix td .log-link a");
    assert.equal(await links.count(), 1, "only the target whose report named its derivation");
    assert.equal(await links.getAttribute("href"), `#/cache/main/log/${DRV}`);
    await links.click();
    await w.page.waitForSelector("pre.log");
    assert.match((await w.page.locator("h1").textContent()) ?? "", new RegExp(DRV));
    assert.deepEqual(w.dialogs, []);
    assertOnlyFrom(w, srv.url);
    await w.page.close();
  });
});
