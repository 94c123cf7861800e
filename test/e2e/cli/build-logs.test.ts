// Build logs in the cache, end to end: `nixcache build` sends the log of every target it built or
// failed to build to each push cache as `log/<drv basename>`; real Nix reads them back with
// `nix log` from a nixcache server and from a file:// cache; a cache that refuses logs costs one
// warning and nothing else; under GitHub Actions the job log folds each target's log in a group
// and the step summary holds each failed target's last lines.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { mintToken } from "../../../src/server/auth/tokens.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import { nix, writeFlake } from "../../fixtures/flakes/make-flake.js";
import { runCli } from "../../helpers/cli.js";
import { freshNixEnv, requireNix, tempDir } from "../../helpers/nix.js";

interface JsonTarget {
  attr: string;
  status: string;
  push: Record<string, string>;
  log: string | null;
  logUrl?: string;
}

/** `nix log DRV` reading only from `substituter`: no local log (NIX_LOG_DIR empty), no narinfo cache. */
function nixLog(work: string, drv: string, substituter: string): Promise<{ stdout: string; stderr: string }> {
  const logDir = path.join(work, `no-local-logs-${Math.random().toString(36).slice(2)}`);
  mkdirSync(logDir);
  return new Promise((resolve, reject) => {
    execFile(
      "nix",
      [
        "--extra-experimental-features",
        "nix-command flakes",
        "log",
        drv,
        "--option",
        "substituters",
        substituter,
        // Logs are not signed (nothing in a binary cache signs them).
        "--option",
        "require-sigs",
        "false",
      ],
      { env: { ...freshNixEnv(work), NIX_LOG_DIR: logDir }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`nix log ${drv} from ${substituter} failed: ${stderr}`))
          : resolve({ stdout, stderr }),
    );
  });
}

const drvOf = (flake: string, attr: string) => nix(["eval", "--raw", `path:${flake}#${attr}.drvPath`]);

const byAttr = (targets: JsonTarget[], attr: string): JsonTarget => {
  const t = targets.find((x) => x.attr === attr);
  assert.ok(t, `no target ${attr}`);
  return t;
};

/**
 * A plain Nix HTTP binary cache (files in memory) that takes NARs and narinfos but refuses every
 * build log with `status`, counting the refusals.
 */
async function logRefusingCache(status: number) {
  const files = new Map<string, Buffer>();
  let logPuts = 0;
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const p = (req.url ?? "/").replace(/^\/main\//, "");
      if (req.method === "PUT" && p.startsWith("log/")) {
        logPuts++;
        res.writeHead(status, { "content-type": "text/plain" }).end("no logs here\n");
      } else if (req.method === "PUT") {
        files.set(p, Buffer.concat(chunks));
        res.writeHead(200).end();
      } else if (p === "nix-cache-info") {
        res.writeHead(200, { "content-type": "text/x-nix-cache-info" }).end("StoreDir: /nix/store\n");
      } else {
        const f = files.get(p);
        res.writeHead(f ? 200 : 404).end(req.method === "HEAD" ? undefined : (f ?? "not found\n"));
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/main`,
    logPuts: () => logPuts,
    files,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

describe("build logs in the cache (real nix, real nixcache server)", () => {
  let work: ReturnType<typeof tempDir>;
  let srv: RunningServer;
  let token: string;
  let cache: string;

  before(async () => {
    requireNix();
    work = tempDir("nixcache-build-logs-");
    chmodSync(work.path, 0o755);
    srv = await startServer({ dataDir: path.join(work.path, "data"), port: 0, upstreams: [] });
    await srv.meta.createCache({ name: "main", isPublic: true, priority: 40 });
    token = (await mintToken(srv.meta, { kind: "cache", cache: "main", perm: "write", expiresAt: null }))
      .token;
    cache = `${srv.url}/main`;
  });
  after(async () => {
    await srv?.close();
    work?.cleanup();
  });

  test("each built and failed target's log goes to the caches as log/<drv>, and `nix log` reads it back", async () => {
    const f = path.join(work.path, "flake");
    await writeFlake(
      f,
      `{ packages.x86_64-linux = {
          loud = mk "x86_64-linux" "bl-loud" "echo '<b>not bold</b> & <script>alert(1)</script>'; i=0; while [ $i -lt 150 ]; do i=$((i+1)); echo loud-$i; done; echo built > $out";
          broken = mk "x86_64-linux" "bl-broken" "echo this-build-fails-on-purpose; echo '\`\`\`\`'; exit 3";
          quiet = mk "x86_64-linux" "bl-quiet" "echo quiet > $out 2>/dev/null";
        }; }`,
    );
    const fileCache = path.join(work.path, "file-cache");
    const summary = path.join(work.path, "summary.md");
    const res = await runCli(
      [
        "build",
        "--flake",
        f,
        "--push",
        cache,
        "--push",
        `file://${fileCache}`,
        "--keep-going",
        "--json",
        "--log-dir",
        path.join(work.path, "logs"),
      ],
      { env: { NIXCACHE_TOKEN: token, GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary } },
    );
    assert.equal(res.code, 1, `the failed target makes the exit status 1\n${res.stderr}`);
    assert.doesNotMatch(res.stderr, /did not take a build log/, "no warning: both caches took the logs");
    const targets = (JSON.parse(res.stdout) as { targets: JsonTarget[] }).targets;
    const loud = byAttr(targets, "packages.x86_64-linux.loud");
    const broken = byAttr(targets, "packages.x86_64-linux.broken");
    const quiet = byAttr(targets, "packages.x86_64-linux.quiet");
    assert.equal(loud.status, "built");
    assert.equal(broken.status, "failed");
    const drvs = {
      loud: drvOf(f, "packages.x86_64-linux.loud"),
      broken: drvOf(f, "packages.x86_64-linux.broken"),
      quiet: drvOf(f, "packages.x86_64-linux.quiet"),
    };

    // The dashboard page of each log, on the nixcache server (the first push cache).
    for (const [t, drv] of [
      [loud, drvs.loud],
      [broken, drvs.broken],
      [quiet, drvs.quiet],
    ] as const)
      assert.equal(t.logUrl, `${srv.url}/ui/#/cache/main/log/${path.basename(drv)}`, t.attr);

    // As Nix's binary-cache layout has it, on the server and in the file:// cache.
    const served = await fetch(`${cache}/log/${path.basename(drvs.loud)}`);
    assert.equal(served.status, 200);
    const loudLog = await served.text();
    assert.match(loudLog, /^<b>not bold<\/b> & <script>alert\(1\)<\/script>\nloud-1\n[\s\S]*loud-150\n$/);
    assert.equal(await readFile(path.join(fileCache, "log", path.basename(drvs.loud)), "utf8"), loudLog);
    assert.match(
      await readFile(path.join(fileCache, "log", path.basename(drvs.broken)), "utf8"),
      /this-build-fails-on-purpose/,
    );
    assert.equal(
      await (await fetch(`${cache}/log/${path.basename(drvs.quiet)}`)).text(),
      "",
      "a silent build's log is empty",
    );

    // Real Nix reads them back, from the server and from the file:// cache (not from its own logs).
    for (const sub of [cache, `file://${fileCache}`]) {
      const l = await nixLog(work.path, drvs.loud, sub);
      assert.equal(l.stdout, loudLog, sub);
      assert.match(
        l.stderr,
        new RegExp(`got build log for '${drvs.loud}' from '${sub.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}'`),
      );
      const b = await nixLog(work.path, drvs.broken, sub);
      assert.match(b.stdout, /^this-build-fails-on-purpose\n````\n$/, sub);
    }

    // The job log folds each target's log in a group, the log's own lines never run as commands.
    const group = (attr: string) => {
      const m = new RegExp(
        `^::group::${attr.replace(/\./g, "\\.")} \\(x86_64-linux\\)(.*)\\n::stop-commands::(\\S+)\\n([\\s\\S]*?)\\n::\\2::\\n::endgroup::$`,
        "m",
      ).exec(res.stderr);
      assert.ok(m, `no group for ${attr} in\n${res.stderr}`);
      return { title: m[1] as string, body: m[3] as string };
    };
    const lg = group("packages.x86_64-linux.loud");
    assert.equal(lg.title, ": built");
    assert.match(
      lg.body,
      /^loud-51\nloud-52\n[\s\S]*\nloud-150\n\nwhole log: http:\/\//,
      "the last 100 lines",
    );
    const bg = group("packages.x86_64-linux.broken");
    assert.match(bg.title, /^: FAILED: .*bl-broken\.drv' failed with exit code 3/);
    assert.match(bg.body, /^this-build-fails-on-purpose\n````\n/);

    // The step summary: the failed target's last lines, collapsed, in a fence its backticks cannot close.
    const md = await readFile(summary, "utf8");
    assert.ok(
      md.includes(
        "<details><summary>❌ <code>packages.x86_64-linux.broken</code> (x86_64-linux): the last 2 lines of its build log</summary>\n\n" +
          "`````text\nthis-build-fails-on-purpose\n````\n`````\n\n" +
          `[The whole log](${broken.logUrl})\n\n</details>\n`,
      ),
      md,
    );
    assert.equal(md.match(/<details>/g)?.length, 1, "only failed targets get a log block");
  });

  test("a cache that refuses logs gets one warning; the build, its pushes and its exit status are unchanged", async () => {
    const refusing = await logRefusingCache(403);
    try {
      const f = path.join(work.path, "refused");
      await writeFlake(
        f,
        `{ packages.x86_64-linux = {
            one = mk "x86_64-linux" "rl-one" "echo one-log; echo 1 > $out";
            two = mk "x86_64-linux" "rl-two" "echo two-log; echo 2 > $out";
            three = mk "x86_64-linux" "rl-three" "echo three-log; echo 3 > $out";
          }; }`,
      );
      const res = await runCli(["build", "--flake", f, "--push", refusing.url, "--push", cache, "--json"], {
        env: { NIXCACHE_TOKEN: token },
      });
      assert.equal(res.code, 0, res.stderr);
      const warnings = res.stderr.split("\n").filter((l) => l.includes("did not take a build log"));
      assert.equal(warnings.length, 1, res.stderr);
      assert.match(
        warnings[0] ?? "",
        new RegExp(
          `${refusing.url.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} did not take a build log: .*HTTP 403`,
        ),
      );
      assert.ok(!res.stderr.includes(token), "the token is never shown");
      const r = JSON.parse(res.stdout) as {
        targets: JsonTarget[];
        summary: { ok: boolean; caches: Array<{ url: string; status: string }> };
      };
      assert.equal(r.summary.ok, true);
      assert.deepEqual(
        r.summary.caches.map((c) => c.status),
        ["ok", "ok"],
      );
      for (const t of r.targets) {
        assert.equal(t.status, "built", t.attr);
        assert.equal(t.push[refusing.url], "pushed", t.attr);
        // The first push cache that is a nixcache server and took the log: the second one here.
        assert.match(t.logUrl ?? "", new RegExp(`^${srv.url}/ui/#/cache/main/log/[0-9a-z]{32}-rl-`), t.attr);
      }
      assert.ok(refusing.logPuts() >= 1, "the refusing cache was asked");
      assert.ok(
        [...refusing.files.keys()].some((k) => k.endsWith(".narinfo")),
        "and still got the outputs",
      );
    } finally {
      await refusing.close();
    }
  });
});
