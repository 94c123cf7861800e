// `nixcache migrate` on a repository laid out like nix-openclaw's: a git repository with a flake
// (packages and checks for x86_64-linux and aarch64-darwin), a garnix.yaml, and a nixConfig that
// lists cache.garnix.io and its key. The cache moved to is nixcache's own server, run here; the
// secrets go to a local server implementing GitHub's REST contract.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sodium from "libsodium-wrappers";
import { hashBytes } from "../src/nix/hash.js";
import { formatNarInfo, signNarInfo } from "../src/nix/narinfo.js";
import { formatPublicKey, generateSecretKey, publicKeyOf } from "../src/nix/signing.js";
import { parseStorePath } from "../src/nix/store-path.js";
import { type RunningServer, startServer } from "../src/server/server.js";
import { nixOutPath, writeFlake } from "./fixtures/flakes/make-flake.js";
import { runCli } from "./helpers/cli.js";
import { type FakeGitHub, startFakeGitHub } from "./helpers/github-server.js";
import { requireNix, tempDir } from "./helpers/nix.js";

const GARNIX = "https://cache.garnix.io";
const GARNIX_KEY = "cache.garnix.io:CTFPyKSLcx5RMJKfLo5EEPUObbA78b0YQ2DTCJXqr9g=";
const GITHUB_TOKEN = "ghp_migrate-test-token";

let tmp: { path: string; cleanup: () => void };
let srv: RunningServer;
let gh: FakeGitHub;
let cacheUrl: string;
let publicKey: string;
let token: string;
let repo: string;

const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], {
    cwd: repo,
    encoding: "utf8",
  });

interface StepJson {
  id: string;
  status: string;
  detail: string;
  actions: string[];
  needs?: string;
  resumed?: boolean;
}
interface ReportJson {
  steps: StepJson[];
  complete: boolean;
  ok: boolean;
}
const step = (r: ReportJson, id: string) => r.steps.find((s) => s.id === id) as StepJson;

const migrate = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(["migrate", ...args, "--flake", repo, "--json"], { env: { NIXCACHE_TOKEN: token, ...env } });

const common = () => ["--to", cacheUrl, "--upstream", "none", "--action-ref", "nixcache/nixcache@v1"];

before(async () => {
  requireNix();
  await sodium.ready;
  tmp = tempDir("nixcache-migrate-");
  const data = join(tmp.path, "data");
  const made = await runCli(["cache", "create", "main", "--data", data]);
  assert.equal(made.code, 0, made.stderr);
  publicKey = made.stdout.trim();
  const tok = await runCli(["token", "create", "--data", data, "--cache", "main", "--perm", "write"]);
  assert.equal(tok.code, 0, tok.stderr);
  token = tok.stdout.trim();
  srv = await startServer({ dataDir: data, port: 0 });
  cacheUrl = `${srv.url}/main`;
  gh = await startFakeGitHub({
    repo: "openclaw/nix-openclaw",
    tokens: { [GITHUB_TOKEN]: ["secrets", "variables"] },
    keyPair: sodium.crypto_box_keypair(),
  });

  repo = join(tmp.path, "nix-openclaw");
  await writeFlake(
    repo,
    `{
      packages.x86_64-linux.openclaw = leaf "x86_64-linux" "openclaw";
      packages.aarch64-darwin.openclaw = leaf "aarch64-darwin" "openclaw";
      checks.x86_64-linux.test = leaf "x86_64-linux" "test";
      checks.aarch64-darwin.test = leaf "aarch64-darwin" "test";
    }`,
    `builds:
  include:
    - "*.x86_64-linux.*"
    - "*.aarch64-darwin.*"
`,
    `  nixConfig = {
    extra-substituters = [ "${GARNIX}" ];
    extra-trusted-public-keys = [ "${GARNIX_KEY}" ];
  };
`,
  );
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: repo });
  git("add", ".");
  git("commit", "-qm", "init");
});

after(async () => {
  await srv?.close();
  await gh?.close();
  tmp?.cleanup();
});

test("plan: every step pending or done, nothing changed; secrets wait for --repo", async () => {
  const res = await migrate(["plan", ...common()]);
  assert.equal(res.code, 0, res.stderr);
  const r = JSON.parse(res.stdout) as ReportJson;
  assert.deepEqual(
    r.steps.map((s) => s.id),
    ["cache", "secrets", "workflows", "nix-config", "verify", "cleanup"],
  );
  assert.equal(step(r, "cache").status, "done", step(r, "cache").detail);
  assert.match(step(r, "cache").detail, new RegExp(publicKey.replace(/[+/=]/g, ".")));
  assert.equal(step(r, "secrets").status, "blocked");
  assert.match(step(r, "secrets").detail, /pending: needs --repo OWNER\/NAME and a GitHub token/);
  assert.equal(step(r, "workflows").status, "pending");
  assert.equal(step(r, "nix-config").status, "pending");
  assert.ok(step(r, "nix-config").actions.some((a) => a.includes(cacheUrl)));
  assert.equal(step(r, "verify").status, "failed", "nothing was pushed yet");
  assert.equal(step(r, "cleanup").status, "blocked");
  assert.match(step(r, "cleanup").detail, /refused until verify passes/);
  assert.equal(git("status", "--porcelain"), "", "plan writes nothing");
  assert.equal(res.stdout.includes(token), false);
});

test("apply stops before cleanup while verify fails, resumes after the push, rollback restores all", async () => {
  const ghEnv = { GITHUB_TOKEN };
  const ghFlags = ["--repo", "openclaw/nix-openclaw", "--github-api-url", gh.url];
  const first = await migrate(["apply", ...common(), ...ghFlags], ghEnv);
  assert.equal(first.code, 1, "cleanup refused: exit 1");
  const r1 = JSON.parse(first.stdout) as ReportJson;
  for (const id of ["cache", "secrets", "workflows", "nix-config"])
    assert.equal(step(r1, id).status, "done", `${id}: ${step(r1, id).detail}`);
  assert.equal(step(r1, "verify").status, "failed");
  assert.equal(step(r1, "cleanup").status, "blocked");
  assert.ok(existsSync(join(repo, "garnix.yaml")), "garnix.yaml stays while verify fails");
  let flakeNix = await readFile(join(repo, "flake.nix"), "utf8");
  assert.ok(flakeNix.includes(GARNIX) && flakeNix.includes(cacheUrl) && flakeNix.includes(publicKey));
  // The secret reached GitHub sealed with the repository's key; the variable-less server wiring.
  const sealed = gh.secrets.get("NIXCACHE_TOKEN");
  assert.ok(sealed);
  const opened = sodium.crypto_box_seal_open(
    sodium.from_base64(sealed.encrypted_value, sodium.base64_variants.ORIGINAL),
    gh.publicKey,
    gh.privateKey,
    "text",
  );
  assert.equal(opened, token);
  assert.ok(existsSync(join(repo, ".github/workflows/nix-build-cache.yml")));
  assert.ok(existsSync(join(repo, ".github/workflows/cache-only.yml")));
  const state = await readFile(join(repo, ".nixcache/migrate.json"), "utf8");
  assert.equal(state.includes(token), false, "no token in the state file");
  assert.equal(first.stdout.includes(token) || first.stderr.includes(token), false);

  // status reads the state file.
  const st = await runCli(["migrate", "status", "--flake", repo, "--json"]);
  assert.equal(st.code, 0, st.stderr);
  const s = JSON.parse(st.stdout) as {
    active: boolean;
    state: { steps: Record<string, { status: string }> };
  };
  assert.equal(s.active, true);
  assert.equal(s.state.steps.workflows?.status, "done");
  assert.equal(s.state.steps.verify?.status, "failed");

  // The builds the new workflow would do: the x86_64-linux targets here. aarch64-darwin cannot
  // build here, so verify keeps failing until the selection is what this machine can prove.
  const push = await runCli(["build", "--flake", repo, "--push", cacheUrl, "--system", "x86_64-linux"], {
    env: { NIXCACHE_TOKEN: token },
  });
  assert.equal(push.code, 0, push.stderr);
  const still = JSON.parse((await migrate(["apply", ...common(), ...ghFlags], ghEnv)).stdout) as ReportJson;
  assert.equal(step(still, "verify").status, "failed");
  assert.match(step(still, "verify").detail, /aarch64-darwin/);
  assert.doesNotMatch(step(still, "verify").detail, /x86_64-linux/);
  assert.ok(existsSync(join(repo, "garnix.yaml")), "still refused");
  for (const id of ["cache", "secrets", "workflows", "nix-config"])
    assert.equal(step(still, id).resumed, true, id);

  // What the macOS runner would publish: signed narinfos for the aarch64-darwin outputs, in a
  // cache verify is told it may take them from.
  const darwinKey = generateSecretKey("darwin-runner-1");
  const darwinCache = join(tmp.path, "darwin-cache");
  await mkdir(darwinCache, { recursive: true });
  await writeFile(
    join(darwinCache, "nix-cache-info"),
    "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 50\n",
  );
  for (const attr of ["packages.aarch64-darwin.openclaw", "checks.aarch64-darwin.test"]) {
    const storePath = nixOutPath(repo, attr);
    const ni = signNarInfo(
      {
        storePath,
        url: `nar/${parseStorePath(storePath).hash}.nar`,
        compression: "none",
        narHash: hashBytes("sha256", attr),
        narSize: 120,
        references: [],
        sigs: [],
        extra: [],
      },
      darwinKey,
    );
    await writeFile(join(darwinCache, `${parseStorePath(storePath).hash}.narinfo`), formatNarInfo(ni));
  }
  const withDarwin = [
    "--to",
    cacheUrl,
    "--upstream",
    `file://${darwinCache}`,
    "--upstream-key",
    formatPublicKey(publicKeyOf(darwinKey)),
    "--action-ref",
    "nixcache/nixcache@v1",
  ];
  const done = await migrate(["apply", ...withDarwin, ...ghFlags], ghEnv);
  assert.equal(done.code, 0, done.stdout + done.stderr);
  const r3 = JSON.parse(done.stdout) as ReportJson;
  assert.equal(step(r3, "verify").status, "done", step(r3, "verify").detail);
  assert.equal(step(r3, "cleanup").status, "done", step(r3, "cleanup").detail);
  assert.equal(r3.complete, true);
  assert.equal(existsSync(join(repo, "garnix.yaml")), false, "garnix.yaml removed once verify passed");
  flakeNix = await readFile(join(repo, "flake.nix"), "utf8");
  assert.equal(flakeNix.includes("cache.garnix.io"), false, flakeNix);
  assert.ok(flakeNix.includes(cacheUrl) && flakeNix.includes(publicKey));
  // The selection lives on for the workflows: both systems still build.
  const build = await readFile(join(repo, ".github/workflows/nix-build-cache.yml"), "utf8");
  assert.match(build, /aarch64-darwin/);
  assert.match(build, /nixcache-targets\.yaml/);
  const targets = await runCli([
    "targets",
    "--flake",
    repo,
    "--config",
    join(repo, ".github/nixcache-targets.yaml"),
    "--json",
  ]);
  assert.match(targets.stdout, /aarch64-darwin/);

  const rb = await runCli(["migrate", "rollback", "--flake", repo, "--json"]);
  assert.equal(rb.code, 0, rb.stderr);
  const rr = JSON.parse(rb.stdout) as {
    restored: string[];
    removed: string[];
    notUndone: Array<{ undo: string }>;
  };
  assert.ok(rr.restored.includes("flake.nix") && rr.restored.includes("garnix.yaml"));
  assert.ok(rr.removed.includes(".github/workflows/nix-build-cache.yml"));
  assert.ok(
    rr.notUndone.some((n) => /secret NIXCACHE_TOKEN stays set on openclaw\/nix-openclaw/.test(n.undo)),
  );
  assert.equal(
    git("status", "--porcelain", "--untracked-files=all"),
    "",
    "rollback leaves the tree as committed",
  );
});

test("a cache the token cannot create: the manual steps; --help says how to give GitHub", async () => {
  const res = await migrate(["plan", "--to", `${srv.url}/other`, "--upstream", "none"]);
  assert.equal(res.code, 0, res.stderr);
  const cache = step(JSON.parse(res.stdout) as ReportJson, "cache") as StepJson & { manualSteps?: string[] };
  assert.equal(cache.status, "manual");
  assert.ok(
    cache.manualSteps?.some((m) => m.includes("nixcache cache create other")),
    cache.detail,
  );
  const help = await runCli(["migrate", "apply", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--repo OWNER\/NAME and a token in GITHUB_TOKEN or GH_TOKEN/);
  assert.match(help.stdout, /rollback restores every file byte for byte/);
  const none = await runCli(["migrate", "status", "--flake", repo, "--json"]);
  assert.equal(
    (JSON.parse(none.stdout) as { active: boolean }).active,
    false,
    "no state left after rollback",
  );
});
