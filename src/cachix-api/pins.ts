// The Cachix API's pin wire types (Cachix.Types.PinCreate), apart from schemas.ts: only the
// server speaks them, so the Action's bundle (which bundles schemas.ts) does not carry them.
import { z } from "zod";

/**
 * Cachix's `Keep` (Cachix.Types.PinCreate) as aeson encodes it by default: a tagged object,
 * `{"tag": "Revisions", "contents": 3}`, `{"tag": "Days", "contents": 30}`, `{"tag": "Forever"}`.
 */
export const PinKeep = z.discriminatedUnion("tag", [
  z.object({ tag: z.literal("Revisions"), contents: z.number().int().min(1).max(100_000) }),
  z.object({ tag: z.literal("Days"), contents: z.number().int().min(1).max(100_000) }),
  z.object({ tag: z.literal("Forever") }),
]);
export type PinKeep = z.infer<typeof PinKeep>;

/** `POST /api/v1/cache/{name}/pin`, as cachix client's `cachix pin` sends it. */
export const PinCreate = z.object({
  name: z.string(),
  storePath: z.string(),
  // Bounded by the server's store (PIN_ARTIFACTS of PIN_ARTIFACT_LENGTH), which says what is wrong.
  artifacts: z.array(z.string()).default([]),
  keep: PinKeep.nullable().optional(),
});
export type PinCreate = z.infer<typeof PinCreate>;

/**
 * A pin as nixcache's `GET /api/v1/cache/{name}/pin` lists it (cachix's client has no such call):
 * `revisions` are its newest (a listing's 10; a page of them from `GET …/pin/{pin}`), of
 * `revisionCount`.
 */
export const PinInfo = z.object({
  name: z.string(),
  storePath: z.string().nullable(),
  keep: PinKeep.nullable(),
  createdOn: z.string(),
  revisionCount: z.number().int(),
  revisions: z.array(
    z.object({ storePath: z.string(), artifacts: z.array(z.string()), createdOn: z.string() }),
  ),
});
export const PinList = z.array(PinInfo);
