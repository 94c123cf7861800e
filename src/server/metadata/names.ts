// Names the server accepts for the things it stores, checked wherever one enters.
import { z } from "zod";

const RESERVED = new Set(["api", "healthz", "metrics", "static"]);

/** Cache names: lower-case, URL- and file-safe, and never one of the server's own top-level paths. */
export const CacheName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "cache names are 1-64 characters of a-z, 0-9, '.', '_', '-'")
  .refine((n) => !RESERVED.has(n), "this name is reserved by the server");

/** Account names of the Cachix-compatible API (GitHub-like slugs). */
export const AccountName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,38}$/, "account names are 1-39 characters of A-Z, a-z, 0-9, '_', '-'");

/** Pin names (Cachix's: a version, a branch, a channel); one URL path segment. */
export const PinName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/,
    "pin names are 1-128 characters of A-Z, a-z, 0-9, '.', '_', '+', '-', starting with a letter or digit",
  );

export function validationMessage(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ");
}
