// Unit tests of the authorization decision: who may do what on which cache.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { authorize, identity, permissionOn } from "../../../src/server/auth/authorize.js";
import { describeGrant, tokenFromHeader, tokenState } from "../../../src/server/auth/tokens.js";
import type { CacheRow, TokenRow } from "../../../src/server/metadata/types.js";

const cache = (over: Partial<CacheRow> = {}): CacheRow => ({
  name: "main",
  isPublic: true,
  priority: 41,
  publicKey: "main-1:AAAA",
  createdAt: 0,
  owner: null,
  managed: true,
  compression: "ZSTD",
  retentionMs: null,
  quotaBytes: null,
  ...over,
});

const token = (over: Partial<TokenRow> = {}): TokenRow => ({
  id: "tok_0123456789ab",
  cache: "main",
  perm: "write",
  createdAt: 0,
  expiresAt: null,
  revokedAt: null,
  description: null,
  kind: "cache",
  account: null,
  grants: null,
  oidc: null,
  ...over,
});

const anonymous = { kind: "anonymous" } as const;
const holding = (t: TokenRow) => ({ kind: "token", token: t }) as const;

describe("authorize", () => {
  test("anonymous callers read public caches and nothing else", () => {
    assert.deepEqual(authorize(cache(), anonymous, "read"), { ok: true });
    const priv = authorize(cache({ isPublic: false }), anonymous, "read");
    assert.deepEqual(priv, {
      ok: false,
      status: 401,
      message: "cache main is private or does not exist: a token with read access to it is required",
    });
    assert.deepEqual(authorize(cache(), anonymous, "write"), {
      ok: false,
      status: 401,
      message: "write access to cache main requires a token",
    });
  });

  test("a cache token holds its permission and those below it, on its own cache", () => {
    const t = token({ perm: "write" });
    assert.equal(authorize(cache(), holding(t), "read").ok, true);
    assert.equal(authorize(cache(), holding(t), "write").ok, true);
    const admin = authorize(cache(), holding(t), "admin");
    assert.equal(admin.ok, false);
    assert.match(!admin.ok ? admin.message : "", /has write permission on cache main; admin is required/);
    const other = authorize(cache({ name: "other", isPublic: false }), holding(t), "read");
    assert.match(!other.ok ? other.message : "", /cache other is private or does not exist/);
    const otherWrite = authorize(cache({ name: "other" }), holding(t), "write");
    assert.match(!otherWrite.ok ? otherWrite.message : "", /this token is not valid for cache other/);
    // Another cache's token still reads what anyone may read.
    assert.deepEqual(authorize(cache({ name: "other" }), holding(t), "read"), { ok: true });
  });

  test("a personal token is admin on the caches its account owns", () => {
    const t = token({ kind: "personal", cache: "", perm: "admin", account: "alice" });
    assert.equal(authorize(cache({ owner: "alice", isPublic: false }), holding(t), "admin").ok, true);
    const notOwned = authorize(cache({ owner: "bob", isPublic: false }), holding(t), "read");
    assert.match(!notOwned.ok ? notOwned.message : "", /cache .* is private or does not exist/);
    assert.deepEqual(authorize(cache({ owner: "bob" }), holding(t), "read"), { ok: true });
  });

  test("a token that does not work is refused even where none is needed", () => {
    const revoked = identity(token({ revokedAt: 1 }));
    assert.deepEqual(authorize(cache(), revoked, "read"), {
      ok: false,
      status: 401,
      message: "this token has been revoked",
    });
    const expired = identity(token({ expiresAt: 1000 }), 1000);
    assert.deepEqual(authorize(cache(), expired, "read"), {
      ok: false,
      status: 401,
      message: "this token has expired",
    });
    assert.deepEqual(identity(undefined), { kind: "invalid", message: "unknown token" });
    assert.equal(identity(token({ expiresAt: 1001 }), 1000).kind, "token");
  });

  test("an oidc token holds a permission per granted cache, and nothing elsewhere", () => {
    const t = token({ kind: "oidc", cache: "", perm: "write", grants: { main: "write", docs: "read" } });
    assert.equal(authorize(cache({ isPublic: false }), holding(t), "write").ok, true);
    const admin = authorize(cache(), holding(t), "admin");
    assert.match(!admin.ok ? admin.message : "", /has write permission on cache main; admin is required/);
    const docs = cache({ name: "docs", isPublic: false });
    assert.equal(authorize(docs, holding(t), "read").ok, true);
    const push = authorize(docs, holding(t), "write");
    assert.deepEqual(push, {
      ok: false,
      status: 401,
      message: "this token has read permission on cache docs; write is required",
    });
    const other = authorize(cache({ name: "other", isPublic: false }), holding(t), "read");
    assert.match(!other.ok ? other.message : "", /cache other is private or does not exist/);
    // Its empty `cache` field and inherited properties grant nothing.
    assert.equal(authorize(cache({ name: "constructor", isPublic: false }), holding(t), "read").ok, false);
    assert.equal(authorize(cache({ name: "", isPublic: false }), holding(t), "read").ok, false);
    assert.equal(permissionOn(cache({ isPublic: false }), holding(t)), "write");
    assert.equal(permissionOn(docs, holding(t)), "read");
    assert.equal(describeGrant(t), "read on docs, write on main");
    const expired = identity(token({ ...t, expiresAt: 1000 }), 1000);
    assert.deepEqual(authorize(cache(), expired, "read"), {
      ok: false,
      status: 401,
      message: "this token has expired",
    });
  });

  test("permissionOn is the highest permission held", () => {
    assert.equal(permissionOn(cache(), anonymous), "read");
    assert.equal(permissionOn(cache({ isPublic: false }), anonymous), undefined);
    assert.equal(permissionOn(cache(), holding(token({ perm: "admin" }))), "admin");
  });
});

describe("tokens", () => {
  test("the token is taken from Bearer, or from the password of Basic", () => {
    assert.equal(tokenFromHeader("Bearer nxc_abc"), "nxc_abc");
    assert.equal(tokenFromHeader("bearer  nxc_abc "), "nxc_abc");
    assert.equal(tokenFromHeader("Bearer "), undefined);
    const basic = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;
    assert.equal(tokenFromHeader(basic("anyone:nxc_pw")), "nxc_pw");
    assert.equal(tokenFromHeader(basic("nxc_alone")), "nxc_alone");
    assert.equal(tokenFromHeader(basic("user:")), undefined);
    assert.equal(tokenFromHeader("Digest x"), undefined);
    assert.equal(tokenFromHeader(undefined), undefined);
  });

  test("a token's state for listings", () => {
    assert.equal(tokenState(token(), 5), "active");
    assert.equal(tokenState(token({ expiresAt: 5 }), 5), "expired");
    assert.equal(tokenState(token({ revokedAt: 1, expiresAt: 5 }), 9), "revoked");
  });
});
