// Tokens (stored as SHA-256 hashes only), accounts, and OIDC trust rules.
import { DbError } from "../../errors.js";
import { newTrustRuleId, tokenColumns } from "../columns.js";
import type { Db } from "../db/database.js";
import { violation } from "../db/database.js";
import { BYTE_ORDER, byEngine, raw, type Sql, sql } from "../db/sql.js";
import {
  accountFromRow,
  type RawAccount,
  type RawToken,
  type RawTrustRule,
  tokenFromRow,
  trustRuleFromRow,
} from "../rows.js";
import type { OidcMint } from "../store.js";
import type { AccountRow, NewToken, NewTrustRule, OidcOrigin, TokenRow, TrustRuleRow } from "../types.js";

function tokenValues(t: NewToken, now: number): Sql {
  const { cache, perm, account, grants, oidc } = tokenColumns(t);
  return sql`CAST(${t.hash} AS TEXT), CAST(${t.id} AS TEXT), CAST(${cache} AS TEXT), CAST(${perm} AS TEXT),
    CAST(${t.description ?? null} AS TEXT), CAST(${now} AS BIGINT), CAST(${t.expiresAt} AS BIGINT),
    CAST(${t.kind} AS TEXT), CAST(${account} AS TEXT), CAST(${grants} AS TEXT), CAST(${oidc.identity} AS TEXT),
    CAST(${oidc.issuer} AS TEXT), CAST(${oidc.subject} AS TEXT), CAST(${oidc.rules} AS TEXT)`;
}

const TOKEN_COLUMNS = raw(`hash, id, cache, perm, description, created_at, expires_at, kind, account, grants,
  oidc_identity, oidc_issuer, oidc_subject, oidc_rules`);

export async function insertToken(db: Db, t: NewToken): Promise<TokenRow> {
  const row = await db.tx((x) =>
    x.get<RawToken>(
      sql`INSERT INTO tokens (${TOKEN_COLUMNS}) SELECT ${tokenValues(t, Date.now())} WHERE TRUE RETURNING *`,
    ),
  );
  if (!row) throw new DbError("internal", "token was not stored");
  return tokenFromRow(row);
}

/** The window exchanges per subject are counted in. */
export const OIDC_EXCHANGE_WINDOW_MS = 60_000;

/**
 * One statement inserts the token unless its identity token was exchanged already (the unique
 * identity: on any replica) or its subject had `perMinute` exchanges in the last minute (counted
 * with the insert, under a lock on the subject on PostgreSQL, as multipart uploads are). Once it
 * is stored, expired oidc tokens whose expiry is before `purgeBefore` are deleted.
 */
export async function insertOidcToken(
  db: Db,
  t: NewToken & { kind: "oidc"; oidc: OidcOrigin & { identity: string } },
  o: { perMinute: number; purgeBefore: number },
): Promise<OidcMint> {
  const now = Date.now();
  const { issuer, subject, identity } = t.oidc;
  const purge = sql`DELETE FROM tokens WHERE kind = 'oidc' AND expires_at < ${o.purgeBefore}`;
  const insert = sql`INSERT INTO tokens (${TOKEN_COLUMNS}) SELECT ${tokenValues(t, now)}
    WHERE (SELECT COUNT(*) FROM tokens WHERE oidc_issuer = ${issuer} AND oidc_subject = ${subject}
             AND created_at > ${now - OIDC_EXCHANGE_WINDOW_MS}) < ${o.perMinute}
    ON CONFLICT DO NOTHING RETURNING *`;
  // The purge follows a stored token only: a refusal changes nothing.
  const row =
    db.engine === "postgres"
      ? await db.tx(async (x) => {
          await x.lock([`nixcache oidc ${issuer} ${subject}`]);
          const stored = await x.get<RawToken>(insert);
          if (stored) await x.run(purge);
          return stored;
        })
      : await db.get<RawToken>(insert);
  if (row) {
    if (db.engine === "sqlite") await db.run(purge);
    return { row: tokenFromRow(row) };
  }
  const earlier = await db.get<{ id: string; created_at: number }>(
    sql`SELECT id, created_at FROM tokens WHERE oidc_identity = ${identity}`,
  );
  if (earlier) return { refused: "replayed", tokenId: earlier.id, at: Number(earlier.created_at) };
  const oldest = await db.get<{ t: number | null }>(
    sql`SELECT MIN(created_at) AS t FROM tokens WHERE oidc_issuer = ${issuer} AND oidc_subject = ${subject}
          AND created_at > ${now - OIDC_EXCHANGE_WINDOW_MS}`,
  );
  const frees = Number(oldest?.t ?? now) + OIDC_EXCHANGE_WINDOW_MS;
  return { refused: "rateLimited", retryAfterMs: Math.max(1000, frees - Date.now()) };
}

/**
 * Revokes the working oidc tokens (not revoked, not expired) minted for a subject (of an issuer),
 * or under a trust rule, or both; returns them.
 */
export async function revokeOidcTokens(
  db: Db,
  f: { issuer?: string; subject?: string; rule?: string },
): Promise<TokenRow[]> {
  const now = Date.now();
  const [issuer, subject, rule] = [f.issuer ?? null, f.subject ?? null, f.rule ?? null];
  const underRule = byEngine({
    sqlite: sql`EXISTS (SELECT 1 FROM json_each(oidc_rules) WHERE value = ${rule})`,
    postgres: sql`COALESCE(oidc_rules, '[]')::jsonb @> jsonb_build_array(CAST(${rule} AS TEXT))`,
  });
  const rows = await db.all<RawToken>(
    sql`UPDATE tokens SET revoked_at = ${now}
        WHERE kind = 'oidc' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})
          AND (CAST(${issuer} AS TEXT) IS NULL OR oidc_issuer = ${issuer})
          AND (CAST(${subject} AS TEXT) IS NULL OR oidc_subject = ${subject})
          AND (CAST(${rule} AS TEXT) IS NULL OR ${underRule})
        RETURNING *`,
  );
  return rows.map(tokenFromRow).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
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
