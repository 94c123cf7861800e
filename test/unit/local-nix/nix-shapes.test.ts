// Conformance of the Nix adapter (src/local-nix) to every shape Nix versions print: each fixture
// under test/fixtures/nix-versions/<implementation>-<version>/ is named with its version, command
// and source in that directory's FIXTURES.json, and parses to the result its `expect` names — the
// same result for the same store objects, whichever version printed them. Also: which form each
// version is asked in, the doctor's words per version, and that no module outside
// src/local-nix spawns a Nix program.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  metaCacheFindings,
  negativeCacheFindings,
  unknownSettingFindings,
} from "../../../src/doctor/nix-checks.js";
import { parseDerivationShowJson } from "../../../src/local-nix/derivation-show.js";
import { deprecationWarnings } from "../../../src/local-nix/nix-command.js";
import {
  type NixConfig,
  parseNixConfigJson,
  parseStoreTrustJson,
} from "../../../src/local-nix/nix-config.js";
import {
  configShowForms,
  derivationShowForms,
  type NixVersion,
  narinfoDiskCacheName,
  narinfoMetaTtl,
  parseNixVersion,
  pathInfoJsonForms,
  storeTrustForms,
} from "../../../src/local-nix/nix-version.js";
import { type PathInfo, parsePathInfoJson } from "../../../src/local-nix/path-info.js";
import { failedBuilds, InternalJsonParser, type RealiseEvent } from "../../../src/local-nix/realise.js";
import { parseHash } from "../../../src/nix/hash.js";
import { parseRealisationDocument, realisationName } from "../../../src/server/ingest/realisation.js";

const ROOT = fileURLToPath(new URL("../../fixtures/nix-versions/", import.meta.url));

interface Manifest {
  implementation: string;
  version: string;
  fixtures: Record<
    string,
    { parser: string; expect: string; command: string; shape: string; sources: unknown[] }
  >;
}

const manifests = readdirSync(ROOT)
  .sort()
  .map((dir) => ({
    dir,
    m: JSON.parse(readFileSync(path.join(ROOT, dir, "FIXTURES.json"), "utf8")) as Manifest,
  }));

const read = (dir: string, file: string) => readFileSync(path.join(ROOT, dir, file), "utf8");

const SIG_A = `asdf:${"A".repeat(86)}==`;
const SIG_Q = `qwer:${"A".repeat(86)}==`;

/** Nix's own test object (src/libstore-tests/data/path-info/json-*\/impure.json), one result in every shape. */
const CANONICAL_PATH_INFO = {
  infos: [
    {
      path: "/nix/store/fvqsvk65d38p8qqir371ii0hyqxvjcw6-bash-5.2-p15",
      narHash: parseHash("sha256-FePFYIlMuycIXPZbWi7LGEiMmZSX9FMbaQenWBzm1Sc="),
      narSize: 34878,
      references: [
        "/nix/store/g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar",
        "/nix/store/n5wkd9frr45pa74if5gpz9j7mifg27fh-foo",
      ],
      deriver: "/nix/store/g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar.drv",
      signatures: [SIG_A, SIG_Q],
      ca: "fixed:r:sha256:1lr187v6dck1rjh2j6svpikcfz53wyl3qrlcbb405zlh13x0khhh",
    },
  ] satisfies PathInfo[],
  invalid: ["/nix/store/wffw7l0alvs3iw94cbgi1gmmbmw99sqb-home-manager-path"],
};

const RECORDED_2_8_PATH_INFO = {
  infos: [
    {
      path: "/nix/store/h26a8l649n74svx5a3b7nyrprp9aaag5-probe-a",
      narHash: parseHash("sha256-EFUdrtf6Rn0LWIJufrmg8q99aT3jGfLvd1//zaJEufY="),
      narSize: 120,
      references: [],
      deriver: "/nix/store/rpc0mpcjcy11vlknwbyqqd185m23n1vi-probe-a.drv",
      signatures: [],
    },
    {
      path: "/nix/store/ym0v49wgs3wi5zlnrrzgglfphgc0l59r-hello.txt",
      narHash: parseHash("sha256-sLJWlnqceAvBgGU/QS4jkaaJyE/YOrdneymdIomrSBs="),
      narSize: 136,
      references: [],
      signatures: [],
      ca: "fixed:r:sha256:06s8mf4j5799gdkvffnq9z48k9li4cp42gv5h30hny4wgab5dcmh",
    },
  ] satisfies PathInfo[],
  invalid: ["/nix/store/00000000000000000000000000000000-nope"],
};

const CANONICAL_DERIVATION = [
  {
    path: "/nix/store/8az8bk2bffhg643sqykr3j8axhcnjb44-advanced-attributes-defaults.drv",
    name: "advanced-attributes-defaults",
    system: "my-system",
    outputs: { out: "/nix/store/1qsc7svv43m4dw2prh6mvyf7cai5czji-advanced-attributes-defaults" },
  },
];

const RECORDED_2_8_DERIVATIONS = [
  {
    path: "/nix/store/drvhmapd2di8rkxbrqk0q40m95pvai7x-probe-fixed.drv",
    name: "probe-fixed",
    system: "x86_64-linux",
    outputs: { out: "/nix/store/r9v8bmkij4v3y10vmm5wmf57wgjl39v7-probe-fixed" },
  },
  {
    path: "/nix/store/rpc0mpcjcy11vlknwbyqqd185m23n1vi-probe-a.drv",
    name: "probe-a",
    system: "x86_64-linux",
    outputs: { out: "/nix/store/h26a8l649n74svx5a3b7nyrprp9aaag5-probe-a" },
  },
];

const FAIL_DRV = "/nix/store/n7wbi9h6anmrlaclh5mxgpsnc1pahn8n-probe-fail.drv";

function realiseEvents(text: string): { events: RealiseEvent[]; failed: Map<string, string> } {
  const events: RealiseEvent[] = [];
  const errors: string[] = [];
  const p = new InternalJsonParser((e) => {
    events.push(e);
    if (e.type === "error") errors.push(e.message);
  });
  for (const l of text.split("\n")) if (l) p.line(l);
  return { events, failed: failedBuilds(errors) };
}

const byPath = <T extends { path: string }>(xs: T[]) => [...xs].sort((a, b) => a.path.localeCompare(b.path));

const recorded28Config = () => parseNixConfigJson(read("nix-2.8.0", "show-config.json"));

/** What each `expect` means, checked against a fixture's text. */
const EXPECT: Record<string, (text: string) => void> = {
  "canonical-path-info": (t) => {
    const r = parsePathInfoJson(t);
    assert.deepEqual({ infos: r.infos, invalid: r.invalid }, CANONICAL_PATH_INFO);
  },
  "recorded-2.8-path-info": (t) => {
    const r = parsePathInfoJson(t);
    assert.deepEqual({ infos: byPath(r.infos), invalid: r.invalid }, RECORDED_2_8_PATH_INFO);
  },
  "recorded-2.8-config": (t) => {
    const c: NixConfig = parseNixConfigJson(t);
    const want = recorded28Config();
    assert.equal(c.system, "x86_64-linux");
    assert.deepEqual(
      [c.system, c.extraPlatforms, c.substituters, c.trustedPublicKeys],
      [want.system, want.extraPlatforms, want.substituters, want.trustedPublicKeys],
    );
    for (const k of Object.keys(want.raw)) assert.deepEqual(c.raw[k], want.raw[k], k);
  },
  "canonical-derivation": (t) =>
    assert.deepEqual(parseDerivationShowJson(t).derivations, CANONICAL_DERIVATION),
  "recorded-2.8-derivations": (t) =>
    assert.deepEqual(byPath(parseDerivationShowJson(t).derivations), RECORDED_2_8_DERIVATIONS),
  "recorded-2.8-failed-build": (t) => {
    const { events, failed } = realiseEvents(t);
    assert.deepEqual(
      events.filter((e) => e.type === "build-started" || e.type === "log"),
      [
        { type: "build-started", drv: FAIL_DRV },
        { type: "log", drv: FAIL_DRV, line: "oops" },
      ],
    );
    assert.ok(events.some((e) => e.type === "tick"));
    assert.deepEqual([...failed], [[FAIL_DRV, `builder for '${FAIL_DRV}' failed with exit code 3`]]);
  },
  "dependency-failed-2.35": (t) => {
    // The top derivation's "1 dependency failed" is not its own failure: only the builder's is.
    assert.deepEqual(
      [...realiseEvents(t).failed],
      [[FAIL_DRV, `builder for '${FAIL_DRV}' failed with exit code 3`]],
    );
  },
  trusted: (t) => assert.equal(parseStoreTrustJson(t), true),
  untrusted: (t) => assert.equal(parseStoreTrustJson(t), false),
  "one-deprecation": (t) => assert.equal(deprecationWarnings(t).length, 1, t),
  // What the server accepts under the name Nix uploads it with (server/ingest/realisation.ts).
  "build-trace-v2-entry": (t) => {
    const name = realisationName("build-trace-v2", {
      drv: "g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar.drv",
      file: "foo.doi",
    });
    assert.deepEqual(name, { key: "g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar.drv/foo", output: "foo" });
    assert.deepEqual(parseRealisationDocument("build-trace-v2", name?.key ?? "", t), {
      outPath: "g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-foo.drv",
    });
  },
  "recorded-2.8-realisation": (t) => {
    const id = "sha256:b4aea638f145c6b06ca3ca6408a2e13bea898098c89a3ee956cb9478d01b7294!out";
    const name = realisationName("realisations", { file: `${id}.doi` });
    assert.deepEqual(name, { key: id, output: "out" });
    assert.deepEqual(parseRealisationDocument("realisations", id, t), {
      outPath: "pqdc5b99dp625dlr95wd0a28j67ps9rc-ca-test",
    });
  },
};

function expectVersion(expect: string, text: string): void {
  const [impl, ver, nixVer] = expect.split(" ");
  const v = parseNixVersion(text);
  assert.ok(v, text);
  assert.equal(v.implementation, impl);
  if (impl === "determinate") {
    assert.equal(v.determinate?.join("."), ver);
    assert.equal(v.version.join("."), nixVer);
  } else assert.equal(v.version.join("."), ver);
}

describe("every recorded shape parses to the same result", () => {
  for (const { dir, m } of manifests) {
    for (const [file, f] of Object.entries(m.fixtures)) {
      test(`${dir}/${file}: ${f.command} (${f.shape})`, () => {
        assert.ok(f.sources.length > 0, "a fixture names its source");
        assert.equal(dir, `${m.implementation}-${m.version}`);
        const text = read(dir, file);
        if (f.parser === "version") return expectVersion(f.expect, text);
        const check = EXPECT[f.expect];
        assert.ok(check, `no expectation ${f.expect}`);
        check(text);
      });
    }
  }

  test("each shape of path-info is there: array, keyed, wrapped (format 2 and 3)", () => {
    const shapes = new Set<string>();
    for (const { dir, m } of manifests)
      for (const [file, f] of Object.entries(m.fixtures))
        if (f.parser === "path-info") shapes.add(parsePathInfoJson(read(dir, file)).shape);
    assert.deepEqual([...shapes].sort(), ["array", "keyed", "wrapped"]);
    assert.deepEqual(
      [
        ...new Set(
          ["nix-2.31.0", "nix-2.32.0", "nix-2.33.0"].map(
            (d) => parseDerivationShowJson(read(d, "derivation-show.json")).shape,
          ),
        ),
      ],
      ["keyed-by-path", "keyed-by-base-name", "wrapped"],
    );
  });
});

const V = (text: string) => parseNixVersion(text) as NixVersion;
const nix = (s: string) => V(`nix (Nix) ${s}`);
const LIX = V("nix (Lix, like Nix) 2.93.0");
const DET_233 = V("nix (Determinate Nix 3.15.1) 2.33.0");
const DET_233_LATER = V("nix (Determinate Nix 3.16.0) 2.33.3");

describe("which form each version is asked in", () => {
  test("nix --version of each implementation, pre-releases included; anything else is unknown", () => {
    assert.deepEqual(nix("2.36.0pre20260822_88b09c6").version, [2, 36, 0]);
    assert.deepEqual(V("nix (Lix, like Nix) 2.96.0-dev-pre20260821-049cc4e").version, [2, 96, 0]);
    assert.deepEqual(V("nix-store (Nix) 2.8.0").version, [2, 8, 0]);
    assert.deepEqual(DET_233.determinate, [3, 15, 1]);
    for (const odd of ["nix (Nix) unstable", "nix (Tvix) 0.1", "", "command not found"])
      assert.equal(parseNixVersion(odd), undefined, odd);
  });

  test("path-info: --json-format from 2.33 (3 from 2.35), never on Lix; unknown tries 2 then plain", () => {
    assert.deepEqual(pathInfoJsonForms(nix("2.8.0")), [["--json"]]);
    assert.deepEqual(pathInfoJsonForms(nix("2.32.4")), [["--json"]]);
    assert.deepEqual(pathInfoJsonForms(nix("2.33.0")), [["--json", "--json-format", "2"]]);
    assert.deepEqual(pathInfoJsonForms(DET_233), [["--json", "--json-format", "2"]]);
    assert.deepEqual(pathInfoJsonForms(nix("2.35.2")), [["--json", "--json-format", "3"]]);
    assert.deepEqual(pathInfoJsonForms(LIX), [["--json"]]);
    assert.deepEqual(pathInfoJsonForms(undefined), [["--json", "--json-format", "2"], ["--json"]]);
  });

  test("config show from 2.20 and on Lix; derivation show from 2.15; store info from 2.20, ping 2.15-2.19 and Lix", () => {
    assert.deepEqual(configShowForms(nix("2.19.7")), [["show-config"]]);
    assert.deepEqual(configShowForms(nix("2.20.0")), [["config", "show"]]);
    assert.deepEqual(configShowForms(LIX), [["config", "show"]]);
    assert.deepEqual(configShowForms(undefined), [["config", "show"], ["show-config"]]);
    assert.deepEqual(derivationShowForms(nix("2.8.0")), [["show-derivation"]]);
    assert.deepEqual(derivationShowForms(nix("2.15.0")), [["derivation", "show"]]);
    assert.equal(storeTrustForms(nix("2.8.0")), null);
    assert.deepEqual(storeTrustForms(nix("2.15.0")), [["store", "ping"]]);
    assert.deepEqual(storeTrustForms(nix("2.20.0")), [["store", "info"]]);
    assert.deepEqual(storeTrustForms(LIX), [["store", "ping"]]);
  });

  test("the narinfo disk cache file and how long nix-cache-info is kept, by version", () => {
    const name = (v: NixVersion) => narinfoDiskCacheName(v);
    assert.equal(name(nix("2.8.0")), "binary-cache-v6.sqlite");
    assert.equal(name(nix("2.30.2")), "binary-cache-v6.sqlite");
    assert.equal(name(nix("2.31.0")), "binary-cache-v7.sqlite");
    assert.equal(name(nix("2.34.8")), "binary-cache-v7.sqlite");
    assert.equal(name(nix("2.35.0")), "binary-cache-v8.sqlite");
    assert.equal(name(LIX), "binary-cache-v6.sqlite");
    assert.equal(name(DET_233), "binary-cache-v7.sqlite");
    assert.equal(name(DET_233_LATER), "binary-cache-v8.sqlite");
    assert.equal(name(V("nix (Determinate Nix 3.8.5) 2.30.2")), "binary-cache-v6.sqlite");
    assert.equal(name(V("nix (Determinate Nix 3.8.6) 2.30.2")), "binary-cache-v7.sqlite");
    assert.deepEqual(narinfoMetaTtl(nix("2.8.0")), { kind: "forever" });
    assert.deepEqual(narinfoMetaTtl(nix("2.10.0")), { kind: "fixed", seconds: 604800 });
    assert.deepEqual(narinfoMetaTtl(LIX), { kind: "fixed", seconds: 604800 });
    assert.deepEqual(narinfoMetaTtl(nix("2.34.0")), { kind: "setting" });
  });
});

describe("the doctor's version differences, in this version's words", () => {
  const facts = (v: NixVersion, file: string) => ({
    version: v,
    text: `Nix ${v.version.join(".")}`,
    diskFile: file,
  });

  test("a nixConfig setting this Nix does not know; which Nix brought it, when known", () => {
    const f = unknownSettingFindings(
      ["extra-substituters", "narinfo-cache-meta-ttl", "lix-only-setting"],
      new Set(["substituters", "narinfo-cache-negative-ttl"]),
      facts(nix("2.19.7"), "x"),
    );
    assert.equal(f.length, 2);
    assert.match(
      f[0]?.fix ?? "",
      /sets `narinfo-cache-meta-ttl`, which Nix 2\.19\.7 does not know.*needs Nix 2\.34 or later/,
    );
    assert.match(f[1]?.fix ?? "", /`lix-only-setting`.*upgrade Nix on this machine, or drop the setting/);
  });

  test("a cached nix-cache-info that no longer holds: store info --refresh from 2.34, the row deleted before", () => {
    const one = {
      cache: "http://127.0.0.1:1/main",
      cached: { timestamp: 1_700_000_000, storeDir: "/nix/store", wantMassQuery: true, priority: 41 },
      live: { storeDir: "/nix/store", wantMassQuery: true, priority: 30 },
    };
    const stale = [one];
    const at = (v: NixVersion, file: string) =>
      metaCacheFindings(stale, undefined, facts(v, file))[0]?.fix ?? "";
    assert.match(
      at(nix("2.35.2"), "/c/binary-cache-v8.sqlite"),
      /Priority 41, now 30.*narinfo-cache-meta-ttl = 604800 s.*nix --extra-experimental-features nix-command store info --refresh --store http:\/\/127\.0\.0\.1:1\/main$/,
    );
    assert.match(
      at(nix("2.24.0"), "/c/binary-cache-v6.sqlite"),
      /7 days, fixed in this version.*sqlite3 \/c\/binary-cache-v6\.sqlite "DELETE FROM BinaryCaches WHERE url = 'http:\/\/127\.0\.0\.1:1\/main'"$/,
    );
    assert.match(
      at(nix("2.8.0"), "/c/binary-cache-v6.sqlite"),
      /keeps it forever \(Nix before 2\.10 never refreshes/,
    );
    assert.match(at(DET_233_LATER, "/c/binary-cache-v8.sqlite"), /: sqlite3 \/c\/binary-cache-v8\.sqlite/);
    assert.deepEqual(
      metaCacheFindings(
        [{ ...one, live: { ...one.live, priority: 41 } }],
        undefined,
        facts(nix("2.35.2"), "f"),
      ),
      [],
    );
  });

  test("a push hidden by a negative entry: the refresh command and this version's file", () => {
    const hidden = [
      {
        cache: "http://c/main",
        storePath: "/nix/store/h26a8l649n74svx5a3b7nyrprp9aaag5-probe-a",
        missingSince: 1_700_000_000,
      },
    ];
    const fix =
      negativeCacheFindings(hidden, 3600, facts(nix("2.33.3"), "/x/binary-cache-v7.sqlite"))[0]?.fix ?? "";
    assert.match(fix, /remembers 1 path as missing from http:\/\/c\/main that it serves now/);
    assert.match(fix, /until 2023-11-14T23:13:20\.000Z/);
    assert.match(fix, /path-info --refresh --store http:\/\/c\/main \/nix\/store\/h26a8/);
    assert.match(fix, /sqlite3 \/x\/binary-cache-v7\.sqlite "DELETE FROM NARs WHERE present = 0/);
  });
});

describe("one adapter for every Nix invocation", () => {
  test("no module outside src/local-nix spawns nix, nix-store or nix-instantiate", () => {
    const src = fileURLToPath(new URL("../../../src/", import.meta.url));
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith(".ts") && !p.includes(`${path.sep}local-nix${path.sep}`)) {
          const text = readFileSync(p, "utf8");
          if (
            /runNixProgram|\b(?:spawn|execFile|execFileSync|spawnSync)\(\s*["'`]nix(?:-store|-instantiate|-build)?["'`]/.test(
              text,
            )
          )
            offenders.push(path.relative(src, p));
        }
      }
    };
    walk(src);
    assert.deepEqual(offenders, []);
  });
});
