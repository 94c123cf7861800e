// The report upload's schema (ReportUpload in types.ts), checked by the server on receipt. Every
// string is bounded: they end up in the database and on a page.
import { z } from "zod";
import {
  CELL_STATUSES,
  REPORT_KINDS,
  REPORT_MAX_LISTED,
  REPORT_MAX_TARGETS,
  type ReportUpload as ReportUploadType,
} from "./types.js";

/** A store path: `<store dir>/<32 nix32 chars>-<name>`, no `..`, as Nix names them. */
const StorePathText = z
  .string()
  .min(1)
  .max(400)
  .regex(
    /^\/(?:[^/\0]+\/)+[0-9a-df-np-sv-z]{32}-[0-9A-Za-z+\-._?=]{1,211}$/,
    "expected a store path <store dir>/<hash>-<name>",
  )
  .refine((s) => !s.split("/").includes(".."), "a store path has no '..'");

const HttpUrl = z
  .string()
  .max(1000)
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === "https:" || u.protocol === "http:";
    } catch {
      return false;
    }
  }, "expected an http(s) URL");

/** Printable text on one line: a run id is shown, and named by a header. */
export const RunId = z
  .string()
  .regex(/^[\x21-\x7e][\x20-\x7e]{0,199}$/, "expected 1-200 printable ASCII characters");

export const ReportTargetUpload = z.object({
  attr: z.string().min(1).max(1000),
  system: z.string().max(100),
  status: z.enum(CELL_STATUSES),
  outPath: StorePathText.nullable(),
  missing: z.array(StorePathText).max(REPORT_MAX_LISTED),
  missingCount: z.number().int().nonnegative(),
  unsigned: z.array(StorePathText).max(REPORT_MAX_LISTED),
  unsignedCount: z.number().int().nonnegative(),
  detail: z.string().max(2000).optional(),
  drvPath: StorePathText.refine(
    (s) => s.endsWith(".drv"),
    "expected a derivation path <store dir>/<hash>-<name>.drv",
  ).optional(),
});

export const ReportUpload = z.object({
  version: z.literal(1),
  kind: z.enum(REPORT_KINDS),
  commit: z
    .string()
    .regex(/^[0-9a-f]{4,64}$/, "expected a lower-case hex commit id")
    .nullable(),
  branch: z.string().min(1).max(255).nullable(),
  run: z.object({ id: RunId, url: HttpUrl.nullable() }).nullable(),
  ok: z.boolean(),
  targets: z.array(ReportTargetUpload).max(REPORT_MAX_TARGETS),
}) satisfies z.ZodType<ReportUploadType>;
