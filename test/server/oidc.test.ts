// The OIDC token exchange end to end: `nixcache serve` with a trusted local issuer (RS256 and
// ES256 keys) and trust rules stored with the caches; a CI job's identity token exchanged at
// POST /api/v1/oidc/token; the returned token pushing through the Nix protocol (Bearer and netrc
// Basic) and the Cachix API (the cachix:// client's multipart upload) within its grants, until it
// expires. On SQLite and on PostgreSQL metadata.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { base64url, SignJWT } from "jose";
import { CachixCache } from "../../src/caches/cachix/cache.js";
import { exchangeIdToken, oidcExchangeUrl } from "../../src/caches/oidc-exchange.js";
import { DEFAULT_OIDC_AUDIENCE as ACTION_DEFAULT_AUDIENCE } from "../../src/github/action-inputs.js";
import { adminAddTrustRule, adminCreateCache, adminListTokens } from "../../src/server/admin.js";
import { DEFAULT_OIDC_AUDIENCE } from "../../src/server/auth/oidc-exchange.js";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/server.js";
import type { StateLocation } from "../../src/server/state-location.js";
import { forEachBackend } from "../helpers/backends.js";
import { runNode } from "../helpers/cli.js";
import { tempDir } from "../helpers/nix.js";
import { type LocalIssuer, startOidcIssuer } from "../helpers/oidc-issuer.js";
import { makeUpload, narInfoText, type Upload } from "../helpers/uploads.js";

const MAIN = "repo:example-org/flake:ref:refs/heads/main";
const PR = "repo:example-org/flake:pull_request";

interface Answer {
  status: number;
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

async function exchange(url: string, authorization?: string): Promise<Answer> {
  const r = await fetch(`${url}/api/v1/oidc/token`, {
    method: "POST",
    headers: authorization === undefined ? {} : { authorization },
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: r.status, json, text, headers: r.headers };
}

const bearer = (t: string) => `Bearer ${t}`;
const basic = (t: string) => `Basic ${Buffer.from(`nixcache:${t}`).toString("base64")}`;

/** PUT of a NAR then its narinfo, as `nix copy` does; the two statuses. */
async function nixPush(
  base: string,
  cache: string,
  u: Upload,
  auth: string,
): Promise<[number, number, string]> {
  const nar = await fetch(`${base}/${cache}/${u.url}`, {
    method: "PUT",
    body: new Uint8Array(u.file),
    headers: { authorization: auth },
  });
  const narText = await nar.text();
  if (nar.status !== 204) return [nar.status, 0, narText];
  const info = await fetch(`${base}/${cache}/${u.hash}.narinfo`, {
    method: "PUT",
    body: narInfoText(u.narinfo),
    headers: { authorization: auth },
  });
  return [nar.status, info.status, await info.text()];
}

async function narinfoStatus(base: string, cache: string, hash: string, auth?: string): Promise<number> {
  const r = await fetch(`${base}/${cache}/${hash}.narinfo`, { headers: auth ? { authorization: auth } : {} });
  await r.arrayBuffer();
  return r.status;
}

/** Pushes one NAR through the cachix:// client (multipart upload, then the narinfo). */
async function cachixPush(api: string, cache: string, token: string, u: Upload): Promise<void> {
  const c = new CachixCache(cache, { apiUrl: api, token });
  try {
    await c.ensureCacheInfo();
    const staged = await c.uploadNar({
      info: {
        storePath: u.storePath,
        narHash: u.narinfo.narHash,
        narSize: u.narinfo.narSize,
        references: [],
        sigs: [],
      },
      compression: "zstd",
      nar: async function* () {
        yield u.nar;
      },
    });
    await staged.commit();
  } finally {
    await c.close();
  }
}

// The exchange keeps its rules and tokens in the metadata: both engines, on files.
forEachBackend(["sqlite+file", "postgres+file"], (backend) => {
  describe("OIDC exchange end to end", () => {
    let issuer: LocalIssuer;
    /** A second trusted issuer that is down from the start. */
    let down: LocalIssuer;
    let dir: { path: string; cleanup: () => void };
    let at: StateLocation;
    let srv: RunningServer;

    async function start(extra: Partial<ServerOptions> = {}): Promise<RunningServer> {
      return startServer({
        ...at,
        port: 0,
        upstreams: [],
        oidcIssuers: [
          { issuer: issuer.url, audiences: ["nixcache"] },
          { issuer: down.url, audiences: ["nixcache"] },
        ],
        oidcVerifier: { refreshCooldownMs: 0, timeoutMs: 2000 },
        ...extra,
      });
    }

    before(async () => {
      issuer = await startOidcIssuer();
      down = await startOidcIssuer();
      down.setDown(true);
      dir = tempDir("nixcache-oidc-e2e-");
      at = await backend.stores(dir.path);
      for (const name of ["main", "docs"])
        await adminCreateCache(at, { name, isPublic: false, priority: 41 });
      await adminCreateCache(at, { name: "pub", isPublic: true, priority: 41 });
      // Pushes to main write main; every job of the repository reads main and docs.
      await adminAddTrustRule(at, {
        cache: "main",
        issuer: issuer.url,
        subject: MAIN,
        claims: { event_name: "push" },
        perm: "write",
      });
      for (const cache of ["main", "docs"])
        await adminAddTrustRule(at, {
          cache,
          issuer: issuer.url,
          subject: "repo:example-org/flake:**",
          perm: "read",
        });
      await adminAddTrustRule(at, { cache: "pub", issuer: down.url, subject: MAIN, perm: "write" });
      srv = await start();
    });
    after(async () => {
      await srv.close();
      await issuer.close();
      await down.close();
      dir.cleanup();
    });

    test("RS256 and ES256 identity tokens are exchanged for a token with a permission per cache", async () => {
      for (const alg of ["RS256", "ES256"] as const) {
        const before = Date.now();
        const r = await exchange(srv.url, bearer(await issuer.sign({}, { alg })));
        assert.equal(r.status, 200, r.text);
        assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
        assert.equal(r.headers.get("cache-control"), "no-store");
        assert.deepEqual(Object.keys(r.json).sort(), ["caches", "expiresAt", "token"]);
        assert.deepEqual(r.json.caches, { docs: "read", main: "write" });
        assert.match(String(r.json.token), /^nxc_/);
        const expires = Date.parse(String(r.json.expiresAt));
        const sixHours = 6 * 3600_000;
        assert.ok(expires >= before + sixHours - 1000 && expires <= Date.now() + sixHours + 1000);
      }
      assert.equal(DEFAULT_OIDC_AUDIENCE, ACTION_DEFAULT_AUDIENCE, "server and Action agree on the audience");
    });

    test("the token pushes through the Nix protocol (Bearer and netrc Basic) within its grants", async () => {
      const { token } = (await exchange(srv.url, bearer(await issuer.sign()))).json as { token: string };
      const u = await makeUpload("oidc-nix");
      assert.deepEqual((await nixPush(srv.url, "main", u, bearer(token))).slice(0, 2), [204, 204]);
      assert.equal(await narinfoStatus(srv.url, "main", u.hash), 401, "main is private");
      assert.equal(await narinfoStatus(srv.url, "main", u.hash, basic(token)), 200, "netrc reads it");
      const viaNetrc = await makeUpload("oidc-netrc");
      assert.deepEqual((await nixPush(srv.url, "main", viaNetrc, basic(token))).slice(0, 2), [204, 204]);
      assert.equal(await narinfoStatus(srv.url, "main", viaNetrc.hash, bearer(token)), 200);

      // Read on docs: reading works, pushing does not; no grant on pub (public): reads only.
      const d = await makeUpload("oidc-docs");
      const [narStatus, , why] = await nixPush(srv.url, "docs", d, bearer(token));
      assert.equal(narStatus, 401);
      assert.match(why, /this token has read permission on cache docs; write is required/);
      assert.equal(await narinfoStatus(srv.url, "docs", d.hash, bearer(token)), 404);
      const p = await makeUpload("oidc-pub");
      const [pubStatus, , pubWhy] = await nixPush(srv.url, "pub", p, bearer(token));
      assert.equal(pubStatus, 401);
      assert.match(pubWhy, /this token is not valid for cache pub/);
      assert.ok(!why.includes(token) && !pubWhy.includes(token));
    });

    test("the token pushes through the cachix:// client; a read grant cannot", async () => {
      const { token } = (await exchange(srv.url, bearer(await issuer.sign({}, { alg: "ES256" })))).json as {
        token: string;
      };
      const api = `${srv.url}/api/v1`;
      const u = await makeUpload("oidc-cachix");
      await cachixPush(api, "main", token, u);
      assert.equal(await narinfoStatus(srv.url, "main", u.hash, bearer(token)), 200);
      await assert.rejects(
        cachixPush(api, "docs", token, await makeUpload("oidc-cachix-docs")),
        /only Read permission/,
      );
      const info = await fetch(`${api}/cache/docs`, { headers: { authorization: bearer(token) } });
      assert.equal(((await info.json()) as { permission: string }).permission, "Read");
      // Calls for personal tokens say what this one holds.
      const user = await fetch(`${api}/user`, { headers: { authorization: bearer(token) } });
      assert.equal(user.status, 401);
      assert.match(await user.text(), /this is a cache token \(read on docs, write on main\)/);
    });

    test("a pull request's token only reads; a subject no rule names gets nothing", async () => {
      const pr = await exchange(srv.url, bearer(await issuer.sign({ sub: PR, event_name: "pull_request" })));
      assert.equal(pr.status, 200, pr.text);
      assert.deepEqual(pr.json.caches, { docs: "read", main: "read" });
      const [status, , why] = await nixPush(
        srv.url,
        "main",
        await makeUpload("oidc-pr"),
        bearer(String(pr.json.token)),
      );
      assert.equal(status, 401);
      assert.match(why, /read permission on cache main; write is required/);
      // Main's subject but started by another event (workflow_dispatch): the write rule wants push.
      const dispatch = await exchange(
        srv.url,
        bearer(await issuer.sign({ event_name: "workflow_dispatch" })),
      );
      assert.deepEqual(dispatch.json.caches, { docs: "read", main: "read" });

      for (const sub of [
        "repo:someone-else/flake:ref:refs/heads/main",
        "repo:example-org/other:pull_request",
      ]) {
        const r = await exchange(srv.url, bearer(await issuer.sign({ sub })));
        assert.equal(r.status, 401);
        assert.match(String(r.json.error), /^no trust rule of this server grants subject/);
      }
    });

    test("bad identity tokens are refused 401 with the reason, never echoed", async () => {
      const now = Math.floor(Date.now() / 1000);
      const kid = issuer.kids()[0] as string;
      const claims = issuer.claims();
      const b64 = (o: unknown) => base64url.encode(JSON.stringify(o));
      const good = await issuer.sign();
      const [h, , sig] = good.split(".");
      const hs256 = await new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", kid })
        .sign(new TextEncoder().encode(await issuer.publicKeyPem(kid)));
      const cases: Array<[string, string | undefined, RegExp]> = [
        ["no Authorization", undefined, /send the CI job's OIDC identity token as Authorization: Bearer/],
        ["not a JWT", bearer("nxc_not-a-jwt"), /not a JWT/],
        [
          "wrong audience",
          bearer(await issuer.sign({ aud: "sts.amazonaws.com" })),
          /audience must be nixcache/,
        ],
        [
          "expired",
          bearer(await issuer.sign({ iat: now - 900, nbf: now - 900, exp: now - 600 })),
          /identity token has expired/,
        ],
        ["not yet valid", bearer(await issuer.sign({ nbf: now + 600, exp: now + 900 })), /not valid yet/],
        [
          "unknown kid",
          bearer(await (await issuer.foreignKey("RS256")).sign()),
          /no key of issuer .* matches/,
        ],
        [
          "alg none",
          bearer(`${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`),
          /algorithm "none" is not accepted/,
        ],
        ["HS256 with the public key", bearer(hs256), /algorithm "HS256" is not accepted/],
        [
          "tampered payload",
          bearer(`${h}.${b64({ ...claims, sub: MAIN, ref: "x" })}.${sig}`),
          /signature does not verify/,
        ],
        [
          "untrusted issuer",
          bearer(await issuer.sign({ iss: "https://token.example.org" })),
          /issuer "https:\/\/token\.example\.org" is not trusted/,
        ],
      ];
      for (const [what, auth, reason] of cases) {
        const r = await exchange(srv.url, auth);
        assert.equal(r.status, 401, `${what}: ${r.text}`);
        assert.match(String(r.json.error), reason, what);
        const jwt = auth?.slice(7) ?? "";
        if (jwt) assert.ok(!r.text.includes(jwt.split(".")[2] || jwt), `${what}: the reply holds the token`);
      }
      // Nothing was minted for any of them.
      const minted = (await adminListTokens(at)).filter((t) => t.kind === "oidc").length;
      await exchange(srv.url, bearer(await issuer.sign({ aud: "other" })));
      assert.equal((await adminListTokens(at)).filter((t) => t.kind === "oidc").length, minted);
    });

    test("an unreachable issuer is 503; rotated keys are picked up", async () => {
      const r = await exchange(srv.url, bearer(await down.sign()));
      assert.equal(r.status, 503, r.text);
      assert.match(String(r.json.error), /cannot read the discovery document of issuer/);

      const fresh = await issuer.rotate("RS256");
      const rotated = await exchange(srv.url, bearer(await issuer.sign({}, { kid: fresh })));
      assert.equal(rotated.status, 200, rotated.text);
    });

    test("token list shows the exchanged tokens by subject, with their grants", async () => {
      const oidc = (await adminListTokens(at)).filter((t) => t.kind === "oidc");
      assert.ok(oidc.length >= 2);
      const push = oidc.find((t) => t.grants?.main === "write");
      assert.equal(push?.description, MAIN);
      assert.deepEqual(push?.grants, { docs: "read", main: "write" });
      assert.equal(push?.perm, "write");
      assert.ok(oidc.some((t) => t.description === PR && t.grants?.main === "read"));
    });

    test("the exchange client and the Action's bundle against the real route", async () => {
      const url = oidcExchangeUrl(`${srv.url}/main`);
      const grant = await exchangeIdToken(url, await issuer.sign());
      assert.deepEqual(grant.caches, { docs: "read", main: "write" });
      await assert.rejects(
        exchangeIdToken(url, await issuer.sign({ sub: "repo:example-org/other:ref:refs/heads/main" })),
        /the server refused the identity token: no trust rule of this server grants subject "repo:example-org\/other:ref:refs\/heads\/main"/,
      );

      // The runner's ID-token service, for the bundle's @actions/core getIDToken.
      const runner = createServer((req, res) => {
        const aud = new URL(req.url ?? "/", "http://x").searchParams.get("audience") ?? "";
        void issuer.sign({ aud }).then((value) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ value }));
        });
      });
      await new Promise<void>((resolve) => runner.listen(0, "127.0.0.1", resolve));
      const runnerUrl = `http://127.0.0.1:${(runner.address() as AddressInfo).port}/idtoken?api-version=2.0`;
      try {
        const base = { ...process.env };
        for (const k of Object.keys(base))
          if (/^(INPUT_|GITHUB_|ACTIONS_|NIXCACHE_|CACHIX_)/.test(k)) delete base[k];
        const bundle = fileURLToPath(new URL("../../dist/action/main.mjs", import.meta.url));
        const r = await runNode(path.resolve(bundle), [], {
          baseEnv: base,
          env: {
            GITHUB_ACTIONS: "true",
            GITHUB_EVENT_NAME: "push",
            GITHUB_REF: "refs/heads/main",
            GITHUB_REPOSITORY: "example-org/flake",
            RUNNER_TEMP: dir.path,
            ACTIONS_ID_TOKEN_REQUEST_URL: runnerUrl,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runner-request-token",
            INPUT_COMMAND: "push",
            INPUT_CACHE: `${srv.url}/main`,
            INPUT_OIDC: "true",
          },
        });
        // `push` without store paths stops right after the exchange, before anything needs Nix.
        assert.match(
          r.stdout,
          /OIDC: a cache token for docs \(read\), main \(write\), valid until /,
          r.stdout,
        );
        const mask = /^::add-mask::(nxc_\S+)$/m.exec(r.stdout)?.[1] ?? "";
        assert.ok(mask, "the exchanged token is masked");
        assert.equal(r.stdout.split(mask).length - 1, 1, "the token appears only in its add-mask");
        assert.match(r.stdout, /^::error::command push: put the store paths in extra-args$/m);
      } finally {
        runner.closeAllConnections();
        await new Promise((resolve) => runner.close(resolve));
      }
    });

    // Issue 30, item 9: one identity token POSTed 3,000 times gave 3,000 independent tokens.
    test("an identity token is exchanged once, whoever asks at once; a fresh one from the same job is too", async () => {
      const minted = async () =>
        (await adminListTokens(at)).filter((t) => t.kind === "oidc" && t.oidc?.subject === MAIN).length;
      const before = await minted();
      const jwt = await issuer.sign({ run_id: "item-9" });
      const answers = await Promise.all(Array.from({ length: 8 }, () => exchange(srv.url, bearer(jwt))));
      const ok = answers.filter((a) => a.status === 200);
      assert.equal(ok.length, 1, answers.map((a) => a.status).join(" "));
      for (const a of answers.filter((x) => x.status !== 200)) {
        assert.equal(a.status, 409, a.text);
        assert.match(
          String(a.json.error),
          /^this identity token was exchanged already \(for tok_[0-9a-f]{12}, at \d{4}-.*\): one identity token gives one cache token; request a fresh identity token for another$/,
        );
        assert.ok(!a.text.includes(jwt));
      }
      assert.equal((await exchange(srv.url, bearer(jwt))).status, 409, "and later");
      const fresh = await exchange(srv.url, bearer(await issuer.sign({ run_id: "item-9" })));
      assert.equal(fresh.status, 200, fresh.text);
      // Without a jti, the issuer, subject and iat name the identity token.
      const now = Math.floor(Date.now() / 1000);
      const bare = await issuer.sign({ jti: undefined, iat: now - 5 });
      assert.equal((await exchange(srv.url, bearer(bare))).status, 200);
      assert.equal((await exchange(srv.url, bearer(bare))).status, 409);
      assert.equal(
        (await exchange(srv.url, bearer(await issuer.sign({ jti: undefined, iat: now - 4 })))).status,
        200,
      );
      assert.equal((await minted()) - before, 4, "one token per identity token");
      const row = (await adminListTokens(at)).find((t) => t.oidc?.subject === MAIN);
      assert.deepEqual(
        { issuer: row?.oidc?.issuer, rules: row?.oidc?.rules.length },
        { issuer: issuer.url, rules: 3 },
        "the trust rules that granted it",
      );
    });

    test("exchanges per subject are limited across the server: 429 with Retry-After, other subjects go on", async () => {
      const limited = await start({ oidcExchangesPerMinute: 3 });
      try {
        const sub = "repo:example-org/flake:ref:refs/heads/busy";
        const statuses = [];
        for (let i = 0; i < 3; i++)
          statuses.push((await exchange(limited.url, bearer(await issuer.sign({ sub })))).status);
        assert.deepEqual(statuses, [200, 200, 200]);
        const over = await exchange(limited.url, bearer(await issuer.sign({ sub })));
        assert.equal(over.status, 429, over.text);
        assert.match(
          String(over.json.error),
          /^subject "repo:example-org\/flake:ref:refs\/heads\/busy" of issuer http:\/\/127\.0\.0\.1:\d+ exchanged 3 identity tokens in the last minute, this server's limit \(--oidc-exchanges-per-minute\): retry in \d+s$/,
        );
        const wait = Number(over.headers.get("retry-after"));
        assert.ok(wait >= 1 && wait <= 60, `Retry-After: ${wait}`);
        const other = await exchange(
          limited.url,
          bearer(await issuer.sign({ sub: PR, event_name: "pull_request" })),
        );
        assert.equal(other.status, 200, other.text);
      } finally {
        await limited.close();
      }
    });

    test("an exchanged token stops working when it expires", async () => {
      const short = await start({ oidcTokenTtlMs: 1500 });
      try {
        const r = await exchange(short.url, bearer(await issuer.sign()));
        assert.equal(r.status, 200, r.text);
        const token = String(r.json.token);
        const expiresAt = Date.parse(String(r.json.expiresAt));
        assert.ok(expiresAt - Date.now() <= 1500);
        const u = await makeUpload("oidc-short");
        assert.deepEqual((await nixPush(short.url, "main", u, bearer(token))).slice(0, 2), [204, 204]);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 50));
        const [status, , why] = await nixPush(
          short.url,
          "main",
          await makeUpload("oidc-late"),
          bearer(token),
        );
        assert.equal(status, 401);
        assert.match(why, /this token has expired/);
        assert.equal(await narinfoStatus(short.url, "main", u.hash, basic(token)), 401);
        const api = await fetch(`${short.url}/api/v1/cache/main`, {
          headers: { authorization: bearer(token) },
        });
        assert.equal(api.status, 401);
        assert.deepEqual(await api.json(), { error: "this token has expired" });
      } finally {
        await short.close();
      }
    });
  });
});

describe("a server without OIDC issuers", () => {
  test("the exchange answers 404 saying how to turn it on; bad issuer configuration is refused", async () => {
    const dir = tempDir("nixcache-oidc-off-");
    const srv = await startServer({ dataDir: dir.path, port: 0, upstreams: [] });
    try {
      const r = await exchange(srv.url, "Bearer x.y.z");
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, {
        error: "this server has no OIDC token exchange: it was started without --oidc-issuer",
      });
      const url = oidcExchangeUrl(`${srv.url}/main`);
      await assert.rejects(exchangeIdToken(url, "x.y.z"), /this server has no OIDC token exchange/);
    } finally {
      await srv.close();
    }
    await assert.rejects(
      startServer({
        dataDir: dir.path,
        port: 0,
        oidcIssuers: [{ issuer: "http://issuer.example.org", audiences: ["nixcache"] }],
      }),
      /--oidc-issuer: issuer "http:\/\/issuer\.example\.org" must be an https URL/,
    );
    dir.cleanup();
  });
});
