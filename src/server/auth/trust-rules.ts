// Trust rules: which verified OIDC identities (a CI job's token) get which permission on which
// cache. Pure: the rules come from the caller (the metadata store, later), the claims from a
// token OidcVerifier has already checked.
//
// Patterns (for `subject` and each `claims` value) are anchored and case-sensitive:
//   `*`   any run of characters, possibly empty, except `:`
//   `**`  any run of characters, possibly empty, `:` included (three or more stars mean the same)
//   `?`   exactly one character other than `:`
//   anything else matches itself (there are no escapes and no character classes).
// `:` separates the fields of GitHub's `sub` (`repo:ORG/REPO:ref:refs/heads/main`), so `*` stays
// within one field: `repo:ORG/*:ref:refs/heads/main` is every repository's main branch, and never
// `repo:ORG/REPO:pull_request`; a rule has to say `**` to span fields. `/` is an ordinary
// character: `refs/heads/*` is every branch, `release/1.0` included.
//
// GitHub's `sub` does not say which event started a job: `workflow_run` and `workflow_dispatch`
// jobs on main carry main's subject too. A write rule meant for pushes only also says
// `claims: { event_name: "push" }`.
import { z } from "zod";

export type TrustPermission = "read" | "write";

export interface TrustRule {
  cache: string;
  /** The token's `iss`, compared exactly. */
  issuer: string;
  /** Pattern for the token's `sub`. */
  subject: string;
  /** Patterns for other claims; a claim that is absent, or not a string, number or boolean, fails. */
  claims?: Record<string, string>;
  perm: TrustPermission;
}

export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";

/** GitHub claims that name the repository's owner (or the repository itself), for `pinsOwner`. */
const GITHUB_OWNER_CLAIMS = ["repository_owner", "repository_owner_id", "repository", "repository_id"];

type Token = { kind: "char"; c: string } | { kind: "one" } | { kind: "field" } | { kind: "any" };

function tokenize(pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "?") out.push({ kind: "one" });
    else if (c === "*") {
      let n = 1;
      while (pattern[i + 1] === "*") {
        n++;
        i++;
      }
      out.push({ kind: n === 1 ? "field" : "any" });
    } else out.push({ kind: "char", c });
  }
  return out;
}

/**
 * Whether `value` matches `pattern` (syntax above). Dynamic programming over pattern and value,
 * O(pattern × value): no backtracking, so no pattern makes it slow.
 */
export function globMatch(pattern: string, value: string): boolean {
  const tokens = tokenize(pattern);
  // reach[j]: the tokens so far can match value[0..j).
  let reach = new Array<boolean>(value.length + 1).fill(false);
  reach[0] = true;
  for (const t of tokens) {
    const next = new Array<boolean>(value.length + 1).fill(false);
    for (let j = 0; j <= value.length; j++) {
      if (t.kind === "field" || t.kind === "any") {
        // A star extends what the previous position reached, over characters it may cover.
        next[j] = reach[j] || (j > 0 && next[j - 1] === true && (t.kind === "any" || value[j - 1] !== ":"));
      } else if (j > 0 && reach[j - 1]) {
        const ch = value[j - 1];
        next[j] = t.kind === "one" ? ch !== ":" : ch === t.c;
      }
    }
    reach = next;
  }
  return reach[value.length] === true;
}

function claimText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

/** Whether one rule admits the claims (its issuer, subject and every claim pattern). */
export function ruleMatches(rule: TrustRule, claims: Readonly<Record<string, unknown>>): boolean {
  if (claims.iss !== rule.issuer) return false;
  const sub = claimText(claims.sub);
  if (sub === undefined || !globMatch(rule.subject, sub)) return false;
  for (const [name, pattern] of Object.entries(rule.claims ?? {})) {
    const v = claimText(claims[name]);
    if (v === undefined || !globMatch(pattern, v)) return false;
  }
  return true;
}

/** The permission per cache that the matching rules grant; the highest wins (write ⊇ read). */
export function matchRules(
  rules: readonly TrustRule[],
  claims: Readonly<Record<string, unknown>>,
): Map<string, TrustPermission> {
  const out = new Map<string, TrustPermission>();
  for (const r of rules) {
    if (!ruleMatches(r, claims)) continue;
    if (r.perm === "write" || !out.has(r.cache)) out.set(r.cache, r.perm);
  }
  return out;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Why `s` cannot be an issuer, or undefined: an issuer is an https URL without query or fragment
 * (plain http only on the loopback interface, for tests and local issuers).
 */
export function issuerUrlProblem(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `issuer ${JSON.stringify(s)} is not a URL`;
  }
  if (u.search || u.hash || u.username || u.password)
    return `issuer ${JSON.stringify(s)} must have no query, fragment or credentials`;
  if (u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.has(u.hostname))) return undefined;
  return `issuer ${JSON.stringify(s)} must be an https URL`;
}

const hasWildcard = (p: string) => /[*?]/.test(p);

/**
 * Whether a rule for GitHub's issuer names one owner: GitHub signs tokens for every repository on
 * GitHub, so a rule that does not pin the owner trusts strangers. The owner is pinned by a
 * subject that starts `repo:OWNER/` with no wildcard in OWNER, or by a wildcard-free owner or
 * repository claim (for organisations that customised the `sub` template).
 */
export function pinsOwner(rule: Pick<TrustRule, "subject" | "claims">): boolean {
  if (/^repo:[^*?:/]+\//.test(rule.subject)) return true;
  return GITHUB_OWNER_CLAIMS.some((c) => {
    const p = rule.claims?.[c];
    return p !== undefined && p !== "" && !hasWildcard(p);
  });
}

/**
 * Control characters (newlines, tabs, escapes, C1) and the Unicode line separators: no claim of a
 * real token holds one, and in a pattern they would only forge lines of `cache trust list`, logs or
 * the dashboard.
 */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const Pattern = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => !CONTROL.test(s), "a pattern must not contain a newline or another control character");

/** A trust rule as it arrives from an administrator (CLI or API), checked. */
export const TrustRuleSchema = z
  .object({
    cache: z.string().min(1).max(64),
    issuer: z.string().superRefine((s, ctx) => {
      const problem = issuerUrlProblem(s);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
    subject: Pattern,
    // Names checked here rather than as the record's key schema: zod reports a bad key only as
    // "Invalid key in record".
    claims: z
      .record(z.string(), Pattern)
      .superRefine((claims, ctx) => {
        for (const name of Object.keys(claims)) {
          const problem =
            name.length < 1 || name.length > 128
              ? "claim names are 1 to 128 characters"
              : CONTROL.test(name)
                ? "a claim name must not contain a newline or another control character"
                : undefined;
          if (problem) ctx.addIssue({ code: "custom", message: problem, path: [name] });
        }
      })
      .optional(),
    perm: z.enum(["read", "write"]),
  })
  .strict()
  .refine((r) => !/^[*?]/.test(r.subject), {
    message: "the subject pattern must start with literal text (e.g. repo:ORG/REPO:…), not a wildcard",
    path: ["subject"],
  })
  .refine((r) => r.issuer !== GITHUB_ACTIONS_ISSUER || pinsOwner(r), {
    message:
      "a rule for GitHub Actions must pin the repository owner: a subject starting repo:OWNER/ (no wildcard in OWNER), or a repository_owner claim",
    path: ["subject"],
  });
