// The dashboard's page at `/ui/`: the static files `npm run build` writes to dist/ui/ (the page's
// TypeScript bundled by esbuild, src/ui/), read once at start and served from memory. Everything
// comes from this server: the policy allows no inline script or style, nothing from elsewhere,
// and no framing.
import { readFileSync } from "node:fs";
import type { FastifyInstance, FastifyReply } from "fastify";

/** Where the build puts the page: the package's dist/ui, from src/server/routes or dist/server/routes alike. */
export const UI_DIST = new URL("../../../dist/ui/", import.meta.url);

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
  "icon.svg": "image/svg+xml",
};

function load(dir: URL): Map<string, Buffer> | undefined {
  try {
    return new Map(Object.keys(FILES).map((f) => [f, readFileSync(new URL(f, dir))]));
  } catch {
    return undefined;
  }
}

export function registerUiAssets(app: FastifyInstance, dir: URL = UI_DIST): void {
  const files = load(dir);
  const send = (reply: FastifyReply, name: string) => {
    reply
      .header("content-security-policy", UI_CSP)
      .header("x-content-type-options", "nosniff")
      .header("x-frame-options", "DENY")
      .header("referrer-policy", "no-referrer")
      .header("cross-origin-opener-policy", "same-origin")
      .header("cache-control", "no-cache");
    const body = files?.get(name);
    if (!body)
      return reply
        .code(503)
        .type("text/plain; charset=utf-8")
        .send("the dashboard's files are not built: run `npm run build`\n");
    return reply.type(FILES[name] as string).send(body);
  };
  app.get("/ui", (_req, reply) => reply.redirect("/ui/", 301));
  app.get("/ui/", (_req, reply) => send(reply, "index.html"));
  for (const name of Object.keys(FILES))
    if (name !== "index.html") app.get(`/ui/${name}`, (_req, reply) => send(reply, name));
}
