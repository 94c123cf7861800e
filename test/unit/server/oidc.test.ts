// OIDC identity tokens: the verifier against a local issuer (discovery + JWKS over HTTP, keys from
// jose), the trust rules' patterns, and the token exchange's logic with in-memory rules.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { base64url, generateKeyPair, SignJWT } from "jose";
import { type OidcFailure, OidcVerifier } from "../../../src/server/auth/oidc.js";
import { exchangeOidcToken, type OidcGrantRequest } from "../../../src/server/auth/oidc-exchange.js";
import {
  GITHUB_ACTIONS_ISSUER,
  globMatch,
  matchRules,
  type TrustRule,
  TrustRuleSchema,
} from "../../../src/server/auth/trust-rules.js";
import { type LocalIssuer, startOidcIssuer } from "../../helpers/oidc-issuer.js";

/** Resolves when `p` rejects with an OidcError of `reason` (and a message that holds no token). */
async function refused(p: Promise<unknown>, reason: OidcFailure, token?: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as { reason?: string; message: string; status?: number };
    assert.equal(err.reason, reason, `expected ${reason}, got ${err.reason}: ${err.message}`);
    assert.equal(err.status, reason === "issuerUnavailable" ? 503 : 401);
    if (token) assert.ok(!err.message.includes(token.split(".")[2] as string), "the message holds the token");
    return err.message;
  }
  assert.fail(`expected a refusal (${reason}), but it was accepted`);
}

const b64json = (o: unknown) => base64url.encode(JSON.stringify(o));

describe("OidcVerifier against a local issuer", () => {
  let issuer: LocalIssuer;
  let verifier: OidcVerifier;

  before(async () => {
    issuer = await startOidcIssuer();
    verifier = new OidcVerifier([{ issuer: issuer.url, audiences: ["nixcache"] }], { refreshCooldownMs: 0 });
  });
  after(() => issuer.close());

  test("valid RS256 and ES256 tokens are accepted and their claims returned", async () => {
    const rs = await verifier.verify(await issuer.sign({}, { alg: "RS256" }));
    assert.equal(rs.iss, issuer.url);
    assert.equal(rs.sub, "repo:example-org/flake:ref:refs/heads/main");
    assert.equal(rs.repository, "example-org/flake");
    const es = await verifier.verify(await issuer.sign({ sub: "repo:a/b:pull_request" }, { alg: "ES256" }));
    assert.equal(es.sub, "repo:a/b:pull_request");
    // One audience of several is enough.
    const multi = await verifier.verify(await issuer.sign({ aud: ["other", "nixcache"] }));
    assert.deepEqual(multi.aud, ["other", "nixcache"]);
  });

  test("time claims: expired, not yet valid, issued in the future; a small skew is tolerated", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await issuer.sign({ iat: now - 900, nbf: now - 900, exp: now - 600 });
    assert.match(await refused(verifier.verify(expired), "expired", expired), /expired/);
    const early = await issuer.sign({ nbf: now + 600, exp: now + 900 });
    assert.match(await refused(verifier.verify(early), "notYetValid"), /not valid yet/);
    await refused(verifier.verify(await issuer.sign({ iat: now + 600, exp: now + 900 })), "issuedInFuture");
    // 30 s of clock skew either way is within the default 60 s tolerance.
    await verifier.verify(await issuer.sign({ iat: now + 30, nbf: now + 30, exp: now - 30 + 300 }));
    await verifier.verify(await issuer.sign({ iat: now - 330, nbf: now - 330, exp: now - 30 }));
    // A token without exp would never expire: refused.
    await refused(verifier.verify(await issuer.sign({ exp: undefined })), "missingClaim");
  });

  test("item 18: a token issued over an hour ago (the default maximum age) is refused, whatever its exp", async () => {
    const now = Math.floor(Date.now() / 1000);
    const century = now + 100 * 365 * 86400;
    const ancient = await issuer.sign({ iat: 1, nbf: 1, exp: century });
    assert.match(
      await refused(verifier.verify(ancient), "expired", ancient),
      /issued too long ago: more than 1h before now/,
    );
    await refused(verifier.verify(await issuer.sign({ iat: now - 2 * 3600, exp: century })), "expired");
    // Within the hour (and the clock tolerance), a long exp does not matter.
    await verifier.verify(await issuer.sign({ iat: now - 3600 + 30, exp: century }));
    // The maximum is the verifier's option (serve --oidc-max-token-age).
    const strict = new OidcVerifier([{ issuer: issuer.url, audiences: ["nixcache"] }], {
      maxTokenAgeSeconds: 300,
    });
    const m = await refused(strict.verify(await issuer.sign({ iat: now - 600, exp: now + 600 })), "expired");
    assert.match(m, /more than 5m before now/);
    await strict.verify(await issuer.sign({ iat: now - 200, exp: now + 600 }));
  });

  test("wrong audience and unknown issuer", async () => {
    const m = await refused(
      verifier.verify(await issuer.sign({ aud: "sts.amazonaws.com" })),
      "wrongAudience",
    );
    assert.match(m, /audience must be nixcache/);
    await refused(verifier.verify(await issuer.sign({ aud: undefined })), "missingClaim");
    const stranger = await startOidcIssuer();
    try {
      const m2 = await refused(verifier.verify(await stranger.sign({ iss: stranger.url })), "unknownIssuer");
      assert.match(m2, /is not trusted/);
      // Another issuer's key claiming to be the trusted issuer: its key id is unknown there.
      await refused(verifier.verify(await stranger.sign({ iss: issuer.url })), "unknownKey");
    } finally {
      await stranger.close();
    }
  });

  test("unknown key id, tampered payload, and a key the issuer never published", async () => {
    const ghost = await issuer.foreignKey("RS256");
    await refused(verifier.verify(await ghost.sign()), "unknownKey");
    // Same kid as a published key, other key material: the signature fails.
    const kid = issuer.kids()[0] as string;
    const other = await generateKeyPair("RS256");
    const forged = await new SignJWT(issuer.claims())
      .setProtectedHeader({ alg: "RS256", kid })
      .sign(other.privateKey);
    await refused(verifier.verify(forged), "badSignature", forged);

    const good = await issuer.sign();
    const [h, , s] = good.split(".");
    const payload = b64json(issuer.claims({ sub: "repo:example-org/flake:ref:refs/heads/main", ref: "x" }));
    const tampered = `${h}.${payload}.${s}`;
    await refused(verifier.verify(tampered), "badSignature", tampered);
  });

  test("alg none, HS256 with the RSA public key as secret, and algorithms the issuer does not use", async () => {
    const claims = issuer.claims();
    const none = `${b64json({ alg: "none", typ: "JWT" })}.${b64json(claims)}.`;
    await refused(verifier.verify(none), "algNotAllowed");
    const kid = issuer.kids()[0] as string;
    const pem = await issuer.publicKeyPem(kid);
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid })
      .sign(new TextEncoder().encode(pem));
    await refused(verifier.verify(hs), "algNotAllowed", hs);
    // PS256 is asymmetric but the issuer does not advertise it.
    const ps = `${b64json({ alg: "PS256", kid })}.${b64json(claims)}.${base64url.encode("sig")}`;
    const m = await refused(verifier.verify(ps), "algNotAllowed");
    assert.match(m, /signs with RS256, ES256, not PS256/);
  });

  test("malformed input", async () => {
    for (const t of ["", "abc", "a.b.c", `${b64json({ alg: "RS256" })}.${base64url.encode("[1]")}.x`])
      await refused(verifier.verify(t), "malformed");
    await refused(verifier.verify("x".repeat(20_000)), "malformed");
    await refused(verifier.verify(await issuer.sign({ sub: "" })), "malformed");
  });

  test("rotated keys are picked up without a restart", async () => {
    await verifier.verify(await issuer.sign());
    const fresh = await issuer.rotate("RS256");
    const token = await issuer.sign({}, { kid: fresh });
    const before = issuer.fetches.jwks;
    const claims = await verifier.verify(token);
    assert.equal(claims.iss, issuer.url);
    assert.equal(issuer.fetches.jwks, before + 1, "one key fetch for the new key id");
    await verifier.verify(await issuer.sign({}, { kid: fresh }));
    assert.equal(issuer.fetches.jwks, before + 1, "known key ids need no fetch");
  });
});

describe("OidcVerifier: fetches are bounded", () => {
  test("unknown key ids refetch the keys at most once per cooldown", async () => {
    const issuer = await startOidcIssuer({ algs: ["ES256"] });
    try {
      const v = new OidcVerifier([{ issuer: issuer.url, audiences: ["nixcache"] }], {
        refreshCooldownMs: 300,
      });
      await v.verify(await issuer.sign({}, { alg: "ES256" }));
      assert.equal(issuer.fetches.jwks, 1);
      assert.equal(issuer.fetches.discovery, 1);
      const next = await issuer.rotate("ES256");
      const token = await issuer.sign({}, { kid: next });
      const ghost = await issuer.foreignKey("ES256");
      // Within the cooldown: refused, and no request reaches the issuer however many arrive.
      for (let i = 0; i < 5; i++) await refused(v.verify(await ghost.sign()), "unknownKey");
      await refused(v.verify(token), "unknownKey");
      assert.equal(issuer.fetches.jwks, 1);
      await new Promise((r) => setTimeout(r, 350));
      await v.verify(token);
      assert.equal(issuer.fetches.jwks, 2);
      assert.equal(issuer.fetches.discovery, 1);
    } finally {
      await issuer.close();
    }
  });

  test("an unreachable issuer is 503 issuerUnavailable, retried after the cooldown", async () => {
    const issuer = await startOidcIssuer();
    try {
      const v = new OidcVerifier([{ issuer: issuer.url, audiences: ["nixcache"] }], {
        refreshCooldownMs: 200,
      });
      issuer.setDown(true);
      const m = await refused(v.verify(await issuer.sign()), "issuerUnavailable");
      assert.match(m, /HTTP 503/);
      await refused(v.verify(await issuer.sign()), "issuerUnavailable");
      assert.equal(issuer.fetches.discovery, 0);
      issuer.setDown(false);
      await new Promise((r) => setTimeout(r, 250));
      await v.verify(await issuer.sign());
    } finally {
      await issuer.close();
    }
  });

  test("a discovery document that names another issuer is refused", async () => {
    const issuer = await startOidcIssuer({ claimedIssuer: "https://evil.example" });
    try {
      const v = new OidcVerifier([{ issuer: issuer.url, audiences: ["nixcache"] }]);
      assert.match(
        await refused(v.verify(await issuer.sign()), "issuerUnavailable"),
        /names issuer "https:\/\/evil.example"/,
      );
    } finally {
      await issuer.close();
    }
  });

  test("without advertised algorithms, the keys' declared ones are pinned", async () => {
    const issuer = await startOidcIssuer({ algs: ["ES256"], advertise: null });
    try {
      const v = new OidcVerifier([{ issuer: issuer.url, audiences: ["nixcache"] }]);
      await v.verify(await issuer.sign({}, { alg: "ES256" }));
      const ps = `${b64json({ alg: "RS256", kid: issuer.kids()[0] })}.${b64json(issuer.claims())}.AAAA`;
      assert.match(await refused(v.verify(ps), "algNotAllowed"), /signs with ES256, not RS256/);
    } finally {
      await issuer.close();
    }
  });

  test("configuration is checked: https issuers (http only on loopback), audiences", () => {
    assert.throws(() => new OidcVerifier([{ issuer: "http://example.org", audiences: ["x"] }]), /https/);
    assert.throws(() => new OidcVerifier([{ issuer: GITHUB_ACTIONS_ISSUER, audiences: [] }]), /audience/);
    new OidcVerifier([{ issuer: GITHUB_ACTIONS_ISSUER, audiences: ["nixcache"] }]);
  });
});

describe("trust rule patterns", () => {
  test("globMatch: * within a field, ** across fields, ? one character, anchored, literal", () => {
    const yes: Array<[string, string]> = [
      ["repo:ORG/REPO:ref:refs/heads/main", "repo:ORG/REPO:ref:refs/heads/main"],
      ["repo:ORG/*:ref:refs/heads/main", "repo:ORG/REPO:ref:refs/heads/main"],
      ["repo:ORG/REPO:ref:refs/heads/*", "repo:ORG/REPO:ref:refs/heads/release/1.0"],
      ["repo:ORG/REPO:ref:refs/heads/*", "repo:ORG/REPO:ref:refs/heads/"],
      ["repo:ORG/REPO:**", "repo:ORG/REPO:ref:refs/heads/main"],
      ["repo:ORG/REPO:**", "repo:ORG/REPO:pull_request"],
      ["repo:ORG/REPO:environment:prod-?", "repo:ORG/REPO:environment:prod-1"],
      ["repo:ORG/R*P*:ref:*", "repo:ORG/REPO:ref:x"],
      ["a***b", "a:x:b"],
      ["", ""],
    ];
    const no: Array<[string, string]> = [
      ["repo:ORG/REPO:ref:refs/heads/main", "repo:ORG/REPO:pull_request"],
      ["repo:ORG/REPO:ref:refs/heads/main", "repo:ORG/REPO:ref:refs/heads/main2"],
      ["repo:ORG/REPO:ref:refs/heads/main", "xrepo:ORG/REPO:ref:refs/heads/main"],
      ["repo:ORG/REPO:ref:refs/heads/main", "repo:org/repo:ref:refs/heads/main"],
      ["repo:ORG/REPO:*", "repo:ORG/REPO:ref:refs/heads/main"],
      ["repo:ORG/*", "repo:ORG/REPO:pull_request"],
      ["repo:ORG/*:ref:refs/heads/main", "repo:ORG/REPO:ref:x:ref:refs/heads/main"],
      ["repo:ORG/REPO:environment:prod-?", "repo:ORG/REPO:environment:prod-"],
      ["repo:ORG/REPO:environment:prod-?", "repo:ORG/REPO:environment:prod-12"],
      ["a?b", "a:b"],
      ["repo.ORG", "repoXORG"],
      ["[a]", "a"],
    ];
    for (const [p, v] of yes) assert.ok(globMatch(p, v), `${p} should match ${v}`);
    for (const [p, v] of no) assert.ok(!globMatch(p, v), `${p} should not match ${v}`);
  });

  test("a pattern made to make backtracking matchers explode still returns", () => {
    assert.equal(globMatch(`${"*a".repeat(40)}b`, "a".repeat(500)), false);
    assert.equal(globMatch(`${"**a".repeat(40)}`, "a".repeat(500)), true);
  });

  const ISS = GITHUB_ACTIONS_ISSUER;
  const main = "repo:ORG/REPO:ref:refs/heads/main";
  const rules: TrustRule[] = [
    { cache: "main", issuer: ISS, subject: main, perm: "write" },
    { cache: "main", issuer: ISS, subject: "repo:ORG/REPO:**", perm: "read" },
    { cache: "docs", issuer: ISS, subject: "repo:ORG/*:ref:refs/heads/*", perm: "read" },
    {
      cache: "docs",
      issuer: ISS,
      subject: "repo:ORG/REPO:**",
      claims: { workflow_ref: "ORG/REPO/.github/workflows/docs.yml@refs/heads/main", event_name: "push" },
      perm: "write",
    },
    { cache: "elsewhere", issuer: "https://gitlab.example", subject: main, perm: "write" },
  ];

  test("matchRules: the highest permission per cache, only the token's issuer's rules", () => {
    const push = {
      iss: ISS,
      sub: main,
      event_name: "push",
      workflow_ref: "ORG/REPO/.github/workflows/build.yml@refs/heads/main",
    };
    assert.deepEqual([...matchRules(rules, push)].sort(), [
      ["docs", "read"],
      ["main", "write"],
    ]);
    const docs = { ...push, workflow_ref: "ORG/REPO/.github/workflows/docs.yml@refs/heads/main" };
    assert.equal(matchRules(rules, docs).get("docs"), "write");
    // Order of rules does not matter.
    assert.deepEqual(matchRules([...rules].reverse(), push), matchRules(rules, push));
    assert.equal(matchRules(rules, { iss: "https://gitlab.example", sub: main }).get("elsewhere"), "write");
    assert.equal(matchRules(rules, { iss: "https://gitlab.example", sub: main }).has("main"), false);
  });

  test("a pull request's subject (a fork's included) matches no write rule for main", () => {
    const pr = { iss: ISS, sub: "repo:ORG/REPO:pull_request", event_name: "pull_request" };
    const granted = matchRules(rules, pr);
    assert.equal(granted.get("main"), "read");
    assert.ok(![...granted.values()].includes("write"));
    const onlyWrite = rules.filter((r) => r.perm === "write" && r.subject === main);
    assert.equal(matchRules(onlyWrite, pr).size, 0);
    // A claim that is missing, or not text, never matches.
    assert.equal(matchRules(rules, { iss: ISS, sub: main, workflow_ref: 1 }).get("docs"), "read");
    assert.equal(matchRules(rules, { iss: ISS, sub: 42 }).size, 0);
  });

  test("TrustRuleSchema: GitHub rules must pin the owner; subjects start with literal text", () => {
    const ok = (r: object) => assert.ok(TrustRuleSchema.safeParse(r).success, JSON.stringify(r));
    const bad = (r: object, re: RegExp) => {
      const p = TrustRuleSchema.safeParse(r);
      assert.ok(!p.success, JSON.stringify(r));
      assert.match(p.error.issues.map((i) => i.message).join("; "), re);
    };
    ok({ cache: "main", issuer: ISS, subject: main, perm: "write" });
    ok({ cache: "main", issuer: ISS, subject: "repo:ORG/*:ref:refs/heads/main", perm: "read" });
    ok({
      cache: "main",
      issuer: ISS,
      subject: "repository_owner_id:1:**",
      claims: { repository_owner: "ORG" },
      perm: "write",
    });
    ok({ cache: "main", issuer: "http://127.0.0.1:9999", subject: "x", perm: "write" });
    bad(
      { cache: "main", issuer: ISS, subject: "repo:*/REPO:ref:refs/heads/main", perm: "write" },
      /pin the repository owner/,
    );
    bad({ cache: "main", issuer: ISS, subject: "repo:**", perm: "read" }, /pin the repository owner/);
    bad(
      { cache: "main", issuer: ISS, subject: "repo:**", claims: { repository_owner: "O*" }, perm: "read" },
      /pin the repository owner/,
    );
    bad({ cache: "main", issuer: "https://gitlab.example", subject: "**", perm: "read" }, /literal text/);
    bad({ cache: "main", issuer: "http://gitlab.example", subject: "x", perm: "read" }, /https/);
    bad({ cache: "main", issuer: ISS, subject: main, perm: "admin" }, /./);
  });

  test("item 18: a subject or claim pattern with a newline or another control character is refused", () => {
    const bad = (r: object) => {
      const p = TrustRuleSchema.safeParse(r);
      assert.ok(!p.success, JSON.stringify(r));
      assert.match(p.error.issues.map((i) => i.message).join("; "), /control character/);
    };
    for (const c of ["\n", "\r", "\t", "\0", "\x1b", "\x7f", "\u0085", "\u2028"]) {
      bad({
        cache: "main",
        issuer: ISS,
        subject: `${main}${c}repo:other/x:ref:refs/heads/main`,
        perm: "write",
      });
      bad({ cache: "main", issuer: ISS, subject: main, claims: { event_name: `push${c}` }, perm: "write" });
      bad({
        cache: "main",
        issuer: ISS,
        subject: main,
        claims: { [`event${c}name`]: "push" },
        perm: "write",
      });
    }
  });
});

describe("the token exchange (in-memory rules, local issuer)", () => {
  let issuer: LocalIssuer;
  let verifier: OidcVerifier;
  const minted: OidcGrantRequest[] = [];
  let rules: TrustRule[] = [];

  before(async () => {
    issuer = await startOidcIssuer();
    verifier = new OidcVerifier([{ issuer: issuer.url, audiences: ["nixcache"] }]);
    rules = [
      {
        cache: "main",
        issuer: issuer.url,
        subject: "repo:example-org/flake:ref:refs/heads/main",
        perm: "write",
      },
      { cache: "main", issuer: issuer.url, subject: "repo:example-org/flake:**", perm: "read" },
      { cache: "other", issuer: issuer.url, subject: "repo:example-org/*:ref:refs/heads/*", perm: "read" },
    ];
  });
  after(() => issuer.close());

  const deps = () => ({
    verifier,
    rulesFor: async (iss: string) => rules.filter((r) => r.issuer === iss),
    mint: async (g: OidcGrantRequest) => {
      minted.push(g);
      return { token: `nxc_minted_${minted.length}` };
    },
    now: () => Date.parse("2030-01-01T00:00:00Z"),
    ttlMs: 3600_000,
  });

  test("a push to main gets a token with write on main, read on other", async () => {
    const jwt = await issuer.sign();
    const r = await exchangeOidcToken(deps(), `Bearer ${jwt}`);
    assert.deepEqual(r, {
      token: `nxc_minted_${minted.length}`,
      expiresAt: "2030-01-01T01:00:00.000Z",
      caches: { main: "write", other: "read" },
    });
    const g = minted.at(-1) as OidcGrantRequest;
    assert.equal(g.claims.sub, "repo:example-org/flake:ref:refs/heads/main");
    assert.equal(g.expiresAt, Date.parse("2030-01-01T01:00:00Z"));
  });

  test("a pull request gets read only; no rule at all is 401 noMatchingRule", async () => {
    const pr = await exchangeOidcToken(
      deps(),
      `bearer ${await issuer.sign({ sub: "repo:example-org/flake:pull_request" })}`,
    );
    assert.deepEqual(pr.caches, { main: "read" });
    const before = minted.length;
    const m = await refused(
      exchangeOidcToken(
        deps(),
        `Bearer ${await issuer.sign({ sub: "repo:someone/fork:ref:refs/heads/main" })}`,
      ),
      "noMatchingRule",
    );
    assert.match(m, /no trust rule .* "repo:someone\/fork:ref:refs\/heads\/main"/);
    assert.equal(minted.length, before, "nothing is minted for a refusal");
  });

  test("a bad identity token is refused with the verifier's reason; no Bearer is malformed", async () => {
    await refused(
      exchangeOidcToken(deps(), `Bearer ${await issuer.sign({ aud: "other" })}`),
      "wrongAudience",
    );
    await refused(exchangeOidcToken(deps(), undefined), "malformed");
    await refused(exchangeOidcToken(deps(), "Basic Zm9vOmJhcg=="), "malformed");
    const now = Math.floor(Date.now() / 1000);
    await refused(
      exchangeOidcToken(deps(), `Bearer ${await issuer.sign({ iat: now - 900, exp: now - 600 })}`),
      "expired",
    );
  });
});
