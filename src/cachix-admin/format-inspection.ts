import type { TokenInspection } from "./inspect.js";

/** `token inspect`'s text: what the token is, the cache as the token sees it, then each step. */
export function formatInspection(r: TokenInspection): string {
  const out: string[] = [];
  const kinds = {
    personal: "personal token",
    cache: "cache token",
    anonymous: "no token (anonymous)",
    unknown: "a token the API accepted nowhere we asked (unknown, revoked, or for other caches)",
  };
  out.push(`API:    ${r.api}`);
  out.push(`token:  ${kinds[r.token.kind]}`);
  if (r.token.account)
    out.push(`account: ${r.token.account.slug ?? r.token.account.githubUsername} (id ${r.token.account.id})`);
  if (r.token.jwtClaims) out.push(`JWT claims: ${JSON.stringify(r.token.jwtClaims)}`);
  if (r.cache) {
    const c = r.cache;
    out.push(
      c.permission
        ? `cache ${c.name}: ${c.permission} (${c.isPublic ? "public" : "private"}), ${c.uri}`
        : `cache ${c.name}: ${c.error}`,
    );
  }
  out.push("");
  const width = Math.max(...r.steps.map((s) => s.step.length));
  for (const s of r.steps) {
    out.push(`${s.step.padEnd(width)}  ${s.allowed ? "yes" : "no "}  ${s.reason}`);
    if (s.remedy) out.push(`${" ".repeat(width + 7)}→ ${s.remedy}`);
  }
  return `${out.join("\n")}\n`;
}
