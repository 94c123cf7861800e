// Interop with real Nix: `nix copy --to` fills a cache through netrc auth, `nix-store -r` and
// `nix path-info --store` read it back, and `nixcache push` writes to it the same way; the
// realisations of content-addressed derivations go up with `nix copy` and come back with `nix build`.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runNixProgram } from "../../src/local-nix/nix-command.js";
import { adminCreateCache, adminCreateToken, adminListCaches } from "../../src/server/admin.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import type { StateLocation } from "../../src/server/state-location.js";
import { forEachBackend } from "../helpers/backends.js";
import { runCli } from "../helpers/cli.js";
import { nixSync, requireNix } from "../helpers/nix.js";

forEachBackend((backend) => {
  let dir: string;
  let at: StateLocation;
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
    at = await backend.stores(join(dir, "data"));
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

  /** Nix with content-addressed derivations enabled. */
  const CA = ["--extra-experimental-features", "nix-command flakes ca-derivations"];

  interface Realisation {
    id: string;
    outPath: string;
    dependentRealisations: Record<string, string>;
  }

  test("content-addressed derivations: nix copy uploads their realisations; nix build substitutes them back without building", async () => {
    // ca-test's output refers to ca-dep's: both are content-addressed, built here first.
    const seed = randomBytes(6).toString("hex");
    const file = join(dir, "ca.nix");
    await writeFile(
      file,
      `let ca = name: script: derivation { __contentAddressed = true; outputHashMode = "recursive";
      outputHashAlgo = "sha256"; builder = "/bin/sh"; args = ["-c" script]; PATH = "/usr/bin:/bin";
      system = builtins.currentSystem; inherit name; };
    dep = ca "ca-dep" "echo ${seed} > $out";
    in ca "ca-test" "echo hi ${seed} \${dep} > $out"\n`,
    );
    const built = JSON.parse(await nix("nix", ["build", ...CA, "--no-link", "--json", "-f", file])) as Array<{
      outputs: { out: string };
    }>;
    const out = built[0]?.outputs.out ?? "";
    const contents = readFileSync(out, "utf8");
    const dep = contents.trim().split(" ")[2] ?? "";
    assert.match(dep, /^\/nix\/store\/[0-9a-z]{32}-ca-dep$/);
    const local = JSON.parse(
      await nix("nix", ["realisation", "info", ...CA, "--json", "-f", file]),
    ) as Realisation[];
    const realisation = local[0] as Realisation;
    assert.equal(`/nix/store/${realisation.outPath}`, out);
    assert.match(realisation.id, /^sha256:[0-9a-f]{64}!out$/);

    await nix("nix", [
      "copy",
      ...CA,
      "--to",
      `${srv.url}/ci?compression=zstd`,
      "--option",
      "netrc-file",
      netrcWrite,
      "-f",
      file,
    ]);
    // The server serves what Nix uploaded, as JSON: the realisation, and the one of its dependency.
    const served = await fetch(`${srv.url}/ci/realisations/${realisation.id}.doi`);
    assert.equal(served.status, 200);
    assert.match(served.headers.get("content-type") ?? "", /^application\/json/);
    const body = (await served.json()) as Realisation;
    assert.equal(body.id, realisation.id);
    assert.equal(body.outPath, realisation.outPath);
    const [depId] = Object.keys(body.dependentRealisations);
    assert.ok(depId, "ca-test's realisation names ca-dep's");
    assert.equal((await fetch(`${srv.url}/ci/realisations/${depId}.doi`)).status, 200);
    const listed = await srv.meta.realisationsOf("ci", realisation.outPath.slice(0, 32));
    assert.deepEqual(
      listed.map((r) => [r.kind, r.key, r.visible]),
      [["realisations", realisation.id, true]],
    );

    // Gone here: the outputs, and with them their realisations.
    // The derivation that building ca-test resolved to names ca-dep's output as an input: it goes too.
    deleteLocally([out]);
    const resolved = nixSync("nix-store", ["-q", "--referrers", dep])
      .toString()
      .split("\n")
      .filter((p) => p !== "" && p !== dep);
    assert.ok(
      resolved.every((p) => p.endsWith(".drv")),
      resolved.join(" "),
    );
    deleteLocally([...resolved, dep].reverse());
    assert.deepEqual(
      JSON.parse(
        await nix("nix", ["realisation", "info", ...CA, "--json", "-f", file]).catch(() => "[]"),
      ).filter((r: Realisation) => r.outPath === realisation.outPath),
      [],
    );

    // Back from the cache: --max-jobs 0 makes any build an error.
    let stderr = "";
    await runNixProgram(
      "nix",
      [
        "build",
        ...CA,
        "--no-link",
        "-f",
        file,
        "--max-jobs",
        "0",
        "--option",
        "substituters",
        `${srv.url}/ci`,
        "--option",
        "trusted-public-keys",
        publicKey,
      ],
      { env: nixEnv(), onStderr: (d) => (stderr += d.toString()) },
    );
    assert.doesNotMatch(stderr, /building '/, stderr);
    assert.equal(readFileSync(out, "utf8"), contents);
    assert.ok(existsSync(dep), "the dependency came back with the closure");
    const again = JSON.parse(
      await nix("nix", ["realisation", "info", ...CA, "--json", "-f", file]),
    ) as Realisation[];
    assert.equal(again[0]?.outPath, realisation.outPath, "the realisation came from the cache");
    assert.equal(again[0]?.id, realisation.id);
  });
});
