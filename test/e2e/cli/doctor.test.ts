// `nixcache doctor` against a flake whose nixConfig lists a live cache (nixcache's own server, run
// here, filled by a real `nix copy`), a name that does not resolve, a port that refuses, a port
// that accepts and never answers, and a wrong key for the live cache. Each must be called out with
// its edit; applying the edits must leave a flake doctor finds nothing wrong with.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { applyEdits, type FileEdit } from "../../../src/doctor/edits.js";
import { runNixProgram } from "../../../src/local-nix/nix-command.js";
import { formatPublicKey, generateSecretKey, publicKeyOf } from "../../../src/nix/signing.js";
import { adminCreateCache, adminCreateToken } from "../../../src/server/admin.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import { nixOutPath, writeFlake } from "../../fixtures/flakes/make-flake.js";
import { runCli } from "../../helpers/cli.js";
import { requireNix, tempDir } from "../../helpers/nix.js";

const DEAD_NAME = "http://cache.nixcache-doctor.invalid";
const DEAD_KEY = formatPublicKey(publicKeyOf(generateSecretKey("cache.nixcache-doctor.invalid-1")));
/** Same name as the server's key for cache `main`, other bytes. */
const WRONG_KEY = formatPublicKey(publicKeyOf(generateSecretKey("main-1")));
const BASE_NIX_CONFIG = process.env.NIX_CONFIG ?? "";

let tmp: { path: string; cleanup: () => void };
let srv: RunningServer;
let silent: net.Server;
let live: string;
let refused: string;
let hanging: string;
let publicKey: string;
let flake: string;
let xdg: string;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function nixConfigBlock(): string {
  return `  nixConfig = {
    extra-substituters = [
      "${live}"
      "${DEAD_NAME}"
      "${refused}"
      "${hanging}"
    ];
    extra-trusted-public-keys = [ "${WRONG_KEY}" "${DEAD_KEY}" ];
  };
`;
}

before(async () => {
  requireNix();
  tmp = tempDir("nixcache-doctor-");
  const data = join(tmp.path, "data");
  publicKey = (await adminCreateCache(data, { name: "main", isPublic: true, priority: 41 })).publicKey;
  const token = (await adminCreateToken(data, { cache: "main", perm: "write", expiresAt: null })).token;
  srv = await startServer({ dataDir: data, port: 0 });
  live = `${srv.url}/main`;
  refused = `http://127.0.0.1:${await freePort()}`;
  // Accepts connections, never answers: only the deadline ends a request to it.
  silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  hanging = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;

  flake = join(tmp.path, "flake");
  await writeFlake(
    flake,
    `{ packages.x86_64-linux.app = leaf "x86_64-linux" "app"; }`,
    undefined,
    nixConfigBlock(),
  );
  const app = nixOutPath(flake, "packages.x86_64-linux.app");
  // A real `nix copy` into the server (unsigned on the client; the server signs on ingest), with a
  // narinfo disk cache of its own that doctor then reads.
  xdg = join(tmp.path, "xdg");
  const netrc = join(tmp.path, "netrc");
  await writeFile(netrc, `machine 127.0.0.1 login nix password ${token}\n`, { mode: 0o600 });
  const env = { ...process.env, XDG_CACHE_HOME: xdg };
  await runNixProgram(
    "nix",
    [
      "--extra-experimental-features",
      "nix-command flakes",
      "build",
      "--no-link",
      `path:${flake}#packages.x86_64-linux.app`,
    ],
    { env },
  );
  await runNixProgram(
    "nix",
    [
      "--extra-experimental-features",
      "nix-command flakes",
      "copy",
      "--to",
      `${live}?compression=zstd`,
      "--option",
      "netrc-file",
      netrc,
      app,
    ],
    { env },
  );
});

after(async () => {
  await srv?.close();
  await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
  tmp?.cleanup();
});

interface Report {
  substituters: Array<{ url: string; status: string; reason: string; ms: number; cost?: { minMs: number } }>;
  keys: Array<{ key: string; status: string; reason: string }>;
  fixes: string[];
  edits: FileEdit[];
  warnings: string[];
  coverage: { ok: number; total: number } | null;
  diskCache: { stale: Array<{ cache: string; storePath: string }> };
}

test("doctor names the dead, refused and hanging caches, the wrong key and the stale disk cache, each with its edit", async () => {
  const text = await readFile(join(flake, "flake.nix"), "utf8");

  const r = await runCli(["doctor", "--json", "--timeout", "1s"], {
    cwd: flake,
    env: { XDG_CACHE_HOME: xdg, NIX_CONFIG: BASE_NIX_CONFIG },
  });
  assert.equal(r.code, 1, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  const sub = (url: string) => rep.substituters.find((s) => s.url === url);

  assert.equal(sub(live)?.status, "ok", JSON.stringify(sub(live)));
  assert.equal(sub(DEAD_NAME)?.status, "dead");
  assert.match(sub(DEAD_NAME)?.reason ?? "", /the name cache\.nixcache-doctor\.invalid does not resolve/);
  assert.equal(sub(refused)?.status, "dead");
  assert.match(sub(refused)?.reason ?? "", /connection to 127\.0\.0\.1:\d+ refused/);
  assert.equal(sub(hanging)?.status, "dead");
  assert.match(sub(hanging)?.reason ?? "", /no answer within 1\.0 s/);
  for (const s of rep.substituters) assert.equal(typeof s.ms, "number");
  // Nix's retries make each dead cache cost every invocation at least the backoff of 5 tries.
  assert.ok((sub(DEAD_NAME)?.cost?.minMs ?? 0) >= 3750);

  const key = (k: string) => rep.keys.find((x) => x.key === k);
  assert.equal(key(WRONG_KEY)?.status, "wrong");
  assert.match(key(WRONG_KEY)?.reason ?? "", /signs as main-1, but this key does not verify/);
  assert.equal(key(DEAD_KEY)?.status, "no-cache");

  const lines = text.split("\n");
  const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
  const fix = (re: RegExp) => rep.fixes.find((f) => re.test(f));
  const deadFix = fix(/^dead substituter http:\/\/cache\.nixcache-doctor\.invalid /);
  assert.ok(deadFix, rep.fixes.join("\n"));
  assert.match(deadFix, /does not resolve \(ENOTFOUND\); it costs about/);
  assert.ok(
    deadFix.includes(`flake.nix line ${lineOf(DEAD_NAME)}: delete the line \`"${DEAD_NAME}"\``),
    deadFix,
  );
  // Its key goes with it: the line becomes the list without it.
  assert.ok(
    deadFix.includes(`flake.nix line ${lineOf(DEAD_KEY)}: change \``) &&
      deadFix.includes(`[ "${WRONG_KEY}" ]`),
    deadFix,
  );
  assert.ok(
    fix(new RegExp(`^dead substituter ${refused} \\(connection to .* refused`))?.includes(
      `line ${lineOf(refused)}: delete the line`,
    ),
  );
  assert.ok(fix(new RegExp(`^dead substituter ${hanging} \\(GET \\S+/nix-cache-info got no answer`)));
  // The wrong key is replaced by the one the server publishes (and that verifies what it serves).
  const wrongFix = fix(/^wrong key for /);
  assert.ok(wrongFix?.includes(publicKey), wrongFix);
  assert.ok(fix(new RegExp(`^no trusted key signs what ${live} serves`)));
  // `nix copy` left the unsigned upload in Nix's disk cache; the server serves it signed.
  assert.equal(rep.diskCache.stale.length, 1, JSON.stringify(rep.diskCache));
  assert.ok(fix(/narinfo disk cache .* holds 1 unsigned narinfo for /));
  // NIX_CONFIG here has no accept-flake-config: Nix would ignore the whole nixConfig.
  assert.ok(fix(/accept-flake-config = true/));
  assert.deepEqual(rep.coverage && { ok: rep.coverage.ok, total: rep.coverage.total }, { ok: 0, total: 1 });

  // The edits, applied, leave a flake with the live cache and its right key only.
  const fixed = applyEdits(text, rep.edits);
  assert.ok(fixed.includes(`"${live}"`) && fixed.includes(publicKey));
  for (const gone of [DEAD_NAME, refused, hanging, DEAD_KEY, WRONG_KEY])
    assert.ok(!fixed.includes(gone), gone);
  await writeFile(join(flake, "flake.nix"), fixed);
  const clean = await runCli(["doctor", "--json", "--timeout", "1s"], {
    cwd: flake,
    env: {
      XDG_CACHE_HOME: join(tmp.path, `xdg-${randomBytes(4).toString("hex")}`),
      NIX_CONFIG: `${BASE_NIX_CONFIG}\naccept-flake-config = true`,
    },
  });
  const cleanRep = JSON.parse(clean.stdout) as Report;
  assert.deepEqual(cleanRep.fixes, [], clean.stdout);
  assert.equal(clean.code, 0);
  assert.equal(cleanRep.keys.find((k) => k.key === publicKey)?.status, "ok");
  assert.deepEqual(cleanRep.coverage && { ok: cleanRep.coverage.ok, total: cleanRep.coverage.total }, {
    ok: 1,
    total: 1,
  });

  // The same report for a human: a line per cache and the numbered fixes.
  const human = await runCli(["doctor", "--flake", flake, "--no-coverage"], {
    env: { NIX_CONFIG: `${BASE_NIX_CONFIG}\naccept-flake-config = true` },
  });
  assert.equal(human.code, 0, human.stdout + human.stderr);
  assert.match(human.stdout, new RegExp(`${live.replace(/[.]/g, "\\.")}\\s+ok\\s+\\d+ ms`));
  assert.match(human.stdout, /nothing to fix/);
});

test("doctor: usage errors exit 2", async () => {
  const r = await runCli(["doctor", "--timeout", "soon"], { cwd: flake });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--timeout/);
  const none = await runCli(["doctor", "--flake", tmpdir()]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /no flake\.nix/);
});

test("a cache that answers slowly is slow (a warning); one whose nix-cache-info is 404 or for another store is invalid", async () => {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    const send = (status: number, body: string) =>
      res.writeHead(status, { "content-type": "text/plain" }).end(body);
    if (req.url === "/slow/nix-cache-info") {
      // A slow server: it answers 400 ms late (doctor's --slow below is 200 ms).
      setTimeout(() => send(200, "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 50\n"), 400);
    } else if (req.url === "/other/nix-cache-info") send(200, "StoreDir: /gnu/store\n");
    else send(404, "no");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const dir = join(tmp.path, "slow-flake");
  await writeFlake(
    dir,
    "{ }",
    undefined,
    `  nixConfig.extra-substituters = [ "${base}/slow" "${base}/missing" "${base}/other" ];\n`,
  );
  try {
    const r = await runCli(["doctor", "--json", "--no-coverage", "--slow", "200ms"], {
      cwd: dir,
      env: { NIX_CONFIG: `${BASE_NIX_CONFIG}\naccept-flake-config = true` },
    });
    const rep = JSON.parse(r.stdout) as Report;
    const sub = (p: string) => rep.substituters.find((s) => s.url === `${base}${p}`);
    assert.equal(sub("/slow")?.status, "slow", JSON.stringify(sub("/slow")));
    assert.ok((sub("/slow")?.ms ?? 0) >= 200);
    assert.ok(rep.warnings.some((w) => w.startsWith(`${base}/slow is slow`)));
    assert.equal(sub("/missing")?.status, "invalid");
    assert.match(sub("/missing")?.reason ?? "", /answered HTTP 404 \(not a binary cache at this URL/);
    assert.equal(sub("/other")?.status, "invalid");
    assert.match(sub("/other")?.reason ?? "", /StoreDir \/gnu\/store, not \/nix\/store: Nix refuses it/);
    // Two fixes (the invalid ones, each an edit of the list line), none for the slow cache.
    assert.equal(rep.fixes.length, 2, rep.fixes.join("\n"));
    assert.equal(r.code, 1);
    assert.ok(rep.fixes.every((f) => f.startsWith("substituter that is not a usable cache")));
    const fixed = applyEdits(await readFile(join(dir, "flake.nix"), "utf8"), rep.edits);
    assert.match(
      fixed,
      new RegExp(`nixConfig\\.extra-substituters = \\[ "${base.replace(/[.]/g, "\\.")}/slow" \\];`),
    );
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test("a flake named by URL (git+file:) is read through builtins.getFlake: the same verdicts, the edits in words", async () => {
  const dir = join(tmp.path, "git-flake");
  await writeFlake(dir, "{ }", undefined, `  nixConfig.extra-substituters = [ "${DEAD_NAME}" ];\n`);
  const git = (...args: string[]) =>
    runNixProgram("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", ...args]);
  await git("init", "-q");
  await git("add", "flake.nix");
  await git("commit", "-qm", "flake");
  const r = await runCli(["doctor", "--json", "--no-coverage", "--flake", `git+file://${dir}`], {
    env: { NIX_CONFIG: `${BASE_NIX_CONFIG}\naccept-flake-config = true` },
  });
  assert.equal(r.code, 1, r.stderr);
  const rep = JSON.parse(r.stdout) as Report & { flakeFile: string | null };
  assert.equal(rep.flakeFile, null);
  assert.equal(rep.substituters[0]?.status, "dead");
  assert.deepEqual(rep.edits, []);
  assert.match(
    rep.fixes[0] ?? "",
    new RegExp(`change ${DEAD_NAME.replace(/[.]/g, "\\.")} in the flake's nixConfig$`),
  );
});

test("--help documents the JSON contract and the exit status", async () => {
  const r = await runCli(["doctor", "--help"]);
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    /"substituters": \[\{"url", "status": "ok"\|"dead"\|"invalid"\|"slow", "reason", "ms"/,
  );
  assert.match(r.stdout, /Exit status: 0 when nothing needs fixing, 1 when anything does/);
});
