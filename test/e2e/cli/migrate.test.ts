// `nixcache migrate` on a repository laid out like nix-openclaw's: a git repository with a flake
// (packages and checks for x86_64-linux and aarch64-darwin), a garnix.yaml, and a nixConfig that
// lists cache.garnix.io and its key. The cache moved to is nixcache's own server, run here; the
// secrets and the default branch's required status checks go to a local server implementing
// GitHub's REST contract (with its refusals, rate limits and server errors).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sodium from "libsodium-wrappers";
import { hashBytes } from "../../../src/nix/hash.js";
import { formatNarInfo, signNarInfo } from "../../../src/nix/narinfo.js";
import { formatPublicKey, generateSecretKey, publicKeyOf } from "../../../src/nix/signing.js";
import { parseStorePath } from "../../../src/nix/store-path.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import { nixOutPath, writeFlake } from "../../fixtures/flakes/make-flake.js";
import { runCli } from "../../helpers/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../../helpers/github-server.js";
import { requireNix, tempDir } from "../../helpers/nix.js";

const GARNIX = "https://cache.garnix.io";
const GARNIX_KEY = "cache.garnix.io:CTFPyKSLcx5RMJKfLo5EEPUObbA78b0YQ2DTCJXqr9g=";
const GITHUB_TOKEN = "ghp_migrate-test-token";
/** A token that may set secrets and variables but not change branch protection. */
const NO_ADMIN_TOKEN = "ghp_migrate-no-admin";
const AGGREGATE = "All nixcache checks";
const REPO = "openclaw/nix-openclaw";

let tmp: { path: string; cleanup: () => void };
let srv: RunningServer;
let gh: FakeGitHub;
let cacheUrl: string;
let publicKey: string;
let token: string;
let repo: string;
/** What the macOS runner would publish, once the big test made it: verify's upstream for darwin. */
let withDarwin: string[] = [];

const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], {
    cwd: repo,
    encoding: "utf8",
  });

interface StepJson {
  id: string;
  title: string;
  status: string;
  detail: string;
  actions: string[];
  needs?: string;
  manualSteps?: string[];
  remedy?: string;
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

interface RollbackJson {
  restored: string[];
  removed: string[];
  undone: string[];
  notUndone: Array<{ kind: string; undo: string }>;
}
const rollback = (token = GITHUB_TOKEN) =>
  runCli(["migrate", "rollback", "--flake", repo, "--json", "--github-api-url", gh.url], {
    env: { GITHUB_TOKEN: token },
  });

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
    repo: REPO,
    tokens: {
      [GITHUB_TOKEN]: ["secrets", "variables", "administration"],
      [NO_ADMIN_TOKEN]: ["secrets", "variables"],
    },
    keyPair: sodium.crypto_box_keypair(),
    branches: { main: { protected: true, contexts: ["ci/lint"] } },
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
    ["cache", "secrets", "workflows", "nix-config", "verify", "required-check", "cleanup"],
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
  // Requiring the aggregate: without GitHub it waits for --repo, and says how to do it by hand.
  const req = step(r, "required-check");
  assert.equal(req.title, `require \`${AGGREGATE}\` on main`);
  assert.equal(req.status, "blocked");
  assert.match(req.detail, /pending: needs --repo OWNER\/NAME and a GitHub token/);
  assert.ok(
    req.manualSteps?.some((m) =>
      m.includes(
        `gh api -X POST repos/OWNER/REPO/branches/main/protection/required_status_checks/contexts -f 'contexts[]=${AGGREGATE}'`,
      ),
    ),
    JSON.stringify(req.manualSteps),
  );
  assert.ok(req.manualSteps?.some((m) => m.includes("Settings → Branches")));
  // With GitHub: read (never changed by plan), and it waits for verify to pass.
  const before = gh.log.length;
  const withGh = await migrate(["plan", ...common(), "--repo", REPO, "--github-api-url", gh.url], {
    GITHUB_TOKEN,
  });
  const r2 = JSON.parse(withGh.stdout) as ReportJson;
  assert.equal(step(r2, "required-check").status, "blocked", step(r2, "required-check").detail);
  assert.match(step(r2, "required-check").detail, /waits for verify to pass/);
  assert.match(step(r2, "required-check").detail, /requires ci\/lint now/);
  assert.ok(step(r2, "required-check").actions.some((a) => a.includes(`add "${AGGREGATE}"`)));
  assert.ok(
    gh.log.slice(before).every((l) => l.startsWith("GET ")),
    gh.log.slice(before).join("\n"),
  );
  assert.deepEqual(gh.branches.get("main")?.contexts, ["ci/lint"]);
  assert.equal(git("status", "--porcelain"), "", "plan writes nothing");
  assert.equal(res.stdout.includes(token), false);
});

test("apply stops before cleanup while verify fails, resumes after the push, rollback restores all", async () => {
  const ghEnv = { GITHUB_TOKEN };
  const ghFlags = ["--repo", REPO, "--github-api-url", gh.url];
  const first = await migrate(["apply", ...common(), ...ghFlags], ghEnv);
  assert.equal(first.code, 1, "cleanup refused: exit 1");
  const r1 = JSON.parse(first.stdout) as ReportJson;
  for (const id of ["cache", "secrets", "workflows", "nix-config"])
    assert.equal(step(r1, id).status, "done", `${id}: ${step(r1, id).detail}`);
  assert.equal(step(r1, "verify").status, "failed");
  assert.equal(step(r1, "required-check").status, "blocked", "not required before verify passes");
  assert.deepEqual(gh.branches.get("main")?.contexts, ["ci/lint"]);
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
  assert.equal(existsSync(join(repo, ".github/workflows/cache-only.yml")), false, "a job, not a workflow");
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
  withDarwin = [
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
  // Verify passed: main requires the aggregate now, beside what it required (added, not set).
  assert.equal(step(r3, "required-check").status, "done", step(r3, "required-check").detail);
  assert.match(step(r3, "required-check").detail, /now requires "All nixcache checks"/);
  assert.deepEqual(gh.branches.get("main")?.contexts, ["ci/lint", AGGREGATE]);
  assert.ok(gh.log.includes(`POST /repos/${REPO}/branches/main/protection/required_status_checks/contexts`));
  assert.equal(
    gh.log.some((l) => l.startsWith("PUT ") && l.includes("protection")),
    false,
    "never Set (PUT)",
  );
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

  // Again: nothing to do; the required check is the earlier apply's.
  const again = JSON.parse((await migrate(["plan", ...withDarwin, ...ghFlags], ghEnv)).stdout) as ReportJson;
  assert.equal(step(again, "required-check").status, "done");
  assert.equal(step(again, "required-check").resumed, true);
  assert.match(step(again, "required-check").detail, /added by an earlier apply/);

  const rb = await rollback();
  assert.equal(rb.code, 0, rb.stderr);
  const rr = JSON.parse(rb.stdout) as RollbackJson;
  // The context it added goes; the branch's own stays.
  assert.deepEqual(rr.undone, [`removed "${AGGREGATE}" from the required status checks of main on ${REPO}`]);
  assert.deepEqual(gh.branches.get("main")?.contexts, ["ci/lint"]);
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

test("required check: unprotected branch, a token without Administration, rate limit, 5xx, required by hand", async () => {
  assert.ok(withDarwin.length > 0, "runs after the full migration above");
  const ghFlags = ["--repo", REPO, "--github-api-url", gh.url];
  const apply = async (tokenValue = GITHUB_TOKEN) => {
    const res = await migrate(["apply", ...withDarwin, ...ghFlags], { GITHUB_TOKEN: tokenValue });
    return { code: res.code, r: JSON.parse(res.stdout) as ReportJson, stderr: res.stderr };
  };
  const contextsPath = `/repos/${REPO}/branches/main/protection/required_status_checks/contexts`;
  const main = () => gh.branches.get("main") as { protected: boolean; contexts: string[] | null };

  // main not protected: GitHub answers 404 "Branch not protected"; a manual step, not a failure.
  main().protected = false;
  main().contexts = null;
  const a = await apply();
  const ra = step(a.r, "required-check");
  assert.equal(ra.status, "manual", ra.detail);
  assert.match(ra.detail, /GitHub says "Branch not protected"/);
  assert.ok(
    ra.manualSteps?.some((m) =>
      m.includes(`protect main with "Require status checks to pass before merging"`),
    ),
  );
  assert.ok(ra.manualSteps?.some((m) => m.includes("Rulesets")));
  assert.equal(step(a.r, "cleanup").status, "done", "the rest of the migration goes on");
  assert.equal(a.code, 1, "left to a human: apply says so");

  // Protected without required status checks: the same.
  main().protected = true;
  const notEnabled = JSON.parse(
    (await migrate(["plan", ...withDarwin, ...ghFlags], { GITHUB_TOKEN })).stdout,
  ) as ReportJson;
  assert.equal(step(notEnabled, "required-check").status, "manual");
  assert.match(step(notEnabled, "required-check").detail, /Required status checks not enabled/);

  // A token without Administration: 403, a manual step naming the permission.
  main().contexts = ["ci/lint"];
  const c = await apply(NO_ADMIN_TOKEN);
  const rc = step(c.r, "required-check");
  assert.equal(rc.status, "manual", rc.detail);
  assert.match(rc.detail, /HTTP 403 \(Resource not accessible by personal access token\)/);
  assert.match(rc.detail, /"Administration: write"/);
  assert.match(rc.detail, /GitHub says the call needs administration=read/);
  assert.match(rc.remedy ?? "", /"Administration: write" on openclaw\/nix-openclaw .* or the `repo` scope/);
  assert.ok(
    rc.manualSteps?.some((m) => m.includes("gh api -X POST repos/openclaw/nix-openclaw/branches/main")),
  );
  assert.deepEqual(main().contexts, ["ci/lint"]);

  // Over the rate limit once (403, retry-after): waited for and retried, then added.
  gh.rateLimitOnce({ path: /required_status_checks\/contexts$/, retryAfter: 1 });
  let mark = gh.log.length;
  const d = await apply();
  assert.equal(step(d.r, "required-check").status, "done", step(d.r, "required-check").detail);
  assert.deepEqual(
    gh.log.slice(mark).filter((l) => l.endsWith("/contexts")),
    [`GET ${contextsPath}`, `GET ${contextsPath}`, `POST ${contextsPath}`],
  );
  assert.deepEqual(main().contexts, ["ci/lint", AGGREGATE]);
  assert.equal(d.code, 0, d.stderr);

  // Removed by someone since; adding it again meets a 502 once: retried (adding is idempotent).
  main().contexts = ["ci/lint"];
  gh.serverErrorOnce({ method: "POST", path: /required_status_checks\/contexts$/ });
  mark = gh.log.length;
  const e = await apply();
  assert.equal(step(e.r, "required-check").status, "done", step(e.r, "required-check").detail);
  assert.deepEqual(
    gh.log.slice(mark).filter((l) => l.endsWith("/contexts")),
    [`GET ${contextsPath}`, `POST ${contextsPath}`, `POST ${contextsPath}`],
  );
  assert.deepEqual(main().contexts, ["ci/lint", AGGREGATE]);

  // A bad token: 401, a failure that says so.
  const bad = JSON.parse(
    (await migrate(["plan", ...withDarwin, ...ghFlags], { GITHUB_TOKEN: "ghp_wrong" })).stdout,
  ) as ReportJson;
  assert.equal(step(bad, "required-check").status, "failed");
  assert.match(
    step(bad, "required-check").detail,
    /HTTP 401 \(Bad credentials\); the token is invalid or expired/,
  );

  // A rate limit longer than a minute is not waited for: a failure that says it is the limit.
  gh.rateLimitOnce({ path: /required_status_checks\/contexts$/, retryAfter: 120 });
  const limited = JSON.parse(
    (await migrate(["plan", ...withDarwin, ...ghFlags], { GITHUB_TOKEN })).stdout,
  ) as ReportJson;
  assert.equal(step(limited, "required-check").status, "failed");
  assert.match(
    step(limited, "required-check").detail,
    /HTTP 403 \(API rate limit exceeded for user ID 1\.\); GitHub's rate limit, not the token's permissions: try again in 120 s/,
  );

  // Rollback removes what this migration added, with a 5xx on the way.
  gh.serverErrorOnce({ method: "DELETE", status: 503 });
  const rb = await rollback();
  assert.equal(rb.code, 0, rb.stderr);
  assert.equal((JSON.parse(rb.stdout) as RollbackJson).undone.length, 1);
  assert.deepEqual(main().contexts, ["ci/lint"]);

  // Required by hand before the migration: "already", not recorded, and rollback leaves it.
  main().contexts = [AGGREGATE, "ci/lint"];
  const h = await apply();
  const rh = step(h.r, "required-check");
  assert.equal(rh.status, "done");
  assert.match(rh.detail, /already requires "All nixcache checks"/);
  const state = JSON.parse(await readFile(join(repo, ".nixcache/migrate.json"), "utf8")) as {
    remote: Array<{ kind: string }>;
  };
  assert.equal(
    state.remote.some((x) => x.kind === "required-check"),
    false,
  );
  mark = gh.log.length;
  const rb2 = await rollback();
  assert.equal(rb2.code, 0, rb2.stderr);
  assert.deepEqual((JSON.parse(rb2.stdout) as RollbackJson).undone, []);
  assert.equal(
    gh.log.slice(mark).some((l) => l.startsWith("DELETE ")),
    false,
  );
  assert.deepEqual(main().contexts, [AGGREGATE, "ci/lint"]);
  assert.equal(git("status", "--porcelain", "--untracked-files=all"), "");
  main().contexts = ["ci/lint"];
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
