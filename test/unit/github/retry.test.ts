// The GitHub REST client's retries, against the local server implementing GitHub's contract: a
// rate-limit 403 is waited for (retry-after) and retried whatever the method; a 5xx is retried
// for idempotent methods only (a POST that may have been performed is not sent twice); a limit
// longer than the client waits is GitHub's limit in the error, not the token's permissions.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import sodium from "libsodium-wrappers";
import { githubClient, githubError, VARIABLES_PERMISSION } from "../../../src/github/rest.js";
import { type FakeGitHub, startFakeGitHub } from "../../helpers/github-server.js";

const TOKEN = "ghp_retry-test";
const REPO = "octo/app";
let gh: FakeGitHub;

before(async () => {
  await sodium.ready;
  gh = await startFakeGitHub({
    repo: REPO,
    tokens: { [TOKEN]: ["variables", "administration:read"] },
    keyPair: sodium.crypto_box_keypair(),
    branches: { main: { protected: true, contexts: ["ci"] } },
  });
});
after(() => gh?.close());

const client = () => githubClient({ token: TOKEN, apiUrl: gh.url });
const since = (mark: number) => gh.log.slice(mark);

test("a rate-limit 403 with retry-after is waited for and retried (a POST too)", async () => {
  const octokit = await client();
  gh.rateLimitOnce({ method: "POST", retryAfter: 1 });
  const mark = gh.log.length;
  const r = await octokit.rest.actions.createRepoVariable({
    owner: "octo",
    repo: "app",
    name: "A",
    value: "1",
  });
  assert.equal(r.status, 201);
  assert.deepEqual(since(mark), [
    "POST /repos/octo/app/actions/variables",
    "POST /repos/octo/app/actions/variables",
  ]);
  assert.equal(gh.variables.get("A"), "1");
});

test("a 5xx: a GET is retried, a POST is not (it may have been performed)", async () => {
  const octokit = await client();
  gh.serverErrorOnce({ method: "GET", status: 503 });
  let mark = gh.log.length;
  const got = await octokit.rest.repos.getAllStatusCheckContexts({
    owner: "octo",
    repo: "app",
    branch: "main",
  });
  assert.deepEqual(got.data, ["ci"]);
  assert.equal(since(mark).length, 2);

  gh.serverErrorOnce({ method: "POST" });
  mark = gh.log.length;
  await assert.rejects(
    octokit.rest.actions.createRepoVariable({ owner: "octo", repo: "app", name: "B", value: "2" }),
    (e: { status?: number }) => e.status === 502,
  );
  assert.deepEqual(since(mark), ["POST /repos/octo/app/actions/variables"]);
});

test("a limit longer than a minute is not waited for; the error names the limit, not a permission", async () => {
  const octokit = await client();
  gh.rateLimitOnce({ retryAfter: 3600 });
  const mark = gh.log.length;
  const e = await octokit.rest.actions.getRepoVariable({ owner: "octo", repo: "app", name: "A" }).then(
    () => assert.fail("no error"),
    (err: unknown) => githubError(err, "read variable A", REPO, VARIABLES_PERMISSION),
  );
  assert.equal(since(mark).length, 1);
  assert.equal(e.code, "unavailable");
  assert.match(e.message, /HTTP 403 \(API rate limit exceeded for user ID 1\.\); GitHub's rate limit/);
  assert.match(e.message, /try again in 3600 s/);
  assert.doesNotMatch(e.message, /scope|permission "/);
});

test("administration:read reads branch protection but may not change it (403 naming the permission)", async () => {
  const octokit = await client();
  await assert.rejects(
    octokit.rest.repos.addStatusCheckContexts({
      owner: "octo",
      repo: "app",
      branch: "main",
      contexts: ["x"],
    }),
    (e: { status?: number; response?: { headers: Record<string, string> } }) =>
      e.status === 403 && e.response?.headers["x-accepted-github-permissions"] === "administration=write",
  );
  assert.deepEqual(gh.branches.get("main")?.contexts, ["ci"]);
});
