// The Action's committed bundle (dist/action/) is exactly what the source builds, and carries no
// platform-specific binary: it must run on Linux and macOS runners of both architectures.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { ACTION_DIST, buildActionBundle, ROOT } from "../../../scripts/build-action.js";
import { tempDir } from "../../helpers/nix.js";

test("the committed bundle equals what the source builds (npm run build:action)", async () => {
  const d = tempDir("nixcache-bundle-");
  try {
    const built = await buildActionBundle(d.path);
    const committed = (await readdir(ACTION_DIST)).sort();
    assert.deepEqual(
      committed,
      built,
      "dist/action/ has other files than the build makes: run npm run build:action",
    );
    for (const f of built) {
      const [a, b] = await Promise.all([readFile(path.join(d.path, f)), readFile(path.join(ACTION_DIST, f))]);
      assert.ok(
        a.equals(b),
        `dist/action/${f} differs from what the source builds: run npm run build:action`,
      );
    }
  } finally {
    d.cleanup();
  }
});

test("the bundle holds no native addon, and action.yml runs it on node24", async () => {
  const files = await readdir(ACTION_DIST);
  assert.deepEqual(
    files.filter((f) => f.endsWith(".node")),
    [],
  );
  for (const f of files.filter((f) => f.endsWith(".mjs"))) {
    const text = await readFile(path.join(ACTION_DIST, f), "utf8");
    // No addon loaded by name or by file, and not the server's (SQLite) either.
    for (const addon of ["zstd-napi", "lzma-native", "better-sqlite3", "node-gyp-build", "fastify"])
      assert.doesNotMatch(text, new RegExp(addon), `${f} refers to ${addon}`);
    assert.doesNotMatch(text, /require\([^)]*\.node["'`]\)/, `${f} requires a .node file`);
    assert.doesNotMatch(text, /process\.dlopen/, `${f} loads a shared object`);
  }
  const all = await Promise.all(
    files.filter((f) => f.endsWith(".mjs")).map((f) => readFile(path.join(ACTION_DIST, f), "utf8")),
  );
  assert.match(all.join("\n"), /portable \(node:zlib\)/, "the bundle uses the portable codecs");
  const action = parse(await readFile(path.join(ROOT, "action.yml"), "utf8")) as {
    runs: { using: string; main: string; post: string };
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
  };
  assert.equal(action.runs.using, "node24");
  assert.equal(action.runs.main, "dist/action/main.mjs");
  assert.equal(action.runs.post, "dist/action/post.mjs");
  assert.deepEqual(Object.keys(action.inputs).sort(), [
    "cache",
    "command",
    "config",
    "extra-args",
    "flake",
    "github-token",
    "oidc",
    "oidc-audience",
    "signing-key",
    "token",
    "upstream",
  ]);
  assert.deepEqual(Object.keys(action.outputs).sort(), ["built", "cached", "failed", "pushed", "report"]);
  // The job's own token by default: statuses need nothing configured beyond `statuses: write`.
  assert.equal((action.inputs["github-token"] as { default?: string }).default, `\${{ github.token }}`);
});

test("the portable codecs: zstd exactly when node:zlib has it (round trip), xz refused with the reason", async () => {
  const { backend } = await import("../../../src/codec/portable.js");
  const zlib = await import("node:zlib");
  const hasZstd =
    typeof (zlib as unknown as { createZstdCompress?: unknown }).createZstdCompress === "function";
  assert.equal(backend.supports("zstd"), hasZstd);
  assert.equal(backend.supports("none"), true);
  assert.equal(backend.supports("xz"), false);
  assert.match(backend.unsupportedReason("xz") ?? "", /native addon/);
  assert.throws(() => backend.compressor("xz"), /cannot use xz compression here/);
  const data = Buffer.from("nix archive ".repeat(1000));
  const { Readable } = await import("node:stream");
  const { buffer } = await import("node:stream/consumers");
  if (hasZstd) {
    const packed = await buffer(Readable.from([data]).pipe(backend.compressor("zstd", 3)));
    assert.ok(packed.length < data.length);
    // A standard zstd frame: the native decoder (what servers and Nix use) reads it.
    const native = (await import("../../../src/codec/backend.js")).backend;
    assert.ok((await buffer(Readable.from([packed]).pipe(native.decompressor("zstd")))).equals(data));
  } else {
    assert.match(
      backend.unsupportedReason("zstd") ?? "",
      /^Node v\d+\.\d+\.\d+ has no zstd in node:zlib \(it needs Node 22\.15 or later\)$/,
    );
    assert.throws(() => backend.compressor("zstd"), /cannot use zstd compression here/);
  }
  assert.ok((await buffer(Readable.from([data]).pipe(backend.compressor("none")))).equals(data));
});
