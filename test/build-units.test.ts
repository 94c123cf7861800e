// The pure pieces of `nixcache build`: Nix's internal-json log stream, `nix show-config --json`
// in the shapes Nix versions print, and attribute paths quoted as Nix's installable syntax needs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildableSystems, parseNixConfigJson } from "../src/local-store/nix-config.js";
import { InternalJsonParser, type RealiseEvent } from "../src/local-store/realise.js";
import { attrName, attrText } from "../src/targets/select.js";

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
