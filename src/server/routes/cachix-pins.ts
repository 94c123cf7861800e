// Pins over the Cachix API. `POST /cache/{name}/pin` is cachix's own (what `cachix pin` calls,
// body PinCreate: `{name, storePath, artifacts, keep}`). Cachix's public API defines no listing or
// removal (its dashboard does those), so `GET /cache/{name}/pin`, `GET /cache/{name}/pin/{pin}` and
// `DELETE /cache/{name}/pin/{pin}` are nixcache's, shaped alike. Differences from Cachix: artifacts
// are stored and listed but not served (no `/serve` endpoint), and only a pin's newest revision
// keeps them; `keep: null` leaves what the pin keeps as it was (a new pin keeps every revision, as
// on Cachix); pinning needs write permission, listing read. Listings come a page at a time (the
// next one named by a `Link: <…>; rel="next"` header), so no pin, however many revisions it has,
// makes an answer large.
import type { FastifyInstance } from "fastify";
import { PinCreate, type PinKeep as WirePinKeep } from "../../cachix-api/pins.js";
import { parseStorePath, StorePathError } from "../../nix/store-path.js";
import type { ServerContext } from "../context.js";
import { ApiError, DbError } from "../errors.js";
import { PinName, validationMessage } from "../metadata/names.js";
import { PIN_LISTED_REVISIONS } from "../metadata/pins.js";
import type { PinKeep, PinRow } from "../metadata/types.js";
import { type CachixRequests, type Req, readJson, sendJson } from "./cachix-request.js";

function fromWire(k: WirePinKeep | null | undefined): PinKeep | undefined {
  if (k == null) return undefined;
  if (k.tag === "Forever") return "all";
  return k.tag === "Revisions" ? { revisions: k.contents } : { days: k.contents };
}

function toWire(k: PinKeep): WirePinKeep | null {
  if (k === "all") return null;
  return "revisions" in k ? { tag: "Revisions", contents: k.revisions } : { tag: "Days", contents: k.days };
}

function pinInfo(p: PinRow) {
  return {
    name: p.name,
    storePath: p.revisions[0]?.storePath ?? null,
    keep: toWire(p.keep),
    createdOn: new Date(p.createdAt).toISOString(),
    revisionCount: p.revisionCount,
    revisions: p.revisions.map((r) => ({
      storePath: r.storePath,
      artifacts: r.artifacts,
      createdOn: new Date(r.createdAt).toISOString(),
    })),
  };
}

/** Pins per page of `GET /cache/{name}/pin`, and revisions per page of a pin's own. */
export const PIN_PAGE = 50;
export const PIN_PAGE_MAX = 100;

function pageLimit(q: string | undefined): number {
  if (q === undefined) return PIN_PAGE;
  const n = Number(q);
  if (!Number.isInteger(n) || n < 1)
    throw new ApiError("invalid", `limit must be a positive integer, not ${JSON.stringify(q.slice(0, 100))}`);
  return Math.min(n, PIN_PAGE_MAX);
}

/** The next page's address, relative to this one (never built from the request's Host). */
function linkNext(query: Record<string, string>): string {
  return `<?${new URLSearchParams(query)}>; rel="next"`;
}

export function registerCachixPinRoutes(
  api: FastifyInstance,
  ctx: ServerContext,
  calls: CachixRequests,
): void {
  const { meta } = ctx;

  api.post("/cache/:name/pin", async (req: Req, reply) => {
    const cache = await calls.access(req, "write");
    const body = await readJson(req.raw, PinCreate);
    const name = PinName.safeParse(body.name);
    if (!name.success) throw new ApiError("invalid", `name: ${validationMessage(name.error)}`);
    let path: { path: string; hash: string };
    try {
      path = parseStorePath(body.storePath);
    } catch (e) {
      if (e instanceof StorePathError) throw new ApiError("invalid", `storePath: ${e.message}`);
      throw e;
    }
    try {
      await meta.addPin({
        cache: cache.name,
        name: name.data,
        storePath: path.path,
        hash: path.hash,
        artifacts: body.artifacts,
        keep: fromWire(body.keep),
      });
    } catch (e) {
      if (e instanceof DbError && e.code === "notFound") throw new ApiError("notFound", e.message);
      if (e instanceof DbError && e.code === "invalid")
        throw new ApiError("invalid", `artifacts: ${e.message}`);
      throw e;
    }
    return reply.code(200).send();
  });

  // Pins by name, `limit` at a time from after `after`, each with its newest revisions.
  api.get("/cache/:name/pin", async (req: Req, reply) => {
    const cache = await calls.access(req, "read");
    const limit = pageLimit(req.query.limit);
    const pins = await meta.listPins(cache.name, {
      after: req.query.after,
      limit,
      revisions: PIN_LISTED_REVISIONS,
    });
    const last = pins.at(-1);
    if (pins.length === limit && last)
      reply.header("link", linkNext({ after: last.name, limit: String(limit) }));
    return sendJson(reply, pins.map(pinInfo));
  });

  // One pin with its revisions, newest first, `limit` at a time from before the store path `before`.
  api.get("/cache/:name/pin/:pin", async (req: Req, reply) => {
    const cache = await calls.access(req, "read");
    const name = (req.params as { pin?: string }).pin ?? "";
    const limit = pageLimit(req.query.limit);
    let before: string | undefined;
    if (req.query.before !== undefined)
      try {
        before = parseStorePath(req.query.before).hash;
      } catch (e) {
        if (e instanceof StorePathError) throw new ApiError("invalid", `before: ${e.message}`);
        throw e;
      }
    const pin = await meta.getPin(cache.name, name, { before, limit });
    if (!pin) throw new ApiError("notFound", `cache ${cache.name} has no pin named ${JSON.stringify(name)}`);
    const last = pin.revisions.at(-1);
    if (pin.revisions.length === limit && last)
      reply.header("link", linkNext({ before: last.storePath, limit: String(limit) }));
    return sendJson(reply, pinInfo(pin));
  });

  api.delete("/cache/:name/pin/:pin", async (req: Req, reply) => {
    const cache = await calls.access(req, "write");
    const pin = (req.params as { pin?: string }).pin ?? "";
    if (!(await meta.removePin(cache.name, pin)))
      throw new ApiError("notFound", `cache ${cache.name} has no pin named ${JSON.stringify(pin)}`);
    return reply.code(200).send();
  });
}
