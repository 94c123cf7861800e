// The client side of OIDC: the exchange client against a local server that implements
// `POST /api/v1/oidc/token` (with the server's own exchange logic over in-memory trust rules and
// a local issuer), @actions/core's getIDToken against a local server posing as the runner's
// ACTIONS_ID_TOKEN_REQUEST_URL, and the Action's `oidc: true` as the runner runs the bundle.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { cacheNameOf, exchangeIdToken, oidcExchangeUrl } from "../../../src/caches/oidc-exchange.js";
import { oidcLogin, requestIdToken } from "../../../src/github/oidc-login.js";
import { OidcError, OidcVerifier } from "../../../src/server/auth/oidc.js";
import { exchangeOidcToken } from "../../../src/server/auth/oidc-exchange.js";
import type { TrustRule } from "../../../src/server/auth/trust-rules.js";
import { errorReply } from "../../../src/server/routes/errors.js";
import { runNode } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/nix.js";
import { type LocalIssuer, startOidcIssuer } from "../../helpers/oidc-issuer.js";

const DIST = fileURLToPath(new URL("../../../dist/action/", import.meta.url));
const REQUEST_TOKEN = "runner-request-token-0123456789";

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * One local server that is both the runner's ID-token service (GET /idtoken?…&audience=AUD with
 * the request token) and a nixcache server's exchange (POST /api/v1/oidc/token).
 */
async function startServers(issuer: LocalIssuer, rules: TrustRule[]) {
  const verifier = new OidcVerifier([{ issuer: issuer.url, audiences: ["nixcache"] }]);
  const seen = { idTokenRequests: [] as string[], exchanges: [] as Array<string | undefined> };
  /** Claims of the next identity token the runner hands out. */
  let nextClaims: Record<string, unknown> = {};
  let minted = 0;
  /** What the next mint throws instead of minting (then minting works again). */
  let refuseNext: Error | undefined;
  const server = createServer((req: IncomingMessage, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? "/", "http://x");
    if (req.method === "GET" && url.pathname === "/idtoken") {
      seen.idTokenRequests.push(url.search);
      if (req.headers.authorization !== `Bearer ${REQUEST_TOKEN}`)
        return send(403, { message: "bad request token" });
      const aud = url.searchParams.get("audience") ?? "default-audience";
      void issuer.sign({ aud, ...nextClaims }).then((value) => send(200, { value }));
      return;
    }
    if (req.method === "POST" && url.pathname === "/api/v1/oidc/token") {
      seen.exchanges.push(req.headers.authorization);
      exchangeOidcToken(
        {
          verifier,
          rulesFor: async (iss) => rules.filter((r) => r.issuer === iss),
          mint: async () => {
            const refusal = refuseNext;
            refuseNext = undefined;
            if (refusal) throw refusal;
            return { token: `nxc_oidc_minted_${++minted}_secretvalue` };
          },
        },
        req.headers.authorization,
      ).then(
        (body) => send(200, body),
        (e) => {
          const { status, message } = errorReply(e, () => {});
          send(status, { error: message });
        },
      );
      return;
    }
    send(404, { error: `no such call ${req.method} ${url.pathname}` });
  });
  const base = await listen(server);
  return {
    base,
    seen,
    idTokenUrl: `${base}/idtoken?api-version=2.0`,
    setClaims(c: Record<string, unknown>) {
      nextClaims = c;
    },
    lastMinted: () => `nxc_oidc_minted_${minted}_secretvalue`,
    refuseNextMint(e: Error) {
      refuseNext = e;
    },
    close: () => close(server),
  };
}

/** Runs `f` with these environment variables set (undefined: unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  };
  apply(vars);
  try {
    return await f();
  } finally {
    apply(saved);
  }
}

/**
 * Runs `f` recording what it writes to stdout (the workflow commands @actions/core prints). The
 * writes still go through: the test runner talks to its parent over the same stdout.
 */
async function capturingStdout<T>(f: () => Promise<T>): Promise<{ value?: T; error?: unknown; out: string }> {
  const write = process.stdout.write;
  let out = "";
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return write.call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    return { value: await f(), out };
  } catch (error) {
    return { error, out };
  } finally {
    process.stdout.write = write;
  }
}

describe("oidcExchangeUrl and cacheNameOf", () => {
  test("the server of a cache URL, with credentials, query and trailing slashes dropped", () => {
    assert.equal(
      oidcExchangeUrl("https://cache.example.org/main"),
      "https://cache.example.org/api/v1/oidc/token",
    );
    assert.equal(
      oidcExchangeUrl("http://u:p@127.0.0.1:7080/prefix/main/?x=1"),
      "http://127.0.0.1:7080/prefix/api/v1/oidc/token",
    );
    assert.equal(
      oidcExchangeUrl("cachix://main", "http://127.0.0.1:7080/api/v1/"),
      "http://127.0.0.1:7080/api/v1/oidc/token",
    );
    assert.equal(
      oidcExchangeUrl("cachix://main", undefined, { NIXCACHE_CACHIX_API: "https://nc.example/api/v1" }),
      "https://nc.example/api/v1/oidc/token",
    );
    assert.throws(() => oidcExchangeUrl("cachix://main", undefined, {}), /Cachix has no OIDC token exchange/);
    assert.throws(() => oidcExchangeUrl("https://cache.example.org/"), /name the cache/);
    assert.throws(() => oidcExchangeUrl("file:///tmp/cache"), /no OIDC token exchange/);
    assert.equal(cacheNameOf("https://cache.example.org/prefix/main/"), "main");
    assert.equal(cacheNameOf("cachix://mycache"), "mycache");
  });
});

describe("the exchange client and getIDToken against local servers", () => {
  let issuer: LocalIssuer;
  let servers: Awaited<ReturnType<typeof startServers>>;

  before(async () => {
    issuer = await startOidcIssuer();
    const sub = "repo:example-org/flake:ref:refs/heads/main";
    servers = await startServers(issuer, [
      { cache: "main", issuer: issuer.url, subject: sub, perm: "write" },
      { cache: "main", issuer: issuer.url, subject: "repo:example-org/flake:**", perm: "read" },
      { cache: "docs", issuer: issuer.url, subject: sub, perm: "read" },
    ]);
  });
  after(async () => {
    await servers.close();
    await issuer.close();
  });

  test("a valid identity token is exchanged for a token and its grant", async () => {
    const jwt = await issuer.sign();
    const grant = await exchangeIdToken(`${servers.base}/api/v1/oidc/token`, jwt);
    assert.equal(grant.token, servers.lastMinted());
    assert.deepEqual(grant.caches, { docs: "read", main: "write" });
    assert.ok(Date.parse(grant.expiresAt) > Date.now());
    assert.equal(servers.seen.exchanges.at(-1), `Bearer ${jwt}`);
  });

  test("a refusal carries the server's reason, never the identity token", async () => {
    const jwt = await issuer.sign({ aud: "someone-else" });
    await assert.rejects(
      exchangeIdToken(`${servers.base}/api/v1/oidc/token`, jwt),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "unauthorized");
        assert.match(
          e.message,
          /the server refused the identity token: the identity token is not meant for this server/,
        );
        assert.ok(!e.message.includes(jwt));
        return true;
      },
    );
    const stranger = await issuer.sign({ sub: "repo:someone/fork:ref:refs/heads/main" });
    await assert.rejects(exchangeIdToken(`${servers.base}/api/v1/oidc/token`, stranger), /no trust rule/);
    await assert.rejects(
      exchangeIdToken(`${servers.base}/nope/api/v1/oidc/token`, jwt),
      /404: this server has no OIDC token exchange/,
    );
  });

  test("getIDToken asks the runner's URL with the request token and the audience", async () => {
    const { value: jwt, out } = await capturingStdout(() =>
      withEnv(
        { ACTIONS_ID_TOKEN_REQUEST_URL: servers.idTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN },
        () => requestIdToken("nixcache"),
      ),
    );
    assert.ok(jwt);
    assert.equal(servers.seen.idTokenRequests.at(-1), "?api-version=2.0&audience=nixcache");
    // @actions/core masks the identity token as soon as it has it.
    assert.ok(out.includes(`::add-mask::${jwt}`));
    const claims = JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString()) as {
      aud: string;
    };
    assert.equal(claims.aud, "nixcache");
  });

  test("without id-token: write (no runner variables) the error says what to add", async () => {
    await withEnv(
      { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined },
      () => assert.rejects(requestIdToken("nixcache"), /permissions: id-token: write/),
    );
    const r = await capturingStdout(() =>
      withEnv(
        { ACTIONS_ID_TOKEN_REQUEST_URL: servers.idTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "wrong" },
        () => requestIdToken("nixcache"),
      ),
    );
    assert.match(String(r.error), /GitHub did not issue an identity token: .*403/);
  });

  test("oidcLogin: a push gets the token (masked); a pull request without a rule builds without it", async () => {
    const env = {
      ACTIONS_ID_TOKEN_REQUEST_URL: servers.idTokenUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    };
    const cache = `${servers.base}/main`;
    const push = { event: "push", forkPullRequest: false };
    servers.setClaims({});
    const ok = await capturingStdout(() =>
      withEnv(env, () => oidcLogin({ caches: [cache], audience: "nixcache", ctx: push })),
    );
    assert.equal(ok.error, undefined);
    assert.equal(ok.value?.kind, "token");
    if (ok.value?.kind !== "token") return;
    assert.equal(ok.value.writable, true);
    assert.ok(ok.out.includes(`::add-mask::${ok.value.token}`));
    assert.match(ok.out, /OIDC: a cache token for docs \(read\), main \(write\), valid until /);

    // Issue 30, item 9: an identity token the server exchanged already (a retry after an answer
    // was lost) is refused 409; the Action asks for a fresh identity token, which works.
    const asked = servers.seen.idTokenRequests.length;
    servers.refuseNextMint(new OidcError("replayed", "this identity token was exchanged already"));
    const again = await capturingStdout(() =>
      withEnv(env, () => oidcLogin({ caches: [cache], audience: "nixcache", ctx: push })),
    );
    assert.equal(again.error, undefined);
    assert.equal(again.value?.kind === "token" && again.value.token, servers.lastMinted());
    assert.equal(servers.seen.idTokenRequests.length - asked, 2, "a second identity token");

    // A same-repository pull request: read only (the server's rules), so no push.
    servers.setClaims({ sub: "repo:example-org/flake:pull_request", event_name: "pull_request" });
    const pr = await capturingStdout(() =>
      withEnv(env, () =>
        oidcLogin({
          caches: [cache, `${servers.base}/docs`],
          audience: "nixcache",
          ctx: { event: "pull_request", forkPullRequest: false },
        }),
      ),
    );
    assert.equal(pr.value?.kind, "token");
    assert.equal(pr.value?.kind === "token" && pr.value.writable, false);
    assert.match(pr.out, /::warning::OIDC: the token grants nothing on docs/);

    // No rule at all: a pull request goes on without a token; a push fails with the reason.
    servers.setClaims({ sub: "repo:example-org/other:pull_request" });
    const none = await capturingStdout(() =>
      withEnv(env, () =>
        oidcLogin({
          caches: [cache],
          audience: "nixcache",
          ctx: { event: "pull_request", forkPullRequest: false },
        }),
      ),
    );
    assert.equal(none.value?.kind, "skipped");
    assert.match(
      none.value?.kind === "skipped" ? none.value.reason : "",
      /gives this pull request no token: .*no trust rule/,
    );
    servers.setClaims({ sub: "repo:example-org/other:ref:refs/heads/main" });
    const refusedPush = await capturingStdout(() =>
      withEnv(env, () => oidcLogin({ caches: [cache], audience: "nixcache", ctx: push })),
    );
    assert.match(String(refusedPush.error), /refused the identity token: no trust rule/);

    // A fork's pull request has no identity token at all.
    const fork = await withEnv(
      { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined },
      () =>
        oidcLogin({
          caches: [cache],
          audience: "nixcache",
          ctx: { event: "pull_request_target", forkPullRequest: true },
        }),
    );
    assert.deepEqual(fork, {
      kind: "skipped",
      reason: "This pull request comes from a fork, and GitHub gives such runs no OIDC identity token",
    });
    // Caches on two servers cannot share one token.
    await assert.rejects(
      oidcLogin({ caches: [cache, "https://elsewhere.example/main"], audience: "nixcache", ctx: push }),
      /on 2 servers/,
    );
    servers.setClaims({});
  });
});

describe("the Action's oidc input (the bundle, as the runner runs it)", () => {
  let issuer: LocalIssuer;
  let servers: Awaited<ReturnType<typeof startServers>>;
  const dir = tempDir("nixcache-action-oidc-");

  before(async () => {
    issuer = await startOidcIssuer();
    servers = await startServers(issuer, [
      {
        cache: "main",
        issuer: issuer.url,
        subject: "repo:example-org/flake:ref:refs/heads/main",
        perm: "write",
      },
    ]);
  });
  after(async () => {
    await servers.close();
    await issuer.close();
    dir.cleanup();
  });

  function runMain(inputs: Record<string, string>, env: NodeJS.ProcessEnv) {
    const base = { ...process.env };
    for (const k of Object.keys(base))
      if (/^(INPUT_|GITHUB_|ACTIONS_|NIXCACHE_|CACHIX_)/.test(k)) delete base[k];
    const all: NodeJS.ProcessEnv = {
      GITHUB_ACTIONS: "true",
      GITHUB_EVENT_NAME: "push",
      GITHUB_REF: "refs/heads/main",
      GITHUB_REPOSITORY: "example-org/flake",
      RUNNER_TEMP: dir.path,
      ...env,
    };
    for (const [k, v] of Object.entries(inputs)) all[`INPUT_${k.toUpperCase()}`] = v;
    return runNode(path.join(DIST, "main.mjs"), [], { baseEnv: base, env: all });
  }

  test("the exchanged token is masked and used; the step goes on to the command", async () => {
    const before = servers.seen.exchanges.length;
    // `push` with no store paths stops right after the exchange, before anything needs Nix.
    const r = await runMain(
      { command: "push", cache: `${servers.base}/main`, oidc: "true", "oidc-audience": "nixcache" },
      { ACTIONS_ID_TOKEN_REQUEST_URL: servers.idTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN },
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(servers.seen.exchanges.length, before + 1);
    const minted = servers.lastMinted();
    assert.ok(r.stdout.includes(`::add-mask::${minted}`), r.stdout);
    assert.equal(r.stdout.split(minted).length - 1, 1, "the token appears only in its add-mask");
    assert.match(r.stdout, /OIDC: a cache token for main \(write\)/);
    assert.match(r.stdout, /^::error::command push: put the store paths in extra-args$/m);
  });

  test("without id-token: write the step fails saying so; a refusal shows the server's reason", async () => {
    const noPerm = await runMain({ command: "push", cache: `${servers.base}/main`, oidc: "true" }, {});
    assert.equal(noPerm.code, 1);
    assert.match(
      noPerm.stdout,
      /^::error::input oidc: this job cannot request an OIDC identity token .*permissions: id-token: write/m,
    );

    servers.setClaims({ sub: "repo:example-org/flake:ref:refs/heads/feature" });
    try {
      const refused = await runMain(
        { command: "push", cache: `${servers.base}/main`, oidc: "true" },
        { ACTIONS_ID_TOKEN_REQUEST_URL: servers.idTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN },
      );
      assert.equal(refused.code, 1);
      assert.match(
        refused.stdout,
        /^::error::POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/oidc\/token: the server refused the identity token: no trust rule of this server grants subject "repo:example-org\/flake:ref:refs\/heads\/feature"/m,
      );
    } finally {
      servers.setClaims({});
    }
    const both = await runMain(
      { command: "push", cache: `${servers.base}/main`, oidc: "true", token: "t0ken-value" },
      {},
    );
    assert.match(
      both.stdout,
      /^::error::input oidc: true gets the token from the server; leave input token empty$/m,
    );
    const cachix = await runMain(
      { command: "push", cache: "cachix://main", oidc: "true" },
      { ACTIONS_ID_TOKEN_REQUEST_URL: servers.idTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN },
    );
    assert.match(cachix.stdout, /Cachix has no OIDC token exchange/);
  });
});
