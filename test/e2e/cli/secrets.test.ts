// `nixcache secrets sync` against a local server implementing GitHub's REST contract for Actions
// secrets and variables. The test holds the repository's private key and opens every sealed box
// the server received. The agenix directory is encrypted by the real `age` (Debian's package) to
// an age X25519 identity and an ssh-ed25519 key, and its secrets.nix is evaluated by real Nix.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sodium from "libsodium-wrappers";
import { runCli } from "../../helpers/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../../helpers/github-server.js";
import { requireNix, tempDir } from "../../helpers/nix.js";

const REPO = "me/app";
const FULL = `ghp_full_${randomBytes(8).toString("hex")}`;
const VARS_ONLY = `ghp_vars_${randomBytes(8).toString("hex")}`;
const value = (tag: string) => `${tag}-${randomBytes(12).toString("hex")}`;
const VALUES = {
  CACHIX_AUTH_TOKEN: value("cachix"),
  NIXCACHE_TOKEN: value("nixcache"),
  EXTRA_SECRET: `${value("extra")} # not a comment`,
  DEPLOY_TOKEN: value("deploy"),
};

let tmp: { path: string; cleanup: () => void };
let gh: FakeGitHub;
let agenix: string;
let ageIdentity: string;
let sshIdentity: string;
let dotenv: string;

function requireTool(tool: string): void {
  if (spawnSync(tool, ["--version"]).error)
    throw new Error(`${tool} is required for this test; run \`bash scripts/setup-nix.sh\` (as root)`);
}

function sync(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(["secrets", "sync", "--repo", REPO, "--api-url", gh.url, ...args], {
    cwd: tmp.path,
    env: { GITHUB_TOKEN: FULL, GH_TOKEN: "", DEPLOY_SRC: VALUES.DEPLOY_TOKEN, ...env },
  });
}

/** Nothing secret in what the CLI printed. */
function assertNoSecrets(out: string): void {
  for (const [k, v] of Object.entries(VALUES))
    assert.ok(!out.includes(v.split(" ")[0] as string), `${k}'s value leaked`);
  assert.ok(!out.includes(FULL) && !out.includes(VARS_ONLY), "a token leaked");
}

function openSealed(name: string): string {
  const s = gh.secrets.get(name);
  assert.ok(s, `secret ${name} was not set`);
  assert.equal(s.key_id, gh.keyId);
  const box = Buffer.from(s.encrypted_value, "base64");
  return sodium.crypto_box_seal_open(box, gh.publicKey, gh.privateKey, "text");
}

before(async () => {
  requireNix();
  requireTool("age");
  await sodium.ready;
  tmp = tempDir("nixcache-secrets-");
  gh = await startFakeGitHub({
    repo: REPO,
    tokens: { [FULL]: ["secrets", "variables"], [VARS_ONLY]: ["variables"] },
    keyPair: sodium.crypto_box_keypair(),
  });

  ageIdentity = join(tmp.path, "ci.agekey");
  execFileSync("age-keygen", ["-o", ageIdentity], { stdio: "ignore" });
  const ageRecipient = execFileSync("age-keygen", ["-y", ageIdentity], { encoding: "utf8" }).trim();
  sshIdentity = join(tmp.path, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "admin@test", "-f", sshIdentity]);
  const sshRecipient = (await readFile(`${sshIdentity}.pub`, "utf8")).trim();

  agenix = join(tmp.path, "nix-secrets");
  await mkdir(join(agenix, "ci"), { recursive: true });
  await writeFile(
    join(agenix, "secrets.nix"),
    `let
  ci = "${ageRecipient}";
  admin = "${sshRecipient}";
  everyone = [ ci admin ];
in {
  "ci/cachix-auth-token.age".publicKeys = everyone;
  "nixcache-token.age".publicKeys = [ admin ];
}
`,
  );
  const encrypt = (out: string, text: string, recipients: string[]) =>
    execFileSync("age", [...recipients.flatMap((r) => ["-r", r]), "-o", join(agenix, out)], { input: text });
  // As `echo value | agenix -e` leaves them: a trailing newline.
  encrypt("ci/cachix-auth-token.age", `${VALUES.CACHIX_AUTH_TOKEN}\n`, [ageRecipient, sshRecipient]);
  encrypt("nixcache-token.age", `${VALUES.NIXCACHE_TOKEN}\n`, [sshRecipient]);

  dotenv = join(tmp.path, "ci.env");
  await writeFile(dotenv, `# CI secrets\nexport EXTRA_SECRET="${VALUES.EXTRA_SECRET}"\n`, { mode: 0o600 });
});

after(async () => {
  await gh?.close();
  tmp?.cleanup();
});

test("secrets and a variable from agenix (X25519 and ssh-ed25519), dotenv and env: each sealed box opens to its value", async () => {
  const r = await sync([
    "--from",
    agenix,
    "--from",
    dotenv,
    "--set",
    "DEPLOY_TOKEN=DEPLOY_SRC",
    "--variable",
    "NIXCACHE_CACHE=http://cache.example.org/main",
    "--identity",
    ageIdentity,
    "--identity",
    sshIdentity,
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assertNoSecrets(r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as {
    ok: boolean;
    secretPolicy: string;
    items: Array<{ kind: string; name: string; action: string; done: boolean; source: string }>;
  };
  assert.equal(rep.ok, true);
  assert.equal(rep.secretPolicy, "always");
  assert.deepEqual(
    rep.items.map((i) => [i.kind, i.name, i.action, i.done]),
    [
      ["secret", "CACHIX_AUTH_TOKEN", "set", true],
      ["secret", "NIXCACHE_TOKEN", "set", true],
      ["secret", "EXTRA_SECRET", "set", true],
      ["secret", "DEPLOY_TOKEN", "set", true],
      ["variable", "NIXCACHE_CACHE", "create", true],
    ],
  );
  for (const [name, v] of Object.entries(VALUES)) assert.equal(openSealed(name), v, name);
  assert.equal(gh.variables.get("NIXCACHE_CACHE"), "http://cache.example.org/main");
});

test("variables change only when they differ; secrets are always set", async () => {
  const before = gh.log.length;
  const same = await sync([
    "--variable",
    "NIXCACHE_CACHE=http://cache.example.org/main",
    "--set",
    "DEPLOY_TOKEN=DEPLOY_SRC",
  ]);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /variable\s+NIXCACHE_CACHE\s+unchanged/);
  assert.match(same.stdout, /secret\s+DEPLOY_TOKEN\s+set/);
  const calls = gh.log.slice(before);
  assert.ok(!calls.some((c) => c.startsWith("PATCH") || c.startsWith("POST")), calls.join("\n"));
  assert.ok(calls.includes(`PUT /repos/${REPO}/actions/secrets/DEPLOY_TOKEN`));

  const changed = await sync(["--variable", "NIXCACHE_CACHE=http://cache.example.org/other", "--json"]);
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal(JSON.parse(changed.stdout).items[0].action, "update");
  assert.equal(gh.variables.get("NIXCACHE_CACHE"), "http://cache.example.org/other");
});

test("--dry-run shows names and what would change, writes nothing, prints no value", async () => {
  const stored = new Map(gh.secrets);
  const before = gh.log.length;
  const r = await sync([
    "--dry-run",
    "--from",
    agenix,
    "--identity",
    sshIdentity,
    "--variable",
    "NIXCACHE_CACHE=http://cache.example.org/third",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assertNoSecrets(r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /secret\s+CACHIX_AUTH_TOKEN\s+would set \(from nix-secrets\/ci\/cachix-auth-token\.age\)/,
  );
  assert.match(r.stdout, /variable\s+NIXCACHE_CACHE\s+would update/);
  assert.match(r.stdout, /dry run: nothing changed/);
  assert.ok(
    gh.log.slice(before).every((c) => c.startsWith("GET")),
    gh.log.slice(before).join("\n"),
  );
  assert.deepEqual(gh.secrets, stored);
  // With no token at all, a dry run still lists the names; variables cannot be compared.
  const blind = await sync(["--dry-run", "--from", dotenv, "--variable", "X_Y=1"], { GITHUB_TOKEN: "" });
  assert.equal(blind.code, 0, blind.stderr);
  assert.match(blind.stdout, /secret\s+EXTRA_SECRET\s+would set/);
  assert.match(blind.stdout, /variable\s+X_Y\s+would set \(from --variable\) \(not compared: no token\)/);
  assertNoSecrets(blind.stdout + blind.stderr);
});

test("--help says the token, the scopes and the secrets policy", async () => {
  const r = await runCli(["secrets", "sync", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /GITHUB_TOKEN, else GH_TOKEN/);
  assert.match(r.stdout, /Secrets are always set/);
  assert.match(r.stdout, /"Secrets: write" and "Variables: write"/);
});

test("a token without the secrets permission: each secret fails naming the scope; variables still sync", async () => {
  const r = await sync(["--from", dotenv, "--variable", "CACHE_NAME=main"], { GITHUB_TOKEN: VARS_ONLY });
  assert.equal(r.code, 1);
  assertNoSecrets(r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /secret\s+EXTRA_SECRET\s+FAILED to set \(from ci\.env:2\): .*HTTP 403 \(Resource not accessible by personal access token\)/,
  );
  assert.match(
    r.stdout,
    /`repo` scope \(classic token\) or the repository permission "Secrets: write" on me\/app/,
  );
  assert.match(r.stdout, /GitHub says the call needs secrets=read/);
  assert.match(r.stdout, /variable\s+CACHE_NAME\s+created/);
});

test("a bad token and an unknown repository are named as such", async () => {
  const bad = await sync(["--set", "DEPLOY_TOKEN=DEPLOY_SRC"], { GITHUB_TOKEN: "ghp_nope" });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /HTTP 401 \(Bad credentials\); the token is invalid or expired/);
  assert.ok(!bad.stdout.includes("ghp_nope"));
  const missing = await runCli(
    ["secrets", "sync", "--repo", "me/nothing", "--api-url", gh.url, "--variable", "X=1"],
    { env: { GITHUB_TOKEN: FULL } },
  );
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /HTTP 404.*"Variables: write" on me\/nothing.*or me\/nothing does not exist/);
});

test("usage errors exit 2: a name GitHub refuses, no token, an identity the files are not encrypted to", async () => {
  const name = await sync(["--set", "1BAD=DEPLOY_SRC"]);
  assert.equal(name.code, 2);
  assert.match(name.stderr, /"1BAD" cannot be a GitHub Actions secret name/);
  const reserved = await sync(["--variable", "GITHUB_X=1"]);
  assert.equal(reserved.code, 2);
  const noToken = await sync(["--set", "DEPLOY_TOKEN=DEPLOY_SRC"], { GITHUB_TOKEN: "" });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /GITHUB_TOKEN or GH_TOKEN/);
  const notMine = await sync(["--from", agenix, "--identity", ageIdentity, "--dry-run"]);
  assert.equal(notMine.code, 2);
  assert.match(
    notMine.stderr,
    /cannot decrypt nix-secrets\/nixcache-token\.age .*secrets\.nix does not list the identity/,
  );
  assertNoSecrets(notMine.stdout + notMine.stderr);
  const noIdentity = await sync(["--from", agenix, "--dry-run"]);
  assert.equal(noIdentity.code, 2);
  assert.match(noIdentity.stderr, /pass --identity FILE/);
});
