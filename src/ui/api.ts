// Calls to the dashboard's API on the server that served the page, with the token the user gave
// (kept in this tab's sessionStorage only: gone when the tab closes, never in localStorage, a
// cookie or the URL). The token is only ever put in the Authorization header.
import type { Viewer } from "../ui-api/types.js";

const TOKEN_KEY = "nixcache.token";

/** Relative to the page (`/ui/`), so a server behind a path prefix works too. */
const API_BASE = new URL("../api/v1/ui/", window.location.href);

/** Who the last answer said the page talks as (cache views carry it), for the header. */
export let viewer: Viewer | undefined;

export function token(): string | null {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(t: string | null): void {
  try {
    if (t) window.sessionStorage.setItem(TOKEN_KEY, t);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {}
  viewer = undefined;
}

/** The server refused: 401 (a token is needed, or the one given does not work), 404, 400 … */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function get<T>(
  path: string,
  query: Record<string, string | number | undefined> = {},
): Promise<T> {
  const url = new URL(path, API_BASE);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  const t = token();
  let res: Response;
  try {
    res = await fetch(url, {
      headers: t ? { authorization: `Bearer ${t}` } : {},
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "the server did not answer: is it running?");
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const said = (body as { error?: unknown } | undefined)?.error;
    throw new ApiError(res.status, typeof said === "string" ? said : `the server answered ${res.status}`);
  }
  const v = (body as { viewer?: Viewer } | undefined)?.viewer;
  if (v) viewer = v;
  return body as T;
}
