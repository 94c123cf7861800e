// The server's addresses: `--listen` and `--public-url` as given, and the base URL of the socket it
// listens on. Pure.
import { NixcacheError } from "../util/errors.js";

/** `--public-url`: an http(s) URL without query or fragment; the trailing slash is dropped. */
export function parsePublicUrl(s: string): string {
  let u: URL | undefined;
  try {
    u = new URL(s);
  } catch {}
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:") || u.search || u.hash || u.username)
    throw new NixcacheError(
      "usage",
      `--public-url ${JSON.stringify(s)} is not an http(s) URL without query (e.g. https://cache.example.org)`,
    );
  return u.href.replace(/\/+$/, "");
}

/** The host of a socket's own address, for a URL: any address is reached on loopback. */
export function listenedHost(a: { address: string } | null): string {
  if (!a || a.address === "0.0.0.0") return "127.0.0.1";
  if (a.address === "::") return "::1";
  return a.address;
}

export function formatBase(host: string, port: number): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** Parses `HOST:PORT` (or `[v6]:PORT`, or `:PORT` for all interfaces). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new NixcacheError("usage", `--listen ${JSON.stringify(s)} is not HOST:PORT (e.g. 127.0.0.1:7080)`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}
