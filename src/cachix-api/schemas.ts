// The Cachix API (v1) wire types as cachix client 1.11 speaks them, checked with zod on both sides:
// nixcache's server answers with them and its client checks every answer, so the two cannot drift.
// Field names are the API's own (the `c` prefix of NarInfoCreate is Haskell's record style).
import { z } from "zod";
import { NIX32_ALPHABET } from "../nix/nix32.js";

/** Where cachix's own client points by default. */
export { DEFAULT_CACHIX_API } from "./constants.js";

/** The most hashes the bulk narinfo query takes at once (what cachix's client sends per call). */
export const NARINFO_BULK_MAX = 32768;

/** Permission names, weakest first: each includes the ones before. */
export const PERMISSION_NAMES = ["Read", "Write", "Admin"] as const;
export const Permission = z.enum(PERMISSION_NAMES);
export type Permission = z.infer<typeof Permission>;
export const CompressionMethod = z.enum(["XZ", "ZSTD"]);
export type CompressionMethod = z.infer<typeof CompressionMethod>;

export const BinaryCache = z.object({
  name: z.string(),
  uri: z.string(),
  isPublic: z.boolean(),
  publicSigningKeys: z.array(z.string()),
  githubUsername: z.string().nullable(),
  permission: Permission,
  preferredCompressionMethod: CompressionMethod,
});
export type BinaryCache = z.infer<typeof BinaryCache>;

const N32 = `[${NIX32_ALPHABET}]`;
const StoreHash = z.string().regex(new RegExp(`^${N32}{32}$`), "expected a 32-character store path hash");
const BaseName = z
  .string()
  .regex(new RegExp(`^${N32}{32}-[0-9A-Za-z+\\-._?=]{1,211}$`), "expected a store path base name");

export const NarInfoCreate = z.object({
  cStoreHash: StoreHash,
  cStoreSuffix: z
    .string()
    .regex(/^[0-9A-Za-z+\-._?=]{1,211}$/, "expected a store path name (no leading dash)"),
  cNarHash: z.string().regex(new RegExp(`^sha256:${N32}{52}$`), "expected sha256:<52 nix32 characters>"),
  cNarSize: z.number().int().positive(),
  cFileHash: z.string().regex(/^[0-9a-f]{64}$/, "expected the lowercase hex SHA-256 of the compressed file"),
  cFileSize: z.number().int().nonnegative(),
  cReferences: z.array(BaseName),
  cDeriver: z.union([z.literal("unknown-deriver"), BaseName]),
  cSig: z.string().nullable(),
});
export type NarInfoCreate = z.infer<typeof NarInfoCreate>;

export const CreateMultipartUploadResponse = z.object({ narId: z.uuid(), uploadId: z.string().min(1) });
export const SigningData = z.object({
  contentMD5: z.string().regex(/^[A-Za-z0-9+/]{22}==$/, "expected the base64 MD5 of the part"),
});
export const UploadPartResponse = z.object({ uploadUrl: z.string() });
export const CompletedPart = z.object({ partNumber: z.number().int().min(1).max(10000), eTag: z.string() });
export const CompletedMultipartUpload = z.object({
  parts: z.array(CompletedPart).min(1).nullable(),
  narInfoCreate: NarInfoCreate,
});
export type CompletedMultipartUpload = z.infer<typeof CompletedMultipartUpload>;

export const SigningKeyCreate = z.object({
  publicKey: z.string(),
  /** nixcache extension: the key name to publish (Cachix names keys itself and ignores this). */
  keyName: z.string().optional(),
});

export const User = z.object({
  id: z.number().int(),
  githubUsername: z.string().nullable(),
  email: z.string().nullable(),
  fullname: z.string().nullable(),
  slug: z.string().nullable(),
});
export type User = z.infer<typeof User>;

export const CacheCreate = z.object({
  isPublic: z.boolean(),
  generateSigningKey: z.boolean(),
  accountID: z.number().int().nullable().optional(),
});

export const CacheSettings = z.object({
  isPublic: z.boolean(),
  preferredCompressionMethod: CompressionMethod,
});
export const CacheSettingsUpdate = CacheSettings.partial();

/** `POST /token` (nixcache's minimal design; Cachix's own token API is not public). */
export const TokenCreate = z.object({
  cacheName: z.string(),
  permission: Permission,
  description: z.string().max(200).nullable().optional(),
  /** ISO 8601, or null for a token that never expires. */
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
});
export const TokenCreated = z.object({ token: z.string(), id: z.string() });
export const TokenInfo = z.object({
  id: z.string(),
  kind: z.enum(["personal", "cache"]),
  cacheName: z.string().nullable(),
  permission: Permission.nullable(),
  description: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export const TokenList = z.array(TokenInfo);

export const ErrorBody = z.object({ error: z.string() });

/** The answer of the bulk narinfo query: the hashes the cache does not have. */
export const HashList = z.array(z.string());
