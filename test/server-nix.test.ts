// Interop with real Nix: `nix copy --to` fills a cache through netrc auth, `nix-store -r` and
// `nix path-info --store` read it back, and `nixcache push` writes to it the same way.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runNixProgram } from "../src/local-store/nix-command.js";
import { adminCreateCache, adminCreateToken, adminListCaches } from "../src/server/admin.js";
import { type RunningServer, startServer } from "../src/server/server.js";
import type { StoreLocation } from "../src/server/stores.js";
import { testStores } from "./helpers/backends.js";
import { runCli } from "./helpers/cli.js";
import { nixSync, requireNix } from "./helpers/nix.js";

let dir: string;
let at: StoreLocation;
let srv: RunningServer;
let publicKey: string;
let netrcWrite: string;
let netrcRead: string;
let writeToken: string;

/** Each Nix call gets its own narinfo disk cache, so answers from an earlier call are never reused. */
function nixEnv(): NodeJS.ProcessEnv {
  return { ...process.env, XDG_CACHE_HOME: join(dir, `xdg-${randomBytes(4).toString("hex")}`) };
}

/** Nix runs asynchronously: the server answering it lives in this process. */
function nix(program: string, args: string[]): Promise<string> {
  return runNixProgram(program, args, { env: nixEnv() });
}

/** Builds a tiny closure offline: `top` refers to `dep`. Returns [dep, top]. */
function buildClosure(tag: string): [string, string] {
  const seed = randomBytes(6).toString("hex");
  const expr = `let dep = derivation { name = "dep-${tag}"; system = builtins.currentSystem; builder = "/bin/sh";
      args = ["-c" "mkdir -p $out/bin; echo ${seed} > $out/data; printf '#!/bin/sh\\necho hi\\n' > $out/bin/hi; chmod +x $out/bin/hi; ln -s data $out/link"];
      PATH = "/usr/bin:/bin"; };
    in derivation { name = "top-${tag}"; system = builtins.currentSystem; builder = "/bin/sh";
      args = ["-c" "echo ${seed} \${dep} > $out"]; PATH = "/usr/bin:/bin"; }`;
  const top = nixSync("nix-build", ["--no-out-link", "-E", expr]).toString().trim();
  const refs = nixSync("nix-store", ["-q", "--references", top]).toString().trim().split("\n");
  assert.equal(refs.length, 1);
  return [refs[0] as string, top];
}

function deleteLocally(paths: string[]): void {
  for (const p of [...paths].reverse()) nixSync("nix-store", ["--delete", p]);
  for (const p of paths) assert.ok(!existsSync(p), `${p} still exists`);
}

function substitute(cache: string, paths: string[]): Promise<string> {
  return nix("nix-store", [
    "-r",
    ...paths,
    "--option",
    "substituters",
    `${srv.url}/${cache}`,
    "--option",
    "trusted-public-keys",
    publicKey,
  ]);
}

before(async () => {
  requireNix();
  dir = await mkdtemp(join(tmpdir(), "nixcache-server-nix-"));
  at = await testStores(join(dir, "data"));
  const data = at;
  publicKey = (await adminCreateCache(data, { name: "ci", isPublic: true, priority: 41 })).publicKey;
  writeToken = (await adminCreateToken(data, { cache: "ci", perm: "write", expiresAt: null })).token;
  const readToken = (await adminCreateToken(data, { cache: "ci", perm: "read", expiresAt: null })).token;
  srv = await startServer({ ...at, port: 0 });
  netrcWrite = join(dir, "netrc-write");
  netrcRead = join(dir, "netrc-read");
  await writeFile(netrcWrite, `machine 127.0.0.1 login nix password ${writeToken}\n`, { mode: 0o600 });
  await writeFile(netrcRead, `machine 127.0.0.1 login nix password ${readToken}\n`, { mode: 0o600 });
});

after(async () => {
  await srv?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("nix copy fills the cache; nix-store -r substitutes it back; nix path-info reads it", async () => {
  const paths = buildClosure("copy");
  const [, top] = paths;
  const contents = readFileSync(top, "utf8");
  await nix("nix", [
    "copy",
    "--to",
    `${srv.url}/ci?compression=zstd`,
    "--option",
    "netrc-file",
    netrcWrite,
    top,
  ]);
  assert.equal((await adminListCaches(at))[0]?.narinfos, 2);

  const info = JSON.parse(
    await nix("nix", ["path-info", "--json", "--store", `${srv.url}/ci`, top]),
  ) as Array<{
    path: string;
    references: string[];
    url: string;
  }>;
  assert.equal(info[0]?.path, top);
  assert.match(info[0]?.url ?? "", /^nar\/[0-9a-z]{52}\.nar\.zst$/);

  deleteLocally(paths);
  await substitute("ci", [top]);
  assert.equal(readFileSync(top, "utf8"), contents);
  assert.ok(existsSync(paths[0] as string), "the dependency came back with the closure");
  nixSync("nix-store", ["--verify-path", top]);
});

test("a read-only token cannot copy into the cache", async () => {
  const [, top] = buildClosure("readonly");
  await assert.rejects(
    () =>
      nix("nix", [
        "copy",
        "--to",
        `${srv.url}/ci?compression=zstd`,
        "--option",
        "netrc-file",
        netrcRead,
        top,
      ]),
    /401/,
  );
});

test("nixcache push to the server works like nix copy", async () => {
  const paths = buildClosure("push");
  const [, top] = paths;
  const contents = readFileSync(top, "utf8");
  const r = await runCli(["push", `${srv.url}/ci`, top], {
    env: { ...nixEnv(), NIXCACHE_TOKEN: writeToken },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(writeToken) && !r.stderr.includes(writeToken));
  deleteLocally(paths);
  await substitute("ci", [top]);
  assert.equal(readFileSync(top, "utf8"), contents);
});
