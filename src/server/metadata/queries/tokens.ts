// Tokens (stored as SHA-256 hashes only), accounts, and OIDC trust rules.
import { DbError } from "../../errors.js";
import { newTrustRuleId, tokenColumns } from "../columns.js";
import type { Db } from "../db/database.js";
import { violation } from "../db/database.js";
import { BYTE_ORDER, byEngine, raw, sql } from "../db/sql.js";
import {
  accountFromRow,
  type RawAccount,
  type RawToken,
  type RawTrustRule,
  tokenFromRow,
  trustRuleFromRow,
} from "../rows.js";
import type { AccountRow, NewToken, NewTrustRule, TokenRow, TrustRuleRow } from "../types.js";

export async function insertToken(db: Db, t: NewToken): Promise<TokenRow> {
  const { cache, perm, account, grants } = tokenColumns(t);
  const row = await db.tx((x) =>
    x.get<RawToken>(
      sql`INSERT INTO tokens (hash, id, cache, perm, description, created_at, expires_at, kind, account, grants)
          VALUES (${t.hash}, ${t.id}, ${cache}, ${perm}, ${t.description ?? null}, ${Date.now()}, ${t.expiresAt},
            ${t.kind}, ${account}, ${grants})
          RETURNING *`,
    ),
  );
  if (!row) throw new DbError("internal", "token was not stored");
  return tokenFromRow(row);
}

export async function tokenByHash(db: Db, hash: string): Promise<TokenRow | undefined> {
  const r = await db.get<RawToken>(sql`SELECT * FROM tokens WHERE hash = ${hash}`);
  return r && tokenFromRow(r);
}

export async function tokenById(db: Db, id: string): Promise<TokenRow | undefined> {
  const r = await db.get<RawToken>(sql`SELECT * FROM tokens WHERE id = ${id}`);
  return r && tokenFromRow(r);
}

export async function revokeToken(db: Db, id: string): Promise<boolean> {
  const n = await db.run(
    sql`UPDATE tokens SET revoked_at = ${Date.now()} WHERE id = ${id} AND revoked_at IS NULL`,
  );
  return n > 0;
}

export async function listTokens(db: Db): Promise<TokenRow[]> {
  return (await db.all<RawToken>(sql`SELECT * FROM tokens ORDER BY created_at, id${BYTE_ORDER}`)).map(
    tokenFromRow,
  );
}

/** The personal tokens of an account and the cache tokens of the caches it owns. */
export async function tokensOfAccount(db: Db, account: string): Promise<TokenRow[]> {
  const rows = await db.all<RawToken>(
    sql`SELECT * FROM tokens WHERE (kind = 'personal' AND account = ${account})
          OR (kind = 'cache' AND cache IN (SELECT name FROM caches WHERE owner = ${account}))
        ORDER BY created_at, id${BYTE_ORDER}`,
  );
  return rows.map(tokenFromRow);
}

export async function account(db: Db, slug: string): Promise<AccountRow | undefined> {
  const r = await db.get<RawAccount>(sql`SELECT * FROM accounts WHERE slug = ${slug}`);
  return r && accountFromRow(r);
}

/** Insert-if-absent then read: two processes creating the same account get the same row. */
export async function ensureAccount(
  db: Db,
  slug: string,
  opts: { email?: string; fullname?: string } = {},
): Promise<AccountRow> {
  const existing = await account(db, slug);
  if (existing) return existing;
  await db.run(
    sql`INSERT INTO accounts (slug, email, fullname, created_at)
        VALUES (${slug}, ${opts.email ?? null}, ${opts.fullname ?? null}, ${Date.now()})
        ON CONFLICT (slug) DO NOTHING`,
  );
  const row = await account(db, slug);
  if (!row) throw new DbError("internal", "account was not stored");
  return row;
}

export async function addTrustRule(db: Db, rule: NewTrustRule): Promise<TrustRuleRow> {
  const row: TrustRuleRow = {
    id: newTrustRuleId(),
    cache: rule.cache,
    issuer: rule.issuer,
    subject: rule.subject,
    claims: { ...rule.claims },
    perm: rule.perm,
    createdAt: Date.now(),
  };
  try {
    await db.run(
      sql`INSERT INTO trust_rules (id, cache, issuer, subject, claims, perm, created_at)
          VALUES (${row.id}, ${row.cache}, ${row.issuer}, ${row.subject}, ${JSON.stringify(row.claims)},
            ${row.perm}, ${row.createdAt})`,
    );
  } catch (e) {
    if (violation(e) === "foreignKey")
      throw new DbError("notFound", `no cache named ${JSON.stringify(rule.cache)}`);
    throw e;
  }
  return row;
}

/** Insertion order: several rules may be added in one millisecond. */
const RULE_ORDER = byEngine({ sqlite: raw("rowid"), postgres: raw("seq") });

export async function trustRules(
  db: Db,
  filter: { cache?: string; issuer?: string } = {},
): Promise<TrustRuleRow[]> {
  const cache = filter.cache ?? null;
  const issuer = filter.issuer ?? null;
  const rows = await db.all<RawTrustRule>(
    sql`SELECT * FROM trust_rules WHERE (CAST(${cache} AS TEXT) IS NULL OR cache = ${cache})
          AND (CAST(${issuer} AS TEXT) IS NULL OR issuer = ${issuer}) ORDER BY ${RULE_ORDER}`,
  );
  return rows.map(trustRuleFromRow);
}

export async function removeTrustRule(db: Db, cache: string, id: string): Promise<boolean> {
  return (await db.run(sql`DELETE FROM trust_rules WHERE cache = ${cache} AND id = ${id}`)) > 0;
}
