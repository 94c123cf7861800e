// The checks of doctor that need no server: the edits it proposes for flake.nix (one value per
// line, several on one line, a space-separated string), what a dead cache costs by Nix's retry
// settings, and whether Nix applies a flake's nixConfig for a given user.
import assert from "node:assert/strict";
import { test } from "node:test";
import { flakeConfigFindings } from "../../../src/doctor/checks.js";
import { applyEdits, describeEdit, planEdits, removalEdits } from "../../../src/doctor/edits.js";
import { flakeConfigTrust } from "../../../src/doctor/inputs.js";
import { deadCost } from "../../../src/doctor/probe.js";
import { parseNixConfigJson } from "../../../src/local-nix/nix-config.js";

const FLAKE = `{
  nixConfig = {
    extra-substituters = [
      "https://cache.garnix.io"
      "https://mine.cachix.org"
    ];
    # "https://cache.garnix.io" was our cache
    extra-trusted-public-keys = [ "cache.garnix.io:CTFPyKSLcx5RMJKfLo5EEPUObbA78b0YQ2DTCJXqr9g=" "mine.cachix.org-1:AAAA" ];
    substituters = "https://cache.nixos.org https://cache.garnix.io";
    trusted-public-keys = ["cache.garnix.io:CTFPyKSLcx5RMJKfLo5EEPUObbA78b0YQ2DTCJXqr9g="];
  };
}`;
const GARNIX = "https://cache.garnix.io";
const GARNIX_KEY = "cache.garnix.io:CTFPyKSLcx5RMJKfLo5EEPUObbA78b0YQ2DTCJXqr9g=";

test("removing a cache and its key: every line holding them, deleted or shortened; comments untouched", () => {
  const edits = removalEdits(FLAKE, "flake.nix", [GARNIX, GARNIX_KEY]);
  assert.deepEqual(
    edits.map((e) => [e.line, e.action, e.replacement?.trim()]),
    [
      [4, "delete", undefined],
      [8, "replace", 'extra-trusted-public-keys = [ "mine.cachix.org-1:AAAA" ];'],
      [9, "replace", 'substituters = "https://cache.nixos.org";'],
      [10, "delete", undefined],
    ],
  );
  assert.equal(
    describeEdit(edits[0] as (typeof edits)[0]),
    `flake.nix line 4: delete the line \`"${GARNIX}"\``,
  );
  const clean = applyEdits(FLAKE, edits);
  assert.ok(!clean.replace(/#.*/g, "").includes("garnix"), clean);
  assert.match(clean, /# "https:\/\/cache\.garnix\.io" was our cache/);
  assert.deepEqual(removalEdits(clean, "flake.nix", [GARNIX, GARNIX_KEY]), []);
});

test("a replacement and a removal on one line make one edit; an unwritten value makes none", () => {
  const oneLine = FLAKE.split("\n").slice(0, 8).join("\n");
  const edits = planEdits(oneLine, "flake.nix", [
    { remove: GARNIX_KEY },
    { replace: "mine.cachix.org-1:AAAA", with: "mine.cachix.org-1:BBBB" },
    { remove: "https://computed.example.org" },
  ]);
  assert.equal(edits.length, 1);
  assert.equal(edits[0]?.replacement?.trim(), 'extra-trusted-public-keys = [ "mine.cachix.org-1:BBBB" ];');
  assert.deepEqual(edits[0]?.values, [GARNIX_KEY, "mine.cachix.org-1:AAAA"]);
  assert.throws(() => applyEdits(oneLine.replace("mine.cachix.org-1:AAAA", "x"), edits), /changed since/);
});

test("what a dead cache costs follows download-attempts and the backoff; a hanging one the timeout", () => {
  const refused = { url: "http://x", status: "dead" as const, reason: "", ms: 2, stage: "connect" as const };
  const five = deadCost(refused);
  assert.equal(five.attempts, 5);
  assert.ok(five.minMs >= 3750 && five.maxMs <= 5400, JSON.stringify(five));
  assert.ok(deadCost(refused, 1).maxMs < 10);
  const hanging = deadCost({ ...refused, timedOut: true }, 5, 3);
  assert.match(hanging.text, /^up to 2\d\.\d s/);
  assert.ok(deadCost({ ...refused, timedOut: true }).minMs >= 5 * 300_000);
});

test("an untrusted user's flake substituters are ignored unless trusted-substituters lists them", () => {
  // As `nix show-config --json` prints a multi-user install's settings.
  const conf = parseNixConfigJson(
    JSON.stringify({
      system: { value: "x86_64-linux" },
      "trusted-users": { value: ["root", "@wheel"] },
      "trusted-substituters": { value: ["https://ok.example.org"] },
      "accept-flake-config": { value: false },
    }),
  );
  const alice = { uid: 1000, gid: 1000, username: "alice-nixcache-test", homedir: "/home/a", shell: null };
  const t = flakeConfigTrust(conf, alice);
  assert.deepEqual([t.trustedUser, t.acceptFlakeConfig], [false, false]);
  const fixes = flakeConfigFindings(t, ["https://ok.example.org", "https://mine.cachix.org"], true).map(
    (f) => f.fix,
  );
  assert.equal(fixes.length, 2);
  assert.match(fixes[0] ?? "", /accept-flake-config = true/);
  assert.match(
    fixes[1] ?? "",
    /alice-nixcache-test is not a trusted user, so Nix ignores the flake's substituters https:\/\/mine\.cachix\.org: add them to `trusted-substituters`/,
  );
  assert.equal(flakeConfigTrust(conf, { ...alice, uid: 0, username: "root" }).trustedUser, true);
  assert.deepEqual(flakeConfigFindings(t, [], false), []);
});
