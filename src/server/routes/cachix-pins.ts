// Pins over the Cachix API. `POST /cache/{name}/pin` is cachix's own (what `cachix pin` calls,
// body PinCreate: `{name, storePath, artifacts, keep}`). Cachix's public API defines no listing or
// removal (its dashboard does those), so `GET /cache/{name}/pin` and `DELETE /cache/{name}/pin/{pin}`
// are nixcache's, shaped alike. Differences from Cachix: artifacts are stored and listed but not
// served (no `/serve` endpoint); `keep: null` leaves what the pin keeps as it was (a new pin keeps
// every revision, as on Cachix); pinning needs write permission, listing read.
import type { FastifyInstance } from "fastify";
import { PinCreate, type PinKeep as WirePinKeep } from "../../cachix-api/pins.js";
import { parseStorePath, StorePathError } from "../../nix/store-path.js";
import type { ServerContext } from "../context.js";
import { ApiError, DbError } from "../errors.js";
import { PinName, validationMessage } from "../metadata/names.js";
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
    revisions: p.revisions.map((r) => ({
      storePath: r.storePath,
      artifacts: r.artifacts,
      createdOn: new Date(r.createdAt).toISOString(),
    })),
  };
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
      throw e;
    }
    return reply.code(200).send();
  });

  api.get("/cache/:name/pin", async (req: Req, reply) => {
    const cache = await calls.access(req, "read");
    return sendJson(reply, (await meta.listPins(cache.name)).map(pinInfo));
  });

  api.delete("/cache/:name/pin/:pin", async (req: Req, reply) => {
    const cache = await calls.access(req, "write");
    const pin = (req.params as { pin?: string }).pin ?? "";
    if (!(await meta.removePin(cache.name, pin)))
      throw new ApiError("notFound", `cache ${cache.name} has no pin named ${JSON.stringify(pin)}`);
    return reply.code(200).send();
  });
}
