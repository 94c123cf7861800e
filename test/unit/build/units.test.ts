// The pure pieces of `nixcache build`: Nix's internal-json log stream, `nix show-config --json`
// in the shapes Nix versions print, attribute paths quoted as Nix's installable syntax needs, and
// build logs as the job log (folded groups) and the step summary (collapsed blocks) show them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  buildJson,
  formatBuildMarkdown,
  formatFailedLogs,
  formatLogGroups,
} from "../../../src/build/render.js";
import type { BuildReport, BuildTarget } from "../../../src/build/types.js";
import type { CiReport } from "../../../src/ci/ci.js";
import { formatCiMarkdown } from "../../../src/ci/render.js";
import { buildableSystems, parseNixConfigJson } from "../../../src/local-nix/nix-config.js";
import { InternalJsonParser, type RealiseEvent } from "../../../src/local-nix/realise.js";
import { attrName, attrText } from "../../../src/targets/select.js";
import { cleanLogLine, shownLine } from "../../../src/ui-api/log-text.js";

// Recorded from `nix-store --realise --log-format internal-json` of Nix 2.8 (one build that
// prints a line and succeeds, one that fails with exit code 3).
const RECORDED = [
  '@nix {"action":"start","id":1,"level":6,"text":"querying info about missing paths","type":0}',
  '@nix {"action":"stop","id":1}',
  '@nix {"action":"start","id":2,"level":0,"text":"","type":104}',
  '@nix {"action":"start","fields":["/nix/store/4cq027i3b8gq3a0mzrr05y0bayal4q58-ta.drv","",1,1],"id":3,"level":3,"text":"building \'/nix/store/4cq027i3b8gq3a0mzrr05y0bayal4q58-ta.drv\'","type":105}',
  '@nix {"action":"result","fields":["hello-a"],"id":3,"type":101}',
  '@nix {"action":"result","fields":[1,2,0,0],"id":2,"type":105}',
  '@nix {"action":"result","fields":[1,2,0,0],"id":2,"type":105}',
  '@nix {"action":"start","fields":["/nix/store/c2ml56qj1al4sssd4p5ml9x3jk16wkil-tb.drv","",1,1],"id":4,"level":3,"text":"","type":105}',
  '@nix {"action":"result","fields":["\\u001b[31mred\\u001b[0m line"],"id":4,"type":101}',
  '@nix {"action":"result","fields":[1,2,0,1],"id":2,"type":105}',
  '@nix {"action":"msg","column":null,"file":null,"level":0,"line":null,"msg":"\\u001b[31;1merror:\\u001b[0m builder for \'\\u001b[35;1m/nix/store/c2ml56qj1al4sssd4p5ml9x3jk16wkil-tb.drv\\u001b[0m\' failed with exit code 3"}',
  "not json at all",
  "@nix {truncated",
];

describe("Nix's internal-json stream", () => {
  test("builds, their log lines, completion ticks and errors come out as events", () => {
    const events: RealiseEvent[] = [];
    const p = new InternalJsonParser((e) => events.push(e));
    for (const l of RECORDED) p.line(l);
    assert.deepEqual(
      events.filter((e) => e.type !== "tick"),
      [
        { type: "build-started", drv: "/nix/store/4cq027i3b8gq3a0mzrr05y0bayal4q58-ta.drv" },
        { type: "log", drv: "/nix/store/4cq027i3b8gq3a0mzrr05y0bayal4q58-ta.drv", line: "hello-a" },
        { type: "build-started", drv: "/nix/store/c2ml56qj1al4sssd4p5ml9x3jk16wkil-tb.drv" },
        { type: "log", drv: "/nix/store/c2ml56qj1al4sssd4p5ml9x3jk16wkil-tb.drv", line: "red line" },
        {
          type: "error",
          message: "builder for '/nix/store/c2ml56qj1al4sssd4p5ml9x3jk16wkil-tb.drv' failed with exit code 3",
        },
      ],
    );
    // A tick per stop and per increase of a done/failed counter; a repeated count is no tick.
    assert.equal(events.filter((e) => e.type === "tick").length, 3);
  });
});

describe("nix show-config --json", () => {
  test("Nix 2.8 and newer: settings as {value, ...} objects", () => {
    const c = parseNixConfigJson(
      JSON.stringify({
        system: { value: "x86_64-linux", defaultValue: "x86_64-linux", description: "..." },
        "extra-platforms": { value: ["i686-linux"], defaultValue: [] },
        substituters: { value: ["https://cache.nixos.org/"] },
        "trusted-public-keys": { value: ["cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="] },
      }),
    );
    assert.equal(c.system, "x86_64-linux");
    assert.deepEqual(buildableSystems(c), ["x86_64-linux", "i686-linux"]);
    assert.deepEqual(c.substituters, ["https://cache.nixos.org/"]);
    assert.equal(c.trustedPublicKeys.length, 1);
  });
  test("bare values and space-separated strings", () => {
    const c = parseNixConfigJson(
      JSON.stringify({ system: "aarch64-darwin", "extra-platforms": "x86_64-darwin", substituters: "" }),
    );
    assert.deepEqual(buildableSystems(c), ["aarch64-darwin", "x86_64-darwin"]);
    assert.deepEqual(c.substituters, []);
  });
  test("malformed output is refused with what was wrong", () => {
    assert.throws(() => parseNixConfigJson("{"), /invalid JSON/);
    assert.throws(() => parseNixConfigJson("{}"), /which system/);
    assert.throws(() => parseNixConfigJson("[1]"), /unexpected nix show-config JSON/);
  });
});

describe("attribute paths", () => {
  test("names that are not identifiers are quoted as Nix's installable syntax needs", () => {
    assert.equal(attrText(["packages", "x86_64-linux", "hello"]), "packages.x86_64-linux.hello");
    assert.equal(attrText(["packages", "x86_64-linux", "a.b"]), 'packages.x86_64-linux."a.b"');
    assert.equal(attrName("has space"), '"has space"');
    assert.equal(attrName("<x>"), '"<x>"');
    assert.equal(attrName('say "hi"'), '"say \\"hi\\""');
    assert.equal(attrName("1st"), '"1st"');
    assert.equal(attrName("foo'bar-baz_2"), "foo'bar-baz_2");
  });
});

const ESC = "\u001b";
const LOG_URL = "http://cache.example/ui/#/cache/main/log/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-broken.drv";

function logReport(): BuildReport {
  const failedTail = [
    ...Array.from({ length: 95 }, (_, i) => `step ${i + 1}`),
    `${ESC}[1;31merror:${ESC}[0m it broke`,
    "```",
    "</details><script>alert(1)</script>",
    "::error::pwned",
    "y".repeat(700),
  ];
  const target = (
    attr: string,
    status: BuildTarget["status"],
    extra: Partial<BuildTarget> = {},
  ): BuildTarget => ({
    attr,
    system: "x86_64-linux",
    status,
    outPath: null,
    push: {},
    log: null,
    ...extra,
  });
  return {
    targets: [
      target("packages.x86_64-linux.ok", "built", {
        log: "/logs/ok.log",
        logTail: ["compiling", "::endgroup::"],
      }),
      target('packages.x86_64-linux."<img src=x>"', "failed", {
        error: "builder failed with exit code 2",
        log: "/logs/broken.log",
        logTail: failedTail,
        logUrl: LOG_URL,
      }),
      target("packages.x86_64-linux.cached", "cached"),
      target("packages.x86_64-linux.bad", "eval-failed", { error: "does not evaluate" }),
    ],
    summary: {
      total: 4,
      cached: 1,
      built: 1,
      failed: 1,
      notBuiltHere: 0,
      evalFailed: 1,
      systems: ["x86_64-linux"],
      caches: [],
      upstreams: [],
      logDir: "/logs",
      durationMs: 1,
      ok: false,
    },
  };
}

describe("build logs in the step summary and the job log", () => {
  test("each failed target's last lines in a collapsed block no line of the log can break", () => {
    const md = formatBuildMarkdown(logReport());
    const start = md.indexOf("<details>");
    assert.ok(start > 0, md);
    const block = md.slice(start);
    assert.equal(md.match(/<details>/g)?.length, 1, "the failed target only");
    const lines = block.split("\n");
    assert.equal(
      lines[0],
      "<details><summary>❌ <code>packages.x86_64-linux.&#34;&#60;img src=x&#62;&#34;</code> (x86_64-linux): the last 100 lines of its build log</summary>",
    );
    assert.equal(lines[1], "", "a blank line: the block's content is Markdown");
    // A fence longer than any run of backticks in the log: the log's ``` cannot close it.
    assert.equal(lines[2], "````text");
    assert.equal(lines[3], "step 1");
    assert.deepEqual(lines.slice(98, 105), [
      "error: it broke",
      "```",
      "</details><script>alert(1)</script>",
      "::error::pwned",
      `${"y".repeat(650)}…`,
      "````",
      "",
    ]);
    assert.deepEqual(lines.slice(105, 109), [`[The whole log](${LOG_URL})`, "", "</details>", ""]);
    // `nixcache ci`'s summary carries the same block.
    const ci = {
      build: logReport(),
      targets: [],
      verify: { counts: { ok: 0, total: 0 } },
      summary: {},
    } as unknown as CiReport;
    assert.ok(formatCiMarkdown(ci).endsWith(block), "ci's step summary has the block too");
  });

  test("the job log folds each built or failed target's log in a group, its lines never run as commands", () => {
    const out = formatLogGroups(logReport(), "TOKEN-123");
    const lines = out.split("\n");
    assert.deepEqual(lines.slice(0, 9), [
      "::group::packages.x86_64-linux.ok (x86_64-linux): built",
      "::stop-commands::TOKEN-123",
      "compiling",
      "::endgroup::",
      "",
      "log file: /logs/ok.log",
      "::TOKEN-123::",
      "::endgroup::",
      '::group::packages.x86_64-linux."<img src=x>" (x86_64-linux): FAILED: builder failed with exit code 2',
    ]);
    assert.equal(lines[9], "::stop-commands::TOKEN-123");
    assert.equal(lines[10], "step 1");
    assert.equal(lines[108], "::error::pwned");
    assert.equal(lines[110], "");
    assert.equal(lines[111], `whole log: ${LOG_URL}`);
    assert.equal(lines[112], "log file: /logs/broken.log");
    assert.deepEqual(lines.slice(113), ["::TOKEN-123::", "::endgroup::", ""]);
    // Every line the log gave sits between the stop and the resume of commands.
    const stops = lines.filter((l) => l.startsWith("::stop-commands::")).length;
    assert.equal(stops, 2);
    assert.doesNotMatch(formatLogGroups(logReport()), /TOKEN-123/, "a random token by default");
  });

  test("the terminal shows a failed target's last 25 lines and where its whole log is", () => {
    const out = formatFailedLogs(logReport()).split("\n");
    assert.equal(
      out[0],
      'nixcache: packages.x86_64-linux."<img src=x>" (x86_64-linux) failed: builder failed with exit code 2',
    );
    assert.equal(out[1], "  full log: /logs/broken.log");
    assert.equal(out[2], `  on the dashboard: ${LOG_URL}`);
    assert.equal(out.filter((l) => l.startsWith("  | ")).length, 25);
    assert.equal(out[3], "  | step 76");
  });

  test("--json has logUrl where a log reached a nixcache server, and no other new field", () => {
    const j = buildJson(logReport()) as { targets: Array<Record<string, unknown>> };
    assert.equal(j.targets[1]?.logUrl, LOG_URL);
    assert.deepEqual(Object.keys(j.targets[0] ?? {}), ["attr", "system", "status", "outPath", "push", "log"]);
  });

  test("log lines as a terminal shows them, cut to 650 characters", () => {
    assert.equal(cleanLogLine(`${ESC}[38;5;196mred${ESC}[m plain`), "red plain");
    assert.equal(cleanLogLine(`${ESC}]0;window title\u0007after`), "after");
    assert.equal(cleanLogLine(`${ESC}]8;;https://x.example/${ESC}\\link${ESC}]8;;${ESC}\\`), "link");
    assert.equal(cleanLogLine(`\u009b31mcsi8${ESC}[?25h`), "csi8");
    assert.equal(cleanLogLine(`unterminated ${ESC}]0;title`), "unterminated ");
    assert.equal(cleanLogLine("a\u0000b\u0008c\td\u007f"), "abc\td");
    assert.equal(cleanLogLine("50%\r100%\r\r"), "100%");
    assert.deepEqual(shownLine("é".repeat(651)), { text: "é".repeat(650), cut: true });
    assert.deepEqual(shownLine("😀".repeat(650)), { text: "😀".repeat(650) }, "characters, not UTF-16 units");
  });
});
