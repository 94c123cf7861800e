// Issue 30, item 1, replayed: a path the cache serves, pushed again naming a path nobody has.
// Before, the re-push answered 204 and the cache served the new References, so `nix-store -r`
// of the path failed ("path … is not valid"). Now: what the re-push answers, what is served, and
// whether real Nix substitutes the path into a fresh store.
//
//   node --import tsx bench/reliability/item-1.ts
//
// A `nixcache serve` (in-process, startServer) on a data directory of its own; the path is built
// and pushed by real Nix (`nix-build`, `nix copy --to`), the bad re-push is a plain HTTP PUT.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseNarInfo } from "../../src/nix/narinfo.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { startServer } from "../../src/server/server.js";

/** Runs a Nix program in a child (the server runs in this process: never block its loop). */
function nix(
  program: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ ok: boolean; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(program, args, { env, maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      resolve({ ok: !err, out: stdout.trim(), err: stderr.trim() }),
    );
  });
}

export async function item1(): Promise<{ item: number; what: string; before: string; now: string }> {
  const work = mkdtempSync(join(tmpdir(), "nixcache-item-1-"));
  const cleanups: Array<() => unknown> = [() => rmSync(work, { recursive: true, force: true })];
  try {
    const dataDir = join(work, "data");
    const { publicKey } = await adminCreateCache(dataDir, { name: "c", isPublic: true, priority: 41 });
    const token = (await adminCreateToken(dataDir, { cache: "c", perm: "write", expiresAt: null })).token;
    const srv = await startServer({ dataDir, port: 0, upstreams: [], gcIntervalMs: 0 });
    cleanups.push(() => srv.close());
    const env = { ...process.env, XDG_CACHE_HOME: mkdtempSync(join(work, "xdg-")) };
    const netrc = join(work, "netrc");
    writeFileSync(netrc, `machine 127.0.0.1 login nix password ${token}\n`, { mode: 0o600 });

    // Y: a path with no references, built and pushed by Nix.
    const seed = `${Date.now()}-${process.pid}`;
    const expr = `derivation { name = "item-1-y"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo ${seed} > $out" ]; PATH = "/usr/bin:/bin"; }`;
    const built = await nix("nix-build", ["--no-out-link", "-E", expr], env);
    if (!built.ok) throw new Error(`nix-build failed: ${built.err}`);
    const y = built.out.split("\n").at(-1) as string;
    const copied = await nix(
      "nix",
      ["copy", "--to", `${srv.url}/c?compression=zstd`, "--option", "netrc-file", netrc, y],
      env,
    );
    if (!copied.ok) throw new Error(`nix copy failed: ${copied.err}`);
    const hash = y.slice("/nix/store/".length, "/nix/store/".length + 32);
    const served = await (await fetch(`${srv.url}/c/${hash}.narinfo`)).text();

    // The same Y again, naming a path nobody has.
    const never = `${"0".repeat(32)}-never`;
    const bad = served
      .split("\n")
      .map((l) => (l.startsWith("References:") ? `References: ${never}` : l))
      .join("\n");
    const t0 = performance.now();
    const repush = await fetch(`${srv.url}/c/${hash}.narinfo`, {
      method: "PUT",
      body: bad,
      headers: { authorization: `Bearer ${token}`, "content-type": "text/x-nix-narinfo" },
    });
    const answer = `${repush.status} ${(await repush.text()).trim()}`;
    const answeredMs = performance.now() - t0;
    const now = await (await fetch(`${srv.url}/c/${hash}.narinfo`)).text();
    const refs = parseNarInfo(now).references;

    // What a reader gets: Y substituted into a store of its own.
    const store = mkdtempSync(join(work, "store-"));
    const realised = await nix(
      "nix-store",
      [
        "--store",
        store,
        "-r",
        y,
        "--option",
        "substituters",
        `${srv.url}/c`,
        "--option",
        "trusted-public-keys",
        publicKey,
      ],
      { ...env, XDG_CACHE_HOME: mkdtempSync(join(work, "xdg-")) },
    );
    return {
      item: 1,
      what: "a served path Y (no references) pushed again with References: <hash>-never",
      before: '204; Y served with the new References; nix-store -r Y failed ("path … is not valid")',
      now:
        `${answer.slice(0, 160)}${answer.length > 160 ? "…" : ""} (in ${answeredMs.toFixed(0)} ms); ` +
        `Y served ${now === served ? "unchanged" : "CHANGED"} (References: ${refs.length === 0 ? "none" : refs.join(" ")}); ` +
        `nix-store -r Y into a fresh store ${realised.ok ? "succeeded" : `FAILED: ${realised.err.split("\n").at(-1)}`}`,
    };
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const row = await item1();
  console.log(JSON.stringify(row, null, 2));
  process.exit(0);
}
