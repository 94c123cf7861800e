// Rows as both databases return them, and their conversion to the metadata records: SQLite's
// booleans are 0/1 and PostgreSQL's true/false; BIGINTs are numbers in both (the pool's type
// parser), but aggregates over them (SUM) are NUMERIC on PostgreSQL, so counts go through Number.
import { claimsFromText, grantsFromText, rulesFromText, tokenKind } from "./columns.js";
import type {
  AccountRow,
  CacheRow,
  MultipartUpload,
  Permission,
  ReceivedNar,
  SideFile,
  TokenRow,
  TrustRuleRow,
} from "./types.js";

/** A boolean column of either engine. */
export function bool(v: boolean | number | null | undefined): boolean {
  return v === true || v === 1;
}

export interface RawCache {
  name: string;
  is_public: boolean | number;
  priority: number;
  public_key: string;
  created_at: number;
  owner: string | null;
  managed: boolean | number;
  compression: string;
  retention_ms: number | null;
  quota_bytes: number | null;
}

export const CACHE_COLUMNS =
  "name, is_public, priority, public_key, created_at, owner, managed, compression, retention_ms, quota_bytes";

export function cacheFromRow(r: RawCache): CacheRow {
  return {
    name: r.name,
    isPublic: bool(r.is_public),
    priority: r.priority,
    publicKey: r.public_key,
    createdAt: r.created_at,
    owner: r.owner,
    managed: bool(r.managed),
    compression: r.compression === "XZ" ? "XZ" : "ZSTD",
    retentionMs: r.retention_ms,
    quotaBytes: r.quota_bytes,
  };
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
  visible: boolean | number;
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
    visible: bool(r.visible),
  };
}

export interface RawToken {
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
  oidc_issuer?: string | null;
  oidc_subject?: string | null;
  oidc_rules?: string | null;
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
    account: r.account,
    grants: tokenKind(r.kind) === "oidc" ? grantsFromText(r.grants) : null,
    oidc:
      tokenKind(r.kind) === "oidc" && r.oidc_issuer && r.oidc_subject
        ? { issuer: r.oidc_issuer, subject: r.oidc_subject, rules: rulesFromText(r.oidc_rules ?? null) }
        : null,
  };
}

export interface RawAccount {
  id: number;
  slug: string;
  email: string | null;
  fullname: string | null;
  created_at: number;
}

export function accountFromRow(r: RawAccount): AccountRow {
  return { id: r.id, slug: r.slug, email: r.email, fullname: r.fullname, createdAt: r.created_at };
}

export interface RawMultipart {
  nar_id: string;
  upload_id: string;
  cache: string;
  compression: MultipartUpload["compression"];
  state: MultipartUpload["state"];
  created_at: number;
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

export interface RawFile {
  body: Buffer;
  blob: string | null;
  content_type: string;
  content_encoding: string | null;
}

export function fileFromRow(r: RawFile): SideFile {
  return { body: r.body, blob: r.blob, contentType: r.content_type, contentEncoding: r.content_encoding };
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
