// The names a new cache may take: CacheName (metadata/names.ts, what every lookup checks) and not
// a top-level path of the server's own routes. CacheName reserves api, healthz, metrics and static
// for lookups too; `ui` is refused here, at creation only, so that a cache created under it before
// it was reserved keeps working.
import { z } from "zod";
import { CacheName } from "./metadata/names.js";

/** Top-level path segments of the server's routes, with what each is, for the refusal. */
const ROUTE_SEGMENTS: Readonly<Record<string, string>> = {
  api: "the prefix of the server's APIs (/api/v1/…)",
  healthz: "the server's health check (/healthz)",
  metrics: "the server's Prometheus metrics (/metrics)",
  static: "reserved for the server's static files",
  ui: "the dashboard's path (/ui/); a cache created under it before it was reserved keeps working",
};

/** A name for a cache being created (`cache create`, the Cachix API's `POST /cache/NAME`). */
export const NewCacheName = z.string().superRefine((name, ctx) => {
  const what = Object.hasOwn(ROUTE_SEGMENTS, name) ? ROUTE_SEGMENTS[name] : undefined;
  if (what) {
    ctx.addIssue({ code: "custom", message: `"${name}" is reserved: it is ${what}; choose another name` });
    return;
  }
  const checked = CacheName.safeParse(name);
  if (!checked.success)
    for (const issue of checked.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
});
