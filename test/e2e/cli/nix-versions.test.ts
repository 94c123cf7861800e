// The end-to-end flows (`targets`, `ci`, `build --push`, `push`, `verify --closure`, `doctor`)
// against the real Nix 2.8 of this machine and, through the test-only front first on PATH
// (helpers/nix-front/), against each newer version it emulates: Nix 2.19, 2.24, 2.33, 2.35, Lix
// 2.93 and Determinate Nix 3.15, each answering in its own shapes and words, each refusing the
// forms it does not have and failing any call in a form it deprecates. Then two versions whose
// `nix --version` nixcache cannot read: the newer form first, the older one on a usage error.
// One nixcache server for the file; a small flake per version (fresh store paths, so each version
// builds and pushes for real).
import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { request } from "undici";
import { adminCreateCache, adminCreateToken } from "../../../src/server/admin.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import { writeFlake } from "../../fixtures/flakes/make-flake.js";
import { runCli, runNode } from "../../helpers/cli.js";
import { nixAsync, nixSync, requireNix, tempDir } from "../../helpers/nix.js";
import { FRONT_PROFILES, frontCalls, frontEnv } from "../../helpers/nix-front.js";

interface Version {
  /** A profile of helpers/nix-front/profiles.json; null: the real Nix, no front. */
  profile: string | null;
  /** How doctor names it. */
  text: string;
  /** The narinfo disk cache file it uses. */
  diskCache: string;
  /** The path-info flags it must be asked with. */
  pathInfo: string[];
  /** The config subcommand it must be asked with. */
  config: string[];
  /** How it says whether the daemon trusts the user (null: it cannot). */
  trust: RegExp | null;
  /** The command doctor gives for a stale nix-cache-info. */
  metaClear: RegExp;
  /** It knows `narinfo-cache-meta-ttl` (new in 2.34). */
  knowsMetaTtl: boolean;
}

const SQLITE = /: sqlite3 \S+ "DELETE FROM BinaryCaches WHERE url = '[^']+'"$/;
const VERSIONS: Version[] = [
  {
    profile: null,
    text: "Nix 2.8.0",
    diskCache: "binary-cache-v6.sqlite",
    pathInfo: [],
    config: ["show-config"],
    trust: null,
    metaClear: /keeps it forever \(Nix before 2\.10 never refreshes nix-cache-info\): refresh it: sqlite3 /,
    knowsMetaTtl: false,
  },
  {
    profile: "nix-2.19.7",
    text: "Nix 2.19.7",
    diskCache: "binary-cache-v6.sqlite",
    pathInfo: [],
    config: ["show-config"],
    trust: /`nix store ping` says Trusted: 0/,
    metaClear: SQLITE,
    knowsMetaTtl: false,
  },
  {
    profile: "nix-2.24.14",
    text: "Nix 2.24.14",
    diskCache: "binary-cache-v6.sqlite",
    pathInfo: [],
    config: ["config", "show"],
    trust: /`nix store info` says Trusted: 0/,
    metaClear: SQLITE,
    knowsMetaTtl: false,
  },
  {
    profile: "nix-2.33.3",
    text: "Nix 2.33.3",
    diskCache: "binary-cache-v7.sqlite",
    pathInfo: ["--json-format", "2"],
    config: ["config", "show"],
    trust: /`nix store info` says Trusted: 0/,
    metaClear: SQLITE,
    knowsMetaTtl: false,
  },
  {
    profile: "nix-2.35.2",
    text: "Nix 2.35.2",
    diskCache: "binary-cache-v8.sqlite",
    pathInfo: ["--json-format", "3"],
    config: ["config", "show"],
    trust: /`nix store info` says Trusted: 0/,
    metaClear:
      /narinfo-cache-meta-ttl = 604800 s\): refresh it: nix --extra-experimental-features nix-command store info --refresh --store http:\/\/\S+$/,
    knowsMetaTtl: true,
  },
  {
    profile: "lix-2.93.3",
    text: "Lix 2.93.3",
    diskCache: "binary-cache-v6.sqlite",
    pathInfo: [],
    config: ["config", "show"],
    trust: /`nix store ping` says Trusted: 0/,
    metaClear: SQLITE,
    knowsMetaTtl: false,
  },
  {
    profile: "determinate-3.15.1",
    text: "Determinate Nix 3.15.1 (Nix 2.33.0)",
    diskCache: "binary-cache-v7.sqlite",
    pathInfo: ["--json-format", "2"],
    config: ["config", "show"],
    trust: /`nix store info` says Trusted: 0/,
    metaClear: SQLITE,
    knowsMetaTtl: false,
  },
];

interface Target {
  attr: string;
  status: string;
  outPath: string | null;
  drvPath?: string | null;
  error?: string;
  verify?: string;
  push?: Record<string, string>;
}

let work: { path: string; cleanup: () => void };
let srv: RunningServer;
let cache: string;
let token: string;
let publicKey: string;

before(async () => {
  requireNix();
  work = tempDir("nixcache-nix-versions-");
  // Builds run as a nixbld user, who must be able to read the flakes.
  chmodSync(work.path, 0o755);
  const data = path.join(work.path, "data");
  publicKey = (await adminCreateCache(data, { name: "main", isPublic: true, priority: 40 })).publicKey;
  token = (await adminCreateToken(data, { cache: "main", perm: "write", expiresAt: null })).token;
  srv = await startServer({ dataDir: data, port: 0 });
  cache = `${srv.url}/main`;
});

after(async () => {
  await srv?.close();
  work?.cleanup();
});

const slug = (v: Version) => v.profile ?? "real-nix-2.8.0";

/** A flake of its own per version: a package with a dependency, a check, one that fails to build. */
async function flakeFor(dir: string): Promise<{ flake: string; noBroken: string; onlyBroken: string }> {
  const flake = path.join(dir, "flake");
  await writeFlake(
    flake,
    `let dep = leaf "x86_64-linux" "nv-dep"; in {
      packages.x86_64-linux.hello = mk "x86_64-linux" "nv-hello" "echo \${dep} > $out";
      packages.x86_64-linux.broken = mk "x86_64-linux" "nv-broken" "echo broken-on-purpose; exit 3";
      checks.x86_64-linux.ok = leaf "x86_64-linux" "nv-check";
    }`,
    undefined,
    `  nixConfig = {
    extra-substituters = [ "${cache}" ];
    extra-trusted-public-keys = [ "${publicKey}" ];
    narinfo-cache-meta-ttl = 60;
  };
`,
  );
  const noBroken = path.join(dir, "no-broken.yaml");
  await writeFile(
    noBroken,
    'builds:\n  include:\n    - "*.x86_64-linux.*"\n  exclude:\n    - packages.x86_64-linux.broken\n',
  );
  const onlyBroken = path.join(dir, "hello-and-broken.yaml");
  await writeFile(
    onlyBroken,
    "builds:\n  include:\n    - packages.x86_64-linux.hello\n    - packages.x86_64-linux.broken\n",
  );
  return { flake, noBroken, onlyBroken };
}

function envFor(v: Version, dir: string, log: string, xdg: string): NodeJS.ProcessEnv {
  const base = { ...process.env, XDG_CACHE_HOME: xdg, NIXCACHE_TOKEN: token };
  return v.profile ? frontEnv(dir, v.profile, { log, trusted: false, base }) : base;
}

async function narinfo(storePath: string): Promise<{ status: number; text: string }> {
  const res = await request(`${cache}/${path.basename(storePath).slice(0, 32)}.narinfo`);
  return { status: res.statusCode, text: await res.body.text() };
}

/** The adapter's notice of a deprecated call, or the front's refusal of one. */
const DEPRECATED = /deprecated form|is deprecated|deprecated alias/;

// Two versions at a time: most of a flow is waiting on processes.
describe("the flows on every Nix version, each asked the way it wants", { concurrency: 2 }, () => {
  for (const v of VERSIONS) {
    test(`${v.text}${v.profile ? " (through the front)" : " (real)"}`, async () => {
      const dir = path.join(work.path, slug(v));
      await mkdir(dir, { recursive: true });
      const { flake, noBroken, onlyBroken } = await flakeFor(dir);
      const xdg = path.join(dir, "xdg");
      const log = path.join(dir, "calls.jsonl");
      const env = envFor(v, dir, log, xdg);
      const stderrs: string[] = [];
      const cli = async (args: string[]) => {
        const t0 = Date.now();
        const r = await runCli(args, { env });
        if (process.env.NV_TIMING) console.error(`TIMING ${args[0]} ${Date.now() - t0} ms`);
        stderrs.push(r.stderr);
        return r;
      };

      // ci: build what is missing, push it, verify it with its closure.
      const ci = await cli([
        "ci",
        "--flake",
        flake,
        "--config",
        noBroken,
        "--cache",
        cache,
        "--trusted-key",
        publicKey,
        "--no-report",
        "--json",
      ]);
      assert.equal(ci.code, 0, ci.stderr);
      const ciRep = JSON.parse(ci.stdout) as { targets: Target[] };
      const hello = ciRep.targets.find((t) => t.attr === "packages.x86_64-linux.hello") as Target;
      assert.equal(hello?.status, "built");
      assert.equal(hello?.verify, "ok");
      assert.equal(ciRep.targets.find((t) => t.attr === "checks.x86_64-linux.ok")?.verify, "ok");

      // targets and verify --closure ask Nix nothing but `nix eval`, which no version answers
      // differently (the front passes it straight through): real 2.8 and one emulated version do.
      if (v.profile === null || v.profile === "nix-2.35.2") {
        const tg = await cli(["targets", "--flake", flake, "--json"]);
        assert.equal(tg.code, 0, tg.stderr);
        const targets = JSON.parse(tg.stdout) as Target[];
        assert.deepEqual(targets.map((t) => t.attr).sort(), [
          "checks.x86_64-linux.ok",
          "packages.x86_64-linux.broken",
          "packages.x86_64-linux.hello",
        ]);
        assert.equal(targets.find((t) => t.attr === hello.attr)?.outPath, hello.outPath);
        const verify = await cli([
          "verify",
          "--flake",
          flake,
          "--config",
          noBroken,
          "--cache",
          cache,
          "--trusted-key",
          publicKey,
          "--closure",
          "--json",
        ]);
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      }

      // build --push: hello is cached now; the broken target fails, in this version's words.
      const build = await cli([
        "build",
        "--flake",
        flake,
        "--config",
        onlyBroken,
        "--push",
        cache,
        "--keep-going",
        "--json",
      ]);
      assert.equal(build.code, 1, build.stderr);
      const built = JSON.parse(build.stdout) as { targets: Target[] };
      const status = (attr: string) => built.targets.find((t) => t.attr === attr);
      assert.equal(status(hello.attr)?.status, "cached");
      assert.equal(status("packages.x86_64-linux.broken")?.status, "failed");
      assert.match(
        status("packages.x86_64-linux.broken")?.error ?? "",
        /-nv-broken\.drv' failed with exit code 3$/,
      );

      // push: a content-addressed path (its `ca` in this version's form), which this machine's Nix
      // first looked up in the cache and found missing (a negative entry in its disk cache).
      const file = path.join(dir, "greeting.txt");
      await writeFile(file, `hello from ${slug(v)} ${Math.random()}\n`);
      const ca = nixSync("nix-store", ["--add", file]).toString().trim();
      // (Async: the server answering it runs in this process.)
      const lookedUp = await nixAsync(
        "nix",
        ["--extra-experimental-features", "nix-command", "path-info", "--store", cache, ca],
        { env: { ...process.env, XDG_CACHE_HOME: xdg } },
      ).then(
        () => "found",
        () => "missing",
      );
      assert.equal(lookedUp, "missing");
      const push = await cli(["push", cache, ca]);
      assert.equal(push.code, 0, push.stderr);
      const ni = await narinfo(ca);
      assert.equal(ni.status, 200);
      assert.match(ni.text, /^CA: fixed:r:sha256:[0-9a-z]{52}$/m);

      // doctor: the disk cache of this version, the push it hides, the nix-cache-info it keeps (the
      // cache "changed" its priority since: the row says 99), whether the daemon trusts us, and the
      // nixConfig setting this version does not know.
      const v6 = new Database(path.join(xdg, "nix", "binary-cache-v6.sqlite"));
      v6.prepare("UPDATE BinaryCaches SET priority = 99").run();
      v6.close();
      const doc = await cli(["doctor", "--flake", flake, "--json", "--no-coverage", "--timeout", "2s"]);
      assert.equal(doc.code, 1, doc.stderr);
      const rep = JSON.parse(doc.stdout) as {
        fixes: string[];
        nix: { version: string };
        diskCache: { file: string };
      };
      const fixes = rep.fixes.join("\n");
      assert.equal(rep.nix.version, v.text);
      assert.equal(path.basename(rep.diskCache.file), v.diskCache);
      const hidden = rep.fixes.find((f) => f.includes("as missing from"));
      assert.ok(hidden?.includes(ca) && hidden.includes(v.diskCache), fixes);
      const meta = rep.fixes.find((f) => f.includes("nix-cache-info"));
      assert.match(meta ?? "", /\(Priority 99, now 40\)/, fixes);
      assert.match(meta ?? "", v.metaClear);
      const untrusted = rep.fixes.find((f) => f.includes("is not a trusted user"));
      if (v.trust) assert.match(untrusted ?? "", v.trust, fixes);
      else assert.equal(untrusted, undefined, fixes);
      const unknown = rep.fixes.find((f) => f.includes("sets `narinfo-cache-meta-ttl`"));
      assert.equal(unknown !== undefined, !v.knowsMetaTtl, fixes);
      if (unknown) assert.ok(unknown.includes(`which ${v.text} does not know`), unknown);

      // No call in a deprecated form, none refused; each asked as this version wants.
      for (const e of stderrs) assert.doesNotMatch(e, DEPRECATED);
      if (v.profile === null) return;
      const calls = frontCalls(log);
      assert.deepEqual(
        calls.filter((c) => c.deprecated || c.refused),
        [],
      );
      const pathInfos = calls.filter((c) => c.argv.includes("path-info"));
      assert.ok(pathInfos.length > 0);
      for (const c of pathInfos) {
        const at = c.argv.indexOf("--json-format");
        assert.deepEqual(at < 0 ? [] : c.argv.slice(at, at + 2), v.pathInfo, c.argv.join(" "));
      }
      const configs = calls.filter((c) => c.argv.includes("show-config") || c.argv.includes("config"));
      assert.ok(configs.length > 0);
      for (const c of configs)
        assert.ok(c.argv.join(" ").includes(`${v.config.join(" ")} --json`), c.argv.join(" "));
    });
  }
});

describe("a Nix whose `nix --version` nixcache cannot read: the newer form first, then the older", () => {
  const cases: Array<{ profile: string; refused: string[]; diskCache: string }> = [
    // The newest disk cache file that exists: the front shows the real one as v8 for the newer.
    { profile: "unknown-like-2.35", refused: [], diskCache: "binary-cache-v8.sqlite" },
    {
      profile: "unknown-like-2.19",
      refused: [
        "'config' is not a recognised command",
        "'info' is not a recognised command",
        "unrecognised flag '--json-format'",
      ],
      diskCache: "binary-cache-v6.sqlite",
    },
  ];
  for (const c of cases) {
    test(`${c.profile}: build --push and doctor work, saying once that the version is unknown`, async () => {
      const dir = path.join(work.path, c.profile);
      await mkdir(dir, { recursive: true });
      const { flake, noBroken } = await flakeFor(dir);
      const log = path.join(dir, "calls.jsonl");
      const env = envFor({ profile: c.profile } as Version, dir, log, path.join(dir, "xdg"));
      const build = await runCli(
        ["build", "--flake", flake, "--config", noBroken, "--push", cache, "--json"],
        { env },
      );
      assert.equal(build.code, 0, build.stderr);
      const r = JSON.parse(build.stdout) as { targets: Target[] };
      const hello = r.targets.find((t) => t.attr === "packages.x86_64-linux.hello")?.outPath as string;
      assert.deepEqual(r.targets.map((t) => [t.attr, t.status, t.push?.[cache]]).sort(), [
        ["checks.x86_64-linux.ok", "built", "pushed"],
        ["packages.x86_64-linux.hello", "built", "pushed"],
      ]);
      // This machine's Nix has a disk cache (the real 2.8's v6; the front shows it under its name).
      await nixAsync(
        "nix",
        ["--extra-experimental-features", "nix-command", "path-info", "--store", cache, hello],
        {
          env: { ...process.env, XDG_CACHE_HOME: path.join(dir, "xdg") },
        },
      );
      const doc = await runCli(["doctor", "--flake", flake, "--json", "--no-coverage", "--timeout", "2s"], {
        env,
      });
      const rep = JSON.parse(doc.stdout) as {
        fixes: string[];
        nix: { version: string };
        diskCache: { file: string };
      };
      assert.equal(rep.nix.version, "this Nix (an unrecognised version)");
      assert.equal(path.basename(rep.diskCache.file), c.diskCache);
      // The store's answer was found through the fallback too: `nix store ping` on the older one.
      assert.ok(
        rep.fixes.some((f) => f.includes("is not a trusted user")),
        rep.fixes.join("\n"),
      );
      for (const out of [build.stderr, doc.stderr]) {
        assert.equal(out.match(/cannot tell which Nix this is/g)?.length, 1, out);
        assert.doesNotMatch(out, DEPRECATED);
      }
      const calls = frontCalls(log);
      assert.deepEqual(
        calls.filter((x) => x.deprecated),
        [],
      );
      assert.deepEqual([...new Set(calls.flatMap((x) => (x.refused ? [x.refused] : [])))].sort(), c.refused);
    });
  }
});

describe("nix derivation show in every shape", () => {
  test("the outputs of input-addressed and fixed-output derivations, whichever version prints them", async () => {
    const dir = path.join(work.path, "derivations");
    await mkdir(dir, { recursive: true });
    const drv = (extra: string) =>
      nixSync("nix-instantiate", [
        "-E",
        `derivation { name = "nv-drv-${Date.now()}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo hi > $out" ]; ${extra} }`,
      ])
        .toString()
        .trim();
    const hash =
      'outputHashAlgo = "sha256"; outputHash = "sha256-EFUdrtf6Rn0LWIJufrmg8q99aT3jGfLvd1//zaJEufY=";';
    const drvs = [
      drv(""),
      drv(`outputHashMode = "recursive"; ${hash}`),
      drv(`outputHashMode = "flat"; ${hash}`),
    ];
    const want = drvs.map((d) => ({
      path: d,
      out: nixSync("nix-store", ["--query", "--outputs", d]).toString().trim(),
    }));
    const script = path.join(dir, "show.mjs");
    const lib = fileURLToPath(new URL("../../../dist/local-nix/derivation-show.js", import.meta.url));
    await writeFile(
      script,
      `import { showDerivations } from ${JSON.stringify(lib)};\nconsole.log(JSON.stringify(await showDerivations(process.argv.slice(2))));\n`,
    );
    // Each shape once: 2.8's show-derivation, 2.19's keyed by path with names, 2.32's keyed by base
    // name, 2.33's v4, Lix's, and an unreadable version's fallback.
    const shapes = ["nix-2.19.7", "nix-2.32.4", "nix-2.33.3", "lix-2.93.3", "unknown-like-2.19"];
    for (const profile of [null, ...shapes]) {
      if (profile) assert.ok(FRONT_PROFILES[profile], profile);
      const log = path.join(dir, `${profile}.jsonl`);
      const env = profile ? frontEnv(dir, profile, { log }) : process.env;
      const r = await runNode(script, drvs, { env });
      assert.equal(r.code, 0, `${profile}: ${r.stderr}`);
      const got = (JSON.parse(r.stdout) as Array<{ path: string; outputs: { out: string } }>)
        .map((d) => ({ path: d.path, out: d.outputs.out }))
        .sort((a, b) => drvs.indexOf(a.path) - drvs.indexOf(b.path));
      assert.deepEqual(got, want, String(profile));
      assert.doesNotMatch(r.stderr, DEPRECATED);
      assert.deepEqual(
        frontCalls(log).filter((c) => c.deprecated || (c.refused && !profile?.startsWith("unknown"))),
        [],
      );
    }
  });
});
