// The CLI of OIDC: `nixcache cache trust add|list|remove` (with what they refuse), `token list`
// for exchanged tokens, and `nixcache serve --oidc-*` as a process answering the exchange.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { mintToken } from "../../../src/server/auth/tokens.js";
import { GITHUB_ACTIONS_ISSUER } from "../../../src/server/auth/trust-rules.js";
import { withMetadata } from "../../../src/server/state-location.js";
import { runCli } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/nix.js";
import { type LocalIssuer, startOidcIssuer } from "../../helpers/oidc-issuer.js";
import { serve } from "../../helpers/serve.js";

const MAIN = "repo:example-org/flake:ref:refs/heads/main";

describe("nixcache cache trust", () => {
  const dir = tempDir("nixcache-trust-cli-");
  const data = join(dir.path, "data");
  const trust = (...args: string[]) => runCli(["cache", "trust", ...args, "--data", data]);
  const add = (cache: string, ...flags: string[]) => trust("add", cache, ...flags);

  before(async () => {
    for (const name of ["main", "docs"]) {
      const r = await runCli(["cache", "create", name, "--data", data, "--private"]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(() => dir.cleanup());

  test("add prints the rule's id; list shows rules per cache; remove takes them away", async () => {
    const push = await add(
      "main",
      "--issuer",
      GITHUB_ACTIONS_ISSUER,
      "--subject",
      MAIN,
      "--claim",
      "event_name=push",
      "--claim",
      "workflow_ref=example-org/flake/.github/workflows/*@refs/heads/main",
      "--perm",
      "write",
    );
    assert.equal(push.code, 0, push.stderr);
    const id = push.stdout.trim();
    assert.match(id, /^rule_[0-9a-f]{8}$/);
    const pr = await add(
      "main",
      "--issuer",
      GITHUB_ACTIONS_ISSUER,
      "--subject",
      "repo:example-org/flake:pull_request",
      "--perm",
      "read",
      "--json",
    );
    assert.equal(pr.code, 0, pr.stderr);
    const prRule = JSON.parse(pr.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(prRule).sort(), [
      "cache",
      "claims",
      "createdAt",
      "id",
      "issuer",
      "perm",
      "subject",
    ]);
    assert.deepEqual(prRule.claims, {});
    const other = await add(
      "docs",
      "--issuer",
      "https://gitlab.example.org",
      "--subject",
      "project_path:g/p:*",
      "--perm",
      "read",
    );
    assert.equal(other.code, 0, other.stderr);

    const listed = await trust("list", "main");
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trimEnd().split("\n"), [
      [
        id,
        "main",
        "write",
        GITHUB_ACTIONS_ISSUER,
        MAIN,
        "event_name=push",
        "workflow_ref=example-org/flake/.github/workflows/*@refs/heads/main",
      ].join("\t"),
      [prRule.id, "main", "read", GITHUB_ACTIONS_ISSUER, "repo:example-org/flake:pull_request"].join("\t"),
    ]);
    const all = JSON.parse((await trust("list", "--json")).stdout) as Array<{ id: string; cache: string }>;
    assert.deepEqual(
      all.map((r) => r.cache),
      ["main", "main", "docs"],
    );

    const wrongCache = await trust("remove", "docs", id);
    assert.equal(wrongCache.code, 1);
    assert.match(wrongCache.stderr, new RegExp(`cache docs has no trust rule "${id}"`));
    const removed = await trust("remove", "main", id);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stderr, new RegExp(`removed ${id} from cache main`));
    assert.equal((await trust("remove", "main", id)).code, 1, "removed once only");
    const left = JSON.parse((await trust("list", "main", "--json")).stdout) as Array<{ id: string }>;
    assert.deepEqual(
      left.map((r) => r.id),
      [prRule.id],
    );
    const none = await runCli(["cache", "trust", "list", "main", "--data", join(dir.path, "empty")]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no cache named "main"/);
  });

  test("bad input is refused with the reason and stores nothing", async () => {
    const before = (await trust("list", "--json")).stdout;
    const cases: Array<[string[], number, RegExp]> = [
      [
        ["nope", "--issuer", GITHUB_ACTIONS_ISSUER, "--subject", MAIN, "--perm", "read"],
        1,
        /no cache named "nope"/,
      ],
      [
        ["main", "--issuer", GITHUB_ACTIONS_ISSUER, "--subject", MAIN, "--perm", "admin"],
        2,
        /--perm "admin" must be read or write/,
      ],
      [
        [
          "main",
          "--issuer",
          GITHUB_ACTIONS_ISSUER,
          "--subject",
          "repo:*/flake:ref:refs/heads/main",
          "--perm",
          "write",
        ],
        2,
        /must pin the repository owner/,
      ],
      [
        [
          "main",
          "--issuer",
          GITHUB_ACTIONS_ISSUER,
          "--subject",
          "repo:example-*:ref:refs/heads/main",
          "--perm",
          "write",
        ],
        2,
        /must pin the repository owner/,
      ],
      [
        ["main", "--issuer", "https://gitlab.example.org", "--subject", "*", "--perm", "read"],
        2,
        /must start with literal text/,
      ],
      [["main", "--issuer", "https://gitlab.example.org", "--subject", "", "--perm", "read"], 2, /subject: /],
      [
        ["main", "--issuer", "http://issuer.example.org", "--subject", "x", "--perm", "read"],
        2,
        /issuer "http:\/\/issuer\.example\.org" must be an https URL/,
      ],
      [["main", "--issuer", "not a url", "--subject", "x", "--perm", "read"], 2, /is not a URL/],
      [
        [
          "main",
          "--issuer",
          GITHUB_ACTIONS_ISSUER,
          "--subject",
          MAIN,
          "--perm",
          "read",
          "--claim",
          "event_name",
        ],
        2,
        /--claim "event_name" is not NAME=GLOB/,
      ],
      [
        ["main", "--issuer", GITHUB_ACTIONS_ISSUER, "--subject", MAIN, "--perm", "read", "--claim", "=push"],
        2,
        /is not NAME=GLOB/,
      ],
      [
        ["main", "--issuer", GITHUB_ACTIONS_ISSUER, "--subject", MAIN, "--perm", "read", "--claim", "ref="],
        2,
        /claims\.ref: /,
      ],
      [
        ["main", "--issuer", GITHUB_ACTIONS_ISSUER, "--perm", "read"],
        2,
        /required option '--subject <glob>' not specified/,
      ],
    ];
    for (const [args, code, reason] of cases) {
      const r = await add(...(args as [string, ...string[]]));
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, reason, args.join(" "));
      assert.equal(r.stdout, "");
    }
    // A GitHub rule may pin the owner by claim instead of by subject.
    const byClaim = await add(
      "docs",
      "--issuer",
      GITHUB_ACTIONS_ISSUER,
      "--subject",
      "repo:*:environment:docs",
      "--claim",
      "repository_owner=example-org",
      "--perm",
      "read",
    );
    assert.equal(byClaim.code, 0, byClaim.stderr);
    await trust("remove", "docs", byClaim.stdout.trim());
    assert.equal((await trust("list", "--json")).stdout, before);
  });

  test("token list shows exchanged tokens by subject and grants; --help documents the commands", async () => {
    const { token } = await withMetadata({ dataDir: data }, (meta) =>
      mintToken(meta, {
        kind: "oidc",
        grants: { main: "write", docs: "read" },
        expiresAt: Date.now() + 3600_000,
        description: MAIN,
      }),
    );
    const r = await runCli(["token", "list", "--data", data]);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split("\n").find((l) => l.includes("oidc:"));
    assert.match(
      line ?? "",
      new RegExp(`^tok_[0-9a-f]{12}\\toidc:docs=read,main=write\\twrite\\tactive\\texpires \\S+\\t${MAIN}$`),
    );
    assert.ok(!r.stdout.includes(token));
    const json = JSON.parse((await runCli(["token", "list", "--data", data, "--json"])).stdout) as Array<
      Record<string, unknown>
    >;
    const row = json.find((t) => t.kind === "oidc");
    assert.deepEqual(row?.grants, { docs: "read", main: "write" });
    assert.equal(row?.description, MAIN);

    const help = await runCli(["cache", "trust", "add", "--help"]);
    assert.match(help.stdout, /--issuer <url>/);
    assert.match(help.stdout, /--claim <name=glob>/);
    assert.match(help.stdout, /must pin the repository owner/);
    assert.match((await runCli(["cache", "--help"])).stdout, /trust/);
    const serveHelp = (await runCli(["serve", "--help"])).stdout;
    for (const flag of [
      "--oidc-issuer <url...>",
      "--oidc-audience <aud...>",
      "--oidc-token-ttl <duration>",
      "--oidc-max-token-age <duration>",
      "--oidc-exchanges-per-minute <n>",
    ])
      assert.ok(serveHelp.includes(flag), flag);
  });
});

// Issue 30, item 9: every token minted for a CI identity, or under a trust rule, revoked at once.
describe("nixcache token revoke --subject / --rule", () => {
  const dir = tempDir("nixcache-revoke-cli-");
  const data = join(dir.path, "data");
  const revoke = (...args: string[]) => runCli(["token", "revoke", ...args, "--data", data]);

  after(() => dir.cleanup());

  test("revokes the working tokens the exchange minted for a subject or rule, and says which", async () => {
    assert.equal((await runCli(["cache", "create", "main", "--data", data])).code, 0);
    const iss = GITHUB_ACTIONS_ISSUER;
    const PR = "repo:example-org/flake:pull_request";
    const ids = await withMetadata({ dataDir: data }, async (meta) => {
      const out: string[] = [];
      for (const [i, subject, rules] of [
        [1, MAIN, ["rule_aa"]],
        [2, MAIN, ["rule_aa", "rule_bb"]],
        [3, PR, ["rule_bb"]],
      ] as const) {
        const id = `tok_00000000000${i}`;
        const r = await meta.insertOidcToken(
          {
            kind: "oidc",
            grants: { main: "write" },
            hash: `h${i}`,
            id,
            expiresAt: Date.now() + 3600_000,
            description: subject,
            oidc: { issuer: iss, subject, rules: [...rules], identity: `identity-${i}` },
          },
          { perMinute: 100, purgeBefore: 0 },
        );
        assert.ok("row" in r);
        out.push(id);
      }
      return out;
    });
    const bySubject = await revoke("--subject", MAIN, "--issuer", iss);
    assert.equal(bySubject.code, 0, bySubject.stderr);
    assert.equal(bySubject.stderr, `revoked 2 tokens of subject "${MAIN}" of ${iss}: ${ids[0]}, ${ids[1]}\n`);
    const byRule = await revoke("--rule", "rule_bb", "--json");
    assert.equal(byRule.code, 0, byRule.stderr);
    const json = JSON.parse(byRule.stdout) as Array<{
      id: string;
      revokedAt: string;
      oidc: { subject: string };
    }>;
    assert.deepEqual(
      json.map((t) => [t.id, t.oidc.subject]),
      [[ids[2], PR]],
      "the one of rule_bb still working",
    );
    assert.equal((await revoke("--rule", "rule_bb")).stderr, "revoked 0 tokens of trust rule rule_bb\n");
    const list = await runCli(["token", "list", "--data", data]);
    assert.equal(list.stdout.split("\n").filter((l) => /\trevoked\t/.test(l)).length, 3);

    for (const [args, why] of [
      [[], /name the token to revoke/],
      [["--issuer", iss], /--issuer goes with --subject/],
      [["tok_000000000001", "--subject", MAIN], /not both/],
      [["--rule", "drop table"], /is not a trust rule id/],
    ] as const) {
      const r = await revoke(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
  });
});

describe("nixcache serve --oidc-issuer", () => {
  let issuer: LocalIssuer;
  const dir = tempDir("nixcache-serve-oidc-");
  const data = join(dir.path, "data");

  before(async () => {
    issuer = await startOidcIssuer();
  });
  after(async () => {
    await issuer.close();
    dir.cleanup();
  });

  test("flags are checked before anything starts", async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ["--oidc-audience", "x"],
        /--oidc-audience, --oidc-token-ttl, --oidc-max-token-age and --oidc-exchanges-per-minute need --oidc-issuer/,
      ],
      [["--oidc-max-token-age", "5m"], /need --oidc-issuer/],
      [["--oidc-exchanges-per-minute", "10"], /need --oidc-issuer/],
      [
        ["--oidc-issuer", issuer.url, "--oidc-exchanges-per-minute", "0"],
        /--oidc-exchanges-per-minute "0" must be a whole number ≥ 1/,
      ],
      [
        ["--oidc-issuer", issuer.url, "--oidc-max-token-age", "2d"],
        /--oidc-max-token-age must be from 1m to 24h/,
      ],
      [["--oidc-issuer", "http://issuer.example.org"], /must be an https URL/],
      [["--oidc-issuer", issuer.url, "--oidc-token-ttl", "30s"], /--oidc-token-ttl must be from 1m to 24h/],
      [["--oidc-issuer", issuer.url, "--oidc-token-ttl", "2d"], /--oidc-token-ttl must be from 1m to 24h/],
      [["--oidc-issuer", issuer.url, "--oidc-token-ttl", "soon"], /is not a duration/],
      [["--oidc-issuer", issuer.url, issuer.url], /an issuer is given twice/],
    ];
    for (const [flags, reason] of cases) {
      const r = await runCli(["serve", "--data", data, "--listen", "127.0.0.1:0", ...flags]);
      assert.equal(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, reason);
    }
  });

  test("without the flags the server starts and its exchange answers 404", async () => {
    const s = await serve(join(dir.path, "plain"));
    try {
      const r = await fetch(`${s.url}/api/v1/oidc/token`, {
        method: "POST",
        headers: { authorization: "Bearer x" },
      });
      assert.equal(r.status, 404);
      assert.match(((await r.json()) as { error: string }).error, /started without --oidc-issuer/);
    } finally {
      s.child.kill("SIGTERM");
      await s.exited;
    }
  });

  test("a served process exchanges identity tokens for its audiences, with the lifetime asked for", async () => {
    assert.equal((await runCli(["cache", "create", "main", "--data", data, "--private"])).code, 0);
    const rule = await runCli([
      "cache",
      "trust",
      "add",
      "main",
      "--data",
      data,
      "--issuer",
      issuer.url,
      "--subject",
      MAIN,
      "--perm",
      "write",
    ]);
    assert.equal(rule.code, 0, rule.stderr);
    const s = await serve(data, [
      "--oidc-issuer",
      issuer.url,
      "--oidc-audience",
      "https://cache.example.org",
      "nixcache",
      "--oidc-token-ttl",
      "2m",
      "--oidc-max-token-age",
      "5m",
    ]);
    try {
      const post = async (aud: string) => {
        const r = await fetch(`${s.url}/api/v1/oidc/token`, {
          method: "POST",
          headers: { authorization: `Bearer ${await issuer.sign({ aud })}` },
        });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      for (const aud of ["nixcache", "https://cache.example.org"]) {
        const before = Date.now();
        const ok = await post(aud);
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.deepEqual(ok.body.caches, { main: "write" });
        const ttl = Date.parse(String(ok.body.expiresAt)) - before;
        assert.ok(ttl > 110_000 && ttl <= 121_000, `lifetime ${ttl} ms`);
      }
      const wrong = await post("other");
      assert.equal(wrong.status, 401);
      assert.match(String(wrong.body.error), /audience must be https:\/\/cache\.example\.org or nixcache/);
      // Issued 10 minutes ago with an exp a century on: older than --oidc-max-token-age.
      const now = Math.floor(Date.now() / 1000);
      const old = await fetch(`${s.url}/api/v1/oidc/token`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${await issuer.sign({ iat: now - 600, exp: now + 100 * 365 * 86400 })}`,
        },
      });
      assert.equal(old.status, 401);
      assert.match(
        ((await old.json()) as { error: string }).error,
        /issued too long ago: more than 5m before now/,
      );
    } finally {
      s.child.kill("SIGTERM");
      await s.exited;
    }
    assert.doesNotMatch(s.stderr(), /eyJ/, "no identity token in the logs");
    assert.doesNotMatch(s.stderr(), /nxc_/, "no cache token in the logs");
  });
});
