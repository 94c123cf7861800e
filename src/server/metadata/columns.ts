// What both metadata stores write and read the same way: the columns of each token kind, the JSON
// they keep as text (oidc token grants, trust rule claims), and trust rule ids. JSON is read back
// defensively: a row written by hand or damaged yields less, never a wider permission.
import { randomBytes } from "node:crypto";
import type { CacheGrants, GrantPermission, NewToken, Permission, TokenRow } from "./types.js";

function object(text: string | null): Record<string, unknown> | undefined {
  if (text === null) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** An oidc token's grants: only read and write survive (anything else is dropped). */
export function grantsFromText(text: string | null): CacheGrants {
  const out: Record<string, GrantPermission> = {};
  for (const [cache, perm] of Object.entries(object(text) ?? {}))
    if (perm === "read" || perm === "write") out[cache] = perm;
  return out;
}

/** A claim no token has: a rule whose stored claims cannot be read requires it, so matches nothing. */
const UNREADABLE = { "\u0000unreadable": "\u0000" };

/** A trust rule's claim patterns; unreadable ones make the rule match nothing (never more). */
export function claimsFromText(text: string): Record<string, string> {
  const o = object(text);
  if (!o || Object.values(o).some((p) => typeof p !== "string")) return { ...UNREADABLE };
  return o as Record<string, string>;
}

/** The trust rule ids an oidc token was minted under (a JSON array; anything else: none). */
export function rulesFromText(text: string | null): string[] {
  try {
    const v = JSON.parse(text ?? "[]") as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** The token kind of a stored row; unknown kinds are cache tokens, as rows from before kinds are. */
export function tokenKind(kind: string): TokenRow["kind"] {
  return kind === "personal" || kind === "oidc" ? kind : "cache";
}

/**
 * The columns a token kind fills: a cache token its cache and permission; a personal token its
 * account (admin, on no cache of its own); an oidc token its grants, with the highest as `perm`
 * (for listings only: authorization reads the grants).
 */
export function tokenColumns(t: NewToken): {
  cache: string;
  perm: Permission;
  account: string | null;
  grants: string | null;
  oidc: { identity: string | null; issuer: string | null; subject: string | null; rules: string | null };
} {
  const none = { identity: null, issuer: null, subject: null, rules: null };
  switch (t.kind) {
    case "cache":
      return { cache: t.cache, perm: t.perm, account: null, grants: null, oidc: none };
    case "personal":
      return { cache: "", perm: "admin", account: t.account, grants: null, oidc: none };
    case "oidc":
      return {
        cache: "",
        perm: Object.values(t.grants).includes("write") ? "write" : "read",
        account: null,
        grants: JSON.stringify(t.grants),
        oidc: t.oidc
          ? {
              identity: t.oidc.identity ?? null,
              issuer: t.oidc.issuer,
              subject: t.oidc.subject,
              rules: JSON.stringify(t.oidc.rules),
            }
          : none,
      };
  }
}

/** A fresh trust rule id: short enough to type in `cache trust remove`. */
export function newTrustRuleId(): string {
  return `rule_${randomBytes(4).toString("hex")}`;
}
