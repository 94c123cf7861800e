// Rows as SQLite returns them, and their conversion to the metadata records.
import { claimsFromText, grantsFromText, tokenKind } from "../columns.js";
import type { CacheRow, MultipartUpload, Permission, ReceivedNar, TokenRow, TrustRuleRow } from "../types.js";

export interface RawCache {
  name: string;
  is_public: number;
  priority: number;
  public_key: string;
  created_at: number;
  owner: string | null;
  managed: number;
  compression: string;
  retention_ms: number | null;
  quota_bytes: number | null;
}

export interface RawNar {
  cache: string;
  url: string;
  blob: string;
  compression: string;
  nar_hash: string;
  nar_size: number;
  file_hash: string;
  file_size: number;
  visible: number;
}

export interface RawToken {
  hash: string;
  id: string;
  cache: string;
  perm: Permission;
  description: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  kind: string;
  account: string | null;
  grants: string | null;
}

export interface RawMultipart {
  nar_id: string;
  upload_id: string;
  cache: string;
  compression: MultipartUpload["compression"];
  state: MultipartUpload["state"];
  created_at: number;
}

/** Caches with their Cachix settings (a cache made before those existed has the defaults). */
export const CACHE_COLUMNS = `c.name, c.is_public, c.priority, c.public_key, c.created_at, c.retention_ms, c.quota_bytes, c.owner,
  c.managed, c.compression FROM caches c`;

export function cacheFromRow(r: RawCache): CacheRow {
  return {
    name: r.name,
    isPublic: r.is_public === 1,
    priority: r.priority,
    publicKey: r.public_key,
    createdAt: r.created_at,
    owner: r.owner,
    managed: r.managed === 1,
    compression: r.compression === "XZ" ? "XZ" : "ZSTD",
    retentionMs: r.retention_ms,
    quotaBytes: r.quota_bytes,
  };
}

export function narFromRow(r: RawNar): ReceivedNar {
  return {
    cache: r.cache,
    url: r.url,
    blob: r.blob,
    compression: r.compression,
    narHash: r.nar_hash,
    narSize: r.nar_size,
    fileHash: r.file_hash,
    fileSize: r.file_size,
    visible: r.visible === 1,
  };
}

export function tokenFromRow(r: RawToken): TokenRow {
  return {
    id: r.id,
    cache: r.cache,
    perm: r.perm,
    description: r.description,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    kind: tokenKind(r.kind),
    account: r.account ?? null,
    grants: tokenKind(r.kind) === "oidc" ? grantsFromText(r.grants) : null,
  };
}

export function multipartFromRow(r: RawMultipart): MultipartUpload {
  return {
    narId: r.nar_id,
    uploadId: r.upload_id,
    cache: r.cache,
    compression: r.compression,
    state: r.state,
    createdAt: r.created_at,
  };
}

export interface RawTrustRule {
  id: string;
  cache: string;
  issuer: string;
  subject: string;
  claims: string;
  perm: string;
  created_at: number;
}

export function trustRuleFromRow(r: RawTrustRule): TrustRuleRow {
  return {
    id: r.id,
    cache: r.cache,
    issuer: r.issuer,
    subject: r.subject,
    claims: claimsFromText(r.claims),
    // Anything but write is read: a damaged row never grants more.
    perm: r.perm === "write" ? "write" : "read",
    createdAt: r.created_at,
  };
}
/** A report's columns with its uploader's token description (`ci_reports r`, `tokens t`). */
export const REPORT_COLUMNS = `r.id, r.cache, r.kind, r.commit_id, r.branch, r.run_id, r.run_url, r.token_id,
  r.created_at, r.ok, r.counts, t.description AS token_description
  FROM ci_reports r LEFT JOIN tokens t ON t.id = r.token_id`;
