// Cachix tokens are often JWTs. Their payload is readable without the signing secret; showing the
// claims (never the token) tells a user which token they hold. Nothing here verifies a signature.

/** The claims of a JWT (`header.payload.signature`, base64url JSON), or null when it is not one. */
export function decodeJwtClaims(token: string): Record<string, unknown> | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return null;
  const json = (s: string): unknown => {
    try {
      return JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
    } catch {
      return undefined;
    }
  };
  const header = json(parts[0] as string);
  const payload = json(parts[1] as string);
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(header) || typeof header.alg !== "string" || !isObject(payload)) return null;
  return payload;
}

/** Claims made readable: numeric dates (`exp`, `iat`, `nbf`) also as ISO 8601. */
export function describeClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...claims };
  for (const k of ["exp", "iat", "nbf"]) {
    const v = claims[k];
    if (typeof v === "number") out[`${k}Iso`] = new Date(v * 1000).toISOString();
  }
  return out;
}
