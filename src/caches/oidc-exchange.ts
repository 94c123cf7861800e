// The client of a nixcache server's OIDC token exchange: a CI job's identity token (a JWT from
// its provider) goes to `POST <server>/api/v1/oidc/token` as a Bearer token; the answer is a
// short-lived cache token and the permission it holds per cache. Used by the Action, and by the
// CLI wherever it runs in CI.
import { z } from "zod";
import { DEFAULT_CACHIX_API } from "../cachix-api/constants.js";
import { createPool } from "../http/pool.js";
import { codeForStatus, request } from "../http/request.js";
import type { RetryPolicy } from "../http/retry.js";
import { NixcacheError } from "../util/errors.js";
import { cachixApiUrl } from "./credentials.js";

export const OIDC_EXCHANGE_PATH = "/api/v1/oidc/token";

/** What the exchange answers. */
export interface OidcGrant {
  /** The cache token; a secret (mask it). */
  token: string;
  /** When it stops working, ISO 8601. */
  expiresAt: string;
  caches: Record<string, "read" | "write">;
}

const Grant = z.object({
  token: z.string().min(1),
  expiresAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "an ISO 8601 time"),
  caches: z.record(z.string(), z.enum(["read", "write"])),
});

/**
 * The exchange URL of the server behind a cache URL: `http(s)://HOST[/PREFIX]/<cache>` →
 * `http(s)://HOST[/PREFIX]/api/v1/oidc/token`; `cachix://NAME` → the Cachix-compatible API's
 * `…/api/v1/oidc/token` when that API is a nixcache server (`cachixApi`, else
 * $NIXCACHE_CACHIX_API). Cachix itself has no such exchange: a usage error.
 */
export function oidcExchangeUrl(
  cacheUrl: string,
  cachixApi?: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  let u: URL;
  try {
    u = new URL(cacheUrl);
  } catch {
    throw new NixcacheError("usage", `invalid cache URL ${JSON.stringify(cacheUrl)}`);
  }
  if (u.protocol === "cachix:") {
    const api = cachixApiUrl(cachixApi, env).replace(/\/+$/, "");
    if (api === DEFAULT_CACHIX_API)
      throw new NixcacheError(
        "usage",
        `${cacheUrl}: Cachix has no OIDC token exchange; OIDC needs a nixcache server (http(s)://HOST/<cache>, or --cachix-api pointing at one)`,
      );
    return `${plain(new URL(api))}/oidc/token`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new NixcacheError(
      "usage",
      `${u.protocol}// caches have no OIDC token exchange: use a nixcache server`,
    );
  const segments = u.pathname.split("/").filter(Boolean);
  if (segments.length === 0)
    throw new NixcacheError("usage", `${plain(u)}: name the cache (http(s)://HOST/<cache>)`);
  u.pathname = segments.slice(0, -1).join("/");
  return `${plain(u)}${OIDC_EXCHANGE_PATH}`;
}

/** The URL without credentials, query, fragment or trailing slash. */
function plain(u: URL): string {
  const c = new URL(u.href);
  c.username = "";
  c.password = "";
  c.search = "";
  c.hash = "";
  return c.href.replace(/\/+$/, "");
}

/** The name a cache URL gives its cache (for matching the grant's `caches`). */
export function cacheNameOf(cacheUrl: string): string | undefined {
  try {
    const u = new URL(cacheUrl);
    if (u.protocol === "cachix:") return u.hostname || u.pathname.replace(/^\/+/, "") || undefined;
    return u.pathname.split("/").filter(Boolean).at(-1);
  } catch {
    return undefined;
  }
}

/** What a server said in an error body: `{"error": …}` (the Cachix-API style) or plain text. */
function serverReason(body: Buffer): string {
  const text = body.toString("utf8").trim();
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j.error === "string") return j.error.slice(0, 500);
  } catch {}
  return text.slice(0, 500) || "no reason given";
}

/**
 * Exchanges `idToken` at `url` (oidcExchangeUrl) for a cache token. A refusal (401) is an
 * `unauthorized` error carrying the server's reason; 404 means the server has no exchange.
 */
export async function exchangeIdToken(
  url: string,
  idToken: string,
  opts: { retry?: RetryPolicy; signal?: AbortSignal } = {},
): Promise<OidcGrant> {
  const u = new URL(url);
  const what = `POST ${plain(u)}`;
  const pool = createPool(u.origin, { connections: 1 });
  try {
    const res = await request(
      pool,
      {
        method: "POST",
        path: `${u.pathname}${u.search}`,
        what,
        headers: { authorization: `Bearer ${idToken}`, accept: "application/json" },
        signal: opts.signal,
        serverMessage: serverReason,
        refused: (status, body) => {
          const reason = serverReason(body);
          if (status === 401 || status === 403)
            return new NixcacheError(
              "unauthorized",
              `${what}: the server refused the identity token: ${reason}`,
            );
          if (status === 404)
            return new NixcacheError(
              "notFound",
              `${what}: 404: this server has no OIDC token exchange (not a nixcache server, or one without OIDC issuers configured)`,
            );
          return new NixcacheError(codeForStatus(status), `${what}: HTTP ${status}: ${reason}`);
        },
        failed: (message) => new NixcacheError("unavailable", message),
      },
      opts.retry,
    );
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString("utf8"));
    } catch {
      throw new NixcacheError("invalid", `${what}: the answer is not JSON`);
    }
    const grant = Grant.safeParse(json);
    if (!grant.success)
      throw new NixcacheError(
        "invalid",
        `${what}: unexpected answer: ${grant.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
      );
    return grant.data;
  } finally {
    await pool.close();
  }
}
