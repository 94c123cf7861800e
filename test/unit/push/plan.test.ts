// topoSort (src/push/plan.ts): the order a push publishes narinfos in.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PathInfo } from "../../../src/local-nix/path-info.js";
import { topoSort } from "../../../src/push/plan.js";

const S = "/nix/store/";
const path = (c: string) => `${S}${c.repeat(32)}-${c}`;

function info(name: string, refs: string[]): PathInfo {
  return {
    path: path(name),
    narHash: { algo: "sha256", digest: Buffer.alloc(32) },
    narSize: 1,
    references: refs.map(path),
    signatures: [],
  };
}

const names = (ps: PathInfo[]) => ps.map((p) => p.path.slice(S.length + 33));

describe("topoSort", () => {
  test("each path comes after the references it has in the set", () => {
    // a → b → c, a → c, d alone
    const sorted = topoSort([info("a", ["b", "c"]), info("d", []), info("b", ["c"]), info("c", [])]);
    assert.deepEqual(names(sorted), ["c", "b", "a", "d"]);
  });

  test("self-references and references outside the set are ignored", () => {
    const sorted = topoSort([info("a", ["a", "z"]), info("b", ["b"])]);
    assert.deepEqual(names(sorted), ["a", "b"]);
  });

  test("ties keep the input order (stable output)", () => {
    assert.deepEqual(names(topoSort([info("c", []), info("a", []), info("b", [])])), ["c", "a", "b"]);
  });

  test("a reference cycle is an error naming a path on it", () => {
    assert.throws(
      () => topoSort([info("a", ["b"]), info("b", ["a"])]),
      /reference cycle through \/nix\/store\//,
    );
  });

  test("a chain deeper than the call stack is fine (iterative)", () => {
    const n = 20_000;
    const chain: PathInfo[] = [];
    const id = (i: number) => `p${String(i).padStart(6, "0")}`;
    const p = (i: number): PathInfo => ({
      path: `${S}${"a".repeat(32)}-${id(i)}`,
      narHash: { algo: "sha256", digest: Buffer.alloc(32) },
      narSize: 1,
      references: i + 1 < n ? [`${S}${"a".repeat(32)}-${id(i + 1)}`] : [],
      signatures: [],
    });
    for (let i = 0; i < n; i++) chain.push(p(i));
    const sorted = topoSort(chain);
    assert.equal(sorted.length, n);
    assert.equal(sorted[0]?.path.endsWith(id(n - 1)), true);
    assert.equal(sorted[n - 1]?.path.endsWith(id(0)), true);
  });
});
