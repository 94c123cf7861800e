// `nixcache push` end to end, with real Nix as the reader.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startCacheServer } from "../../../bench/push/http-cache-server.js";
import {
  buildClosure,
  deletePaths,
  generateKey,
  isValid,
  NIX_ENV,
  sh,
  substitute,
  type TestClosure,
  tempDir,
} from "../../helpers/closures.js";

const BIN = new URL("../../../bin/nixcache", import.meta.url).pathname;

function nixcache(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(BIN, args, { env: { ...NIX_ENV, ...opts.env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? "");
  });
}

interface JsonSummary {
  pushed: string[];
  skipped: string[];
  failed: Array<{ path: string; error: string }>;
  narBytes: number;
  fileBytes: number;
  dryRun: boolean;
}

describe("nixcache push", () => {
  let c: TestClosure;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let key: { secretFile: string; publicKey: string };
  before(async () => {
    tmp = await tempDir("nixcache-push-");
    key = await generateKey(tmp.dir, "test-push-1");
    c = await buildClosure();
  });
  after(async () => {
    await deletePaths(c.all);
    await tmp.cleanup();
  });

  test("to file://: a signed closure that real Nix substitutes after local deletion", async () => {
    const cache = join(tmp.dir, "file-cache");
    // An existing signature by another key must survive our signing.
    const other = await generateKey(tmp.dir, "earlier-key-1");
    await sh("nix", ["store", "sign", "-r", "--key-file", other.secretFile, c.top]);
    const r = await nixcache(["push", `file://${cache}`, c.top, "--signing-key", key.secretFile, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as JsonSummary;
    assert.deepEqual(new Set(s.pushed), new Set([c.leaf, c.tree, c.mid, c.top]));
    assert.deepEqual(s.failed, []);
    assert.ok(s.fileBytes > 0 && s.narBytes > 0);
    const topInfo = await readFile(join(cache, `${c.top.slice(11, 43)}.narinfo`), "utf8");
    assert.match(topInfo, /^Sig: earlier-key-1:/m);
    assert.match(topInfo, /^Sig: test-push-1:/m);
    assert.match(topInfo, /^Compression: zstd$/m);

    await deletePaths([c.leaf, c.tree, c.mid, c.top]);
    assert.equal(await isValid(c.top), false);
    // Either key alone is enough for Nix to accept the narinfo.
    await substitute(c.top, `file://${cache}`, key.publicKey);
    assert.equal(await isValid(c.top), true);
    assert.equal(await isValid(c.leaf), true);
    assert.equal((await readFile(join(c.mid, "ref"), "utf8")).trim(), c.leaf);
    await deletePaths([c.leaf, c.tree, c.mid, c.top]);
    await substitute(c.top, `file://${cache}`, other.publicKey);
    assert.equal(await isValid(c.top), true);

    // Second run: everything is there already.
    const again = await nixcache(["push", `file://${cache}`, c.top, "--json"]);
    const s2 = JSON.parse(again.stdout) as JsonSummary;
    assert.deepEqual(s2.pushed, []);
    assert.equal(s2.skipped.length, 4);
  });

  test("to an HTTP cache, xz, paths from --stdin; narinfos come after their NARs and references", async () => {
    const dir = join(tmp.dir, "http-cache");
    const server = await startCacheServer({ dir });
    try {
      const url = `${server.url}/`;
      const r = await nixcache(
        ["push", url, "--stdin", "--compression", "xz", "--signing-key", key.secretFile, "--jobs", "3"],
        { input: `${c.top}\n${c.lone}\n` },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /pushed 5 paths/);
      // Order of completed PUTs: each narinfo after its NAR and after the narinfos of its references.
      const seen = new Set(server.stored);
      assert.ok(seen.has("nix-cache-info"));
      const pos = (rel: string) => server.stored.indexOf(rel);
      for (const p of [c.leaf, c.tree, c.mid, c.top, c.lone]) {
        const h = p.slice(11, 43);
        const ni = await readFile(join(dir, `${h}.narinfo`), "utf8");
        const url = /^URL: (.*)$/m.exec(ni)?.[1] as string;
        assert.ok(url.endsWith(".nar.xz"));
        assert.ok(pos(url) >= 0 && pos(url) < pos(`${h}.narinfo`), `${url} stored before narinfo`);
      }
      assert.ok(pos(`${c.leaf.slice(11, 43)}.narinfo`) < pos(`${c.mid.slice(11, 43)}.narinfo`));
      assert.ok(pos(`${c.mid.slice(11, 43)}.narinfo`) < pos(`${c.top.slice(11, 43)}.narinfo`));
      assert.ok(pos(`${c.tree.slice(11, 43)}.narinfo`) < pos(`${c.top.slice(11, 43)}.narinfo`));

      await deletePaths(c.all);
      await substitute(c.top, url, key.publicKey);
      await substitute(c.lone, url, key.publicKey);
      assert.equal(await isValid(c.top), true);
      assert.equal(await isValid(c.tree), true);
      assert.equal(await isValid(c.lone), true);
    } finally {
      await server.close();
    }
  });

  test("--dry-run lists what would go and uploads nothing", async () => {
    const cache = join(tmp.dir, "dry");
    const r = await nixcache(["push", `file://${cache}`, c.mid, "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n").sort(), [c.leaf, c.mid].sort());
    assert.match(r.stderr, /would push 2 paths/);
    await assert.rejects(readdir(cache));
  });

  test("bad input: clear errors, exit codes, nothing stored", async () => {
    const cache = join(tmp.dir, "bad");
    const noPath = await nixcache(["push", `file://${cache}`]);
    assert.equal(noPath.code, 2);
    assert.match(noPath.stderr, /no paths to push/);
    const notStore = await nixcache(["push", `file://${cache}`, "/etc/hostname"]);
    assert.equal(notStore.code, 1);
    assert.match(notStore.stderr, /nixcache: error: \/etc\/hostname is not in the Nix store/);
    const scheme = await nixcache(["push", "ftp://example.org/x", c.leaf]);
    assert.match(scheme.stderr, /unsupported cache URL scheme ftp:/);
    const badKey = join(tmp.dir, "bad.sec");
    await writeFile(badKey, "name:c2VjcmV0\n", { mode: 0o600 });
    const key2 = await nixcache(["push", `file://${cache}`, c.leaf, "--signing-key", badKey]);
    assert.equal(key2.code, 1);
    assert.match(key2.stderr, /signing key .*bad\.sec: secret key "name" holds 6 bytes/);
    assert.doesNotMatch(key2.stderr, /c2VjcmV0/);
    const jobs = await nixcache(["push", `file://${cache}`, c.leaf, "--jobs", "0"]);
    assert.equal(jobs.code, 2);
    assert.match(jobs.stderr, /--jobs must be an integer/);
    await assert.rejects(readdir(cache));
  });

  test("a store path modified after registration is refused and nothing of it is stored", async () => {
    const corrupt = await buildClosure();
    const cache = join(tmp.dir, "corrupt");
    try {
      // Tamper with `leaf` behind Nix's back; mid (which refers to it) must not be published either.
      await chmod(corrupt.leaf, 0o644);
      await writeFile(corrupt.leaf, "tampered\n");
      await chmod(corrupt.leaf, 0o444);
      const r = await nixcache(["push", `file://${cache}`, corrupt.mid, corrupt.lone, "--json"]);
      assert.equal(r.code, 1);
      const s = JSON.parse(r.stdout) as JsonSummary;
      assert.deepEqual(s.pushed, [corrupt.lone]);
      const byPath = new Map(s.failed.map((f) => [f.path, f.error]));
      assert.match(byPath.get(corrupt.leaf) ?? "", /NAR of .*-leaf .*(bytes|hash).*Nix database/);
      assert.match(byPath.get(corrupt.mid) ?? "", /reference .*-leaf failed/);
      const files = [...(await readdir(cache)), ...(await readdir(join(cache, "nar")))];
      assert.deepEqual(
        files.filter((f) => f.endsWith(".narinfo")),
        [`${corrupt.lone.slice(11, 43)}.narinfo`],
      );
      // Only the NAR of `lone` (mid's NAR may be stored; its narinfo is not) and no temporaries.
      assert.equal(files.filter((f) => f.includes("tmp")).length, 0);
    } finally {
      await deletePaths(corrupt.all);
    }
  });

  test("--help describes the command with an example", async () => {
    const r = await nixcache(["push", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of [
      "--stdin",
      "--compression",
      "--jobs",
      "--signing-key",
      "--dry-run",
      "--json",
      "--netrc-file",
    ])
      assert.ok(r.stdout.includes(flag), flag);
    assert.match(r.stdout, /Examples:/);
  });
});
