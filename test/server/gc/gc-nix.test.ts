// GC against real Nix, on both deployments (the filesystem and SQLite; S3 and PostgreSQL): a cache
// holds a pinned closure, an old unpinned one sharing a dependency with it, and a recent one.
// After two GC runs with a short retention and grace, real Nix substitutes the pinned and the
// recent closures completely into a fresh store, the old closure's own paths are gone (404, their
// blobs gone from storage), the shared dependency stays, and storage shrank by what was reported.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runNixProgram } from "../../../src/local-nix/nix-command.js";
import { parseNarInfo } from "../../../src/nix/narinfo.js";
import { gcCutoff } from "../../../src/server/metadata/limits.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import { openStorage, type StateLocation } from "../../../src/server/state-location.js";
import type { StorageBackend } from "../../../src/server/storage/backend.js";
import { runCli } from "../../helpers/cli.js";
import { nixSync, requireNix, tempDir } from "../../helpers/nix.js";
import { freshDatabase } from "../../helpers/postgres.js";
import { freshStorageUrl } from "../../helpers/s3.js";

/** Builds dependency-first closures offline; returns each path by name. */
function buildGraph(tag: string): Record<string, string> {
  const seed = randomBytes(6).toString("hex");
  const drv = (name: string, deps: string[]) =>
    `${name} = derivation { name = "${name}-${tag}"; system = builtins.currentSystem; builder = "/bin/sh";
       args = ["-c" "mkdir -p $out; echo ${seed} ${name} > $out/data; head -c 20000 /dev/urandom > $out/bulk; echo ${deps.map((d) => `\${${d}}`).join(" ")} > $out/refs"];
       PATH = "/usr/bin:/bin"; };`;
  const names = ["shared", "pinOnly", "pinTop", "oldOnly", "oldTop", "recentOnly", "recentTop"];
  const expr = `let
    ${drv("shared", [])}
    ${drv("pinOnly", [])}
    ${drv("pinTop", ["pinOnly", "shared"])}
    ${drv("oldOnly", [])}
    ${drv("oldTop", ["oldOnly", "shared"])}
    ${drv("recentOnly", [])}
    ${drv("recentTop", ["recentOnly"])}
  in { inherit ${names.join(" ")}; }`;
  const out: Record<string, string> = {};
  for (const n of names)
    out[n] = nixSync("nix-build", ["--no-out-link", "-E", expr, "-A", n]).toString().trim();
  return out;
}

const hashOf = (p: string) => p.slice("/nix/store/".length, "/nix/store/".length + 32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function storedBytes(storage: StorageBackend): Promise<number> {
  let total = 0;
  for (const b of await storage.listBlobs()) total += (await storage.blobSize(b)) ?? 0;
  return total;
}

const BACKENDS: Array<{ name: string; location(dir: string): Promise<StateLocation>; pinBy: "cli" | "api" }> =
  [
    { name: "the filesystem and SQLite", location: async (dir) => ({ dataDir: dir }), pinBy: "cli" },
    {
      name: "S3 and PostgreSQL",
      location: async () => ({ db: await freshDatabase(), storage: await freshStorageUrl() }),
      pinBy: "api",
    },
  ];

for (const backend of BACKENDS)
  describe(`GC with real Nix on ${backend.name}`, () => {
    let dir: { path: string; cleanup(): void };
    let at: StateLocation;
    let flags: string[];
    let srv: RunningServer;
    let storage: StorageBackend;
    let publicKey: string;
    let token: string;
    let netrc: string;

    const cli = async (...args: string[]) => {
      const r = await runCli([...args, ...flags]);
      assert.equal(r.code, 0, `nixcache ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    const nixEnv = () => ({ ...process.env, XDG_CACHE_HOME: mkdtempSync(join(dir.path, "xdg-")) });
    const nix = (program: string, args: string[]) => runNixProgram(program, args, { env: nixEnv() });
    const copyIn = (paths: string[]) =>
      nix("nix", [
        "copy",
        "--to",
        `${srv.url}/main?compression=zstd`,
        "--option",
        "netrc-file",
        netrc,
        ...paths,
      ]);
    /** Substitutes into a store of its own: nothing of the local one helps. */
    const substitute = (paths: string[]) => {
      const fresh = mkdtempSync(join(dir.path, "store-"));
      return nix("nix-store", [
        "--store",
        fresh,
        "-r",
        ...paths,
        "--option",
        "substituters",
        `${srv.url}/main`,
        "--option",
        "trusted-public-keys",
        publicKey,
      ]);
    };
    const status = async (path: string) =>
      (await fetch(`${srv.url}/main/${path}`, { method: "HEAD" })).status;

    before(async () => {
      requireNix();
      dir = tempDir("nixcache-gc-nix-");
      at = await backend.location(join(dir.path, "data"));
      flags = at.dataDir ? ["--data", at.dataDir] : ["--db", at.db ?? "", "--storage", at.storage ?? ""];
      publicKey = (await cli("cache", "create", "main")).trim();
      token = (await cli("token", "create", "--cache", "main", "--perm", "write")).trim();
      netrc = join(dir.path, "netrc");
      await writeFile(netrc, `machine 127.0.0.1 password ${token}\n`, {
        mode: 0o600,
      });
      srv = await startServer({ ...at, port: 0, upstreams: [], gcIntervalMs: 0 });
      storage = await openStorage(at);
      await storage.init({ clearStaging: false });
    });
    after(async () => {
      await srv?.close();
      dir?.cleanup();
    });

    test("pinned and recent closures substitute whole; the old one's own paths and blobs are gone", async () => {
      const g = buildGraph(backend.pinBy);
      const p = (n: string) => g[n] as string;
      await copyIn([p("pinTop"), p("oldTop")]);
      if (backend.pinBy === "cli") await cli("pin", "add", "main", "release", p("pinTop"));
      else {
        const r = await fetch(`${srv.url}/api/v1/cache/main/pin`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ name: "release", storePath: p("pinTop"), artifacts: [], keep: null }),
        });
        assert.equal(r.status, 200, await r.text());
      }
      await cli("cache", "update", "main", "--retention", "4s");
      // The NAR URLs of the old closure's own paths, to look for them afterwards.
      const nars = new Map<string, string>();
      for (const n of ["oldTop", "oldOnly"]) {
        // From the store, not over HTTP: a fetch would count as an access.
        const ni = parseNarInfo((await srv.meta.getNarInfo("main", hashOf(p(n)))) ?? "");
        nars.set(n, ni.url);
      }
      const oldBlobs = await Promise.all(
        [...nars.values()].map(async (url) => (await srv.meta.visibleNar("main", url))?.blob as string),
      );
      const oldPushed = Date.now();
      await sleep(8000);
      const recentStart = Date.now();
      await copyIn([p("recentTop")]);
      // On a loaded machine copying can take seconds: the retention is set so that the recent
      // closure is within it (with 5 s to spare for both runs) and the old one is not.
      const retention = Math.max(4, Math.ceil((Date.now() - recentStart) / 1000) + 5);
      // The GC adds an eighth to the retention (stored access times may be that much early).
      assert.ok(gcCutoff(Date.now(), retention * 1000) > oldPushed, "the old closure is past the retention");
      if (retention > 4) await cli("cache", "update", "main", "--retention", `${retention}s`);
      const bytesBefore = await storedBytes(storage);

      // A short grace: the recent closure must stay inside the retention through both runs.
      const first = JSON.parse(await cli("gc", "--grace", "200ms", "--json")) as Record<
        string,
        { deletedPaths: number; deletedBytes: number; keptPaths: number; markedPaths: number }
      >;
      assert.equal(first.main?.deletedPaths, 0, "the first run only marks");
      assert.equal(first.main?.markedPaths, 2);
      assert.equal(first.main?.keptPaths, 7);
      await sleep(300);
      const second = JSON.parse(await cli("gc", "--grace", "200ms", "--json")) as typeof first;
      assert.deepEqual(
        second.main && [second.main.deletedPaths, second.main.keptPaths],
        [2, 5],
        JSON.stringify(second),
      );
      const bytesAfter = await storedBytes(storage);
      assert.ok(
        (second.main?.deletedBytes ?? 0) > 39_000,
        "the two NARs of 20 kB each (random: incompressible)",
      );
      assert.equal(
        bytesBefore - bytesAfter,
        second.main?.deletedBytes,
        "storage shrank by what was reported",
      );

      for (const n of ["oldTop", "oldOnly"]) {
        assert.equal(await status(`${hashOf(p(n))}.narinfo`), 404, n);
        assert.equal(await status(nars.get(n) as string), 404, `${n}'s NAR`);
      }
      for (const b of oldBlobs) assert.equal(await storage.blobSize(b), undefined, "the blob is gone");
      for (const n of ["shared", "pinOnly", "pinTop", "recentOnly", "recentTop"])
        assert.equal(await status(`${hashOf(p(n))}.narinfo`), 200, n);

      await substitute([p("pinTop")]);
      await substitute([p("recentTop")]);
      await assert.rejects(substitute([p("oldTop")]), "the old closure cannot be substituted any more");
    });
  });
