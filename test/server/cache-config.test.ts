// GET /api/cache-config: the caches a caller may read with their substituters and keys, and the
// OIDC audience; and the clients' key lookup (publishedSigningKeys, behind `nixcache ci --cache`,
// `build --push` and the Action) asking it first, the Cachix API after.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cacheConfigKeys, publishedSigningKeys } from "../../src/caches/published-keys.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { tempDir } from "../helpers/nix.js";

describe("GET /api/cache-config", () => {
  const dir = tempDir("nixcache-cache-config-");
  const here = { dataDir: join(dir.path, "data") };
  let server: RunningServer;
  const log: string[] = [];
  const keys: Record<string, string> = {};
  let readPriv = "";

  before(async () => {
    for (const [name, isPublic] of [
      ["pub", true],
      ["priv", false],
      ["other", false],
    ] as const)
      keys[name] = (await adminCreateCache(here, { name, isPublic, priority: 41 })).publicKey;
    readPriv = (await adminCreateToken(here, { cache: "priv", perm: "read", expiresAt: null })).token;
    server = await startServer({
      ...here,
      port: 0,
      publicUrl: "https://cache.example.org",
      oidcIssuers: [
        { issuer: "https://token.actions.githubusercontent.com", audiences: ["my-aud", "other-aud"] },
      ],
      log: (line) => log.push(line),
    });
    await server.meta.addClientKey("pub", "pub-user-1", Buffer.alloc(32, 7).toString("base64"));
  });
  after(async () => {
    await server?.close();
    dir.cleanup();
  });

  const get = async (query = "", token?: string) => {
    const r = await fetch(`${server.url}/api/cache-config${query}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return {
      status: r.status,
      type: r.headers.get("content-type"),
      body: (await r.json()) as Record<string, unknown>,
    };
  };

  test("anonymous: the public caches, with substituter, keys (client keys too) and the OIDC audience", async () => {
    const r = await get();
    assert.equal(r.status, 200);
    assert.match(r.type ?? "", /^application\/json/);
    assert.deepEqual(r.body, {
      caches: [
        {
          name: "pub",
          substituter: "https://cache.example.org/pub",
          publicKeys: [keys.pub, `pub-user-1:${Buffer.alloc(32, 7).toString("base64")}`],
          private: false,
        },
      ],
      oidcAudience: "my-aud",
    });
  });

  test("a token sees the private caches it may read, and only those", async () => {
    const r = await get("", readPriv);
    assert.equal(r.status, 200);
    const caches = r.body.caches as Array<{ name: string; private: boolean; publicKeys: string[] }>;
    assert.deepEqual(
      caches.map((c) => [c.name, c.private]),
      [
        ["priv", true],
        ["pub", false],
      ],
    );
    assert.deepEqual(caches[0]?.publicKeys, [keys.priv]);
  });

  test("?cache=NAME: one cache; a private one without a token is as absent as a missing one", async () => {
    const one = await get("?cache=pub");
    assert.deepEqual(
      (one.body.caches as Array<{ name: string }>).map((c) => c.name),
      ["pub"],
    );
    assert.equal((await get("?cache=priv", readPriv)).status, 200);
    const hidden = await get("?cache=priv");
    const missing = await get("?cache=nope");
    assert.equal(hidden.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(
      (hidden.body.error as string).replace("priv", "X"),
      (missing.body.error as string).replace("nope", "X"),
    );
    assert.equal((await get("?cache=other", readPriv)).status, 404);
  });

  test("an invalid token is refused, not taken for anonymous", async () => {
    const r = await get("", "nxc_not-a-real-token");
    assert.equal(r.status, 401);
    assert.match(r.body.error as string, /unknown token/);
  });

  test("clients learn a cache's keys from it (a private cache with its token), not from the Cachix API", async () => {
    log.length = 0;
    assert.deepEqual(await publishedSigningKeys(`${server.url}/priv`, { token: readPriv }), [keys.priv]);
    assert.deepEqual(await cacheConfigKeys(`${server.url}/pub/`), [
      keys.pub,
      `pub-user-1:${Buffer.alloc(32, 7).toString("base64")}`,
    ]);
    const urls = log.map((l) => (JSON.parse(l) as { url: string }).url);
    assert.deepEqual(urls, ["/api/cache-config", "/api/cache-config"]);
    // Without the token the private cache's keys are not to be had, from either API.
    assert.deepEqual(await publishedSigningKeys(`${server.url}/priv`), []);
  });
});

describe("key lookup on a server without /api/cache-config", () => {
  let cachixLike: Server;
  let base = "";
  const seen: string[] = [];

  before(async () => {
    // A Cachix-compatible server: its API says the keys; it has no cache-config.
    cachixLike = createServer((req, res) => {
      seen.push(req.url ?? "");
      if (req.url === "/api/v1/cache/team") {
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ name: "team", publicSigningKeys: ["team-1:AAAA"] }));
      }
      res.statusCode = 404;
      res.end("not found");
    });
    await new Promise<void>((r) => cachixLike.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(cachixLike.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((r) => cachixLike.close(() => r())));

  test("falls back to the Cachix API's publicSigningKeys", async () => {
    assert.equal(await cacheConfigKeys(`${base}/team`), undefined);
    assert.deepEqual(await publishedSigningKeys(`${base}/team`), ["team-1:AAAA"]);
    assert.deepEqual(seen.slice(-2), ["/api/cache-config?cache=team", "/api/v1/cache/team"]);
  });
});
