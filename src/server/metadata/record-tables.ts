// Where each kind of record (records.ts) lives in the schema, which both engines share: table, key
// and columns. The SQLite and PostgreSQL stores export and import records from this one
// description; what does not fit a plain table (the references a narinfo waits for, and those the
// GC follows) each store adds itself.
import { closureReferences, deriverInText, referencesInText } from "./closure.js";
import type { NarInfoRecord, RecordKind, RecordPage, RecordTypes, SideFileRecord } from "./records.js";

export type ColumnType = "text" | "int" | "bool" | "bytes";

export interface Column {
  column: string;
  field: string;
  type: ColumnType;
}

export interface TableSpec {
  /** The same on both engines (SQLite's migration 10, PostgreSQL's 8). */
  table: string;
  /** Columns that order and identify rows (the export cursor). */
  key: readonly string[];
  columns: readonly Column[];
}

const c = (column: string, field: string, type: ColumnType = "text"): Column => ({ column, field, type });

export const TABLES: Record<RecordKind, TableSpec> = {
  caches: {
    table: "caches",
    key: ["name"],
    columns: [
      c("name", "name"),
      c("is_public", "isPublic", "bool"),
      c("priority", "priority", "int"),
      c("secret_key", "secretKey"),
      c("public_key", "publicKey"),
      c("created_at", "createdAt", "int"),
      c("retention_ms", "retentionMs", "int"),
      c("quota_bytes", "quotaBytes", "int"),
      c("owner", "owner"),
      c("managed", "managed", "bool"),
      c("compression", "compression"),
    ],
  },
  accounts: {
    table: "accounts",
    key: ["slug"],
    columns: [
      c("slug", "slug"),
      c("email", "email"),
      c("fullname", "fullname"),
      c("created_at", "createdAt", "int"),
    ],
  },
  clientKeys: {
    table: "client_keys",
    key: ["cache", "public_key"],
    columns: [
      c("cache", "cache"),
      c("name", "name"),
      c("public_key", "publicKey"),
      c("created_at", "createdAt", "int"),
    ],
  },
  tokens: {
    table: "tokens",
    key: ["hash"],
    columns: [
      c("hash", "hash"),
      c("id", "id"),
      c("cache", "cache"),
      c("perm", "perm"),
      c("description", "description"),
      c("created_at", "createdAt", "int"),
      c("expires_at", "expiresAt", "int"),
      c("revoked_at", "revokedAt", "int"),
      c("kind", "kind"),
      c("account", "account"),
      c("grants", "grants"),
      c("oidc_identity", "oidcIdentity"),
      c("oidc_issuer", "oidcIssuer"),
      c("oidc_subject", "oidcSubject"),
      c("oidc_rules", "oidcRules"),
    ],
  },
  trustRules: {
    table: "trust_rules",
    key: ["id"],
    columns: [
      c("id", "id"),
      c("cache", "cache"),
      c("issuer", "issuer"),
      c("subject", "subject"),
      c("claims", "claims"),
      c("perm", "perm"),
      c("created_at", "createdAt", "int"),
    ],
  },
  secrets: {
    table: "server_secrets",
    key: ["name"],
    columns: [c("name", "name"), c("value", "value")],
  },
  nars: {
    table: "nars",
    key: ["cache", "url"],
    columns: [
      c("cache", "cache"),
      c("url", "url"),
      c("blob", "blob"),
      c("compression", "compression"),
      c("nar_hash", "narHash"),
      c("nar_size", "narSize", "int"),
      c("file_hash", "fileHash"),
      c("file_size", "fileSize", "int"),
      c("visible", "visible", "bool"),
      c("created_at", "createdAt", "int"),
    ],
  },
  narinfos: {
    table: "narinfos",
    key: ["cache", "hash"],
    columns: [
      c("cache", "cache"),
      c("hash", "hash"),
      c("store_path", "storePath"),
      c("url", "url"),
      c("text", "text"),
      c("created_at", "createdAt", "int"),
      c("visible", "visible", "bool"),
      c("accessed_at", "accessedAt", "int"),
      c("deriver", "deriver"),
    ],
  },
  pins: {
    table: "pins",
    key: ["cache", "name"],
    columns: [
      c("cache", "cache"),
      c("name", "name"),
      c("keep_revisions", "keepRevisions", "int"),
      c("keep_days", "keepDays", "int"),
      c("created_at", "createdAt", "int"),
    ],
  },
  // Revisions are ordered by created_at (then by id, which a copy renumbers).
  pinRevisions: {
    table: "pin_entries",
    key: ["cache", "pin", "hash"],
    columns: [
      c("cache", "cache"),
      c("pin", "pin"),
      c("hash", "hash"),
      c("store_path", "storePath"),
      c("artifacts", "artifacts"),
      c("created_at", "createdAt", "int"),
    ],
  },
  upstream: {
    table: "upstream_paths",
    key: ["cache", "hash"],
    columns: [c("cache", "cache"), c("hash", "hash"), c("created_at", "createdAt", "int")],
  },
  sideFiles: {
    table: "side_files",
    key: ["cache", "kind", "name"],
    columns: [
      c("cache", "cache"),
      c("kind", "kind"),
      c("name", "name"),
      c("body", "body", "bytes"),
      c("blob", "blob"),
      c("content_type", "contentType"),
      c("content_encoding", "contentEncoding"),
      c("created_at", "createdAt", "int"),
      c("size", "size", "int"),
    ],
  },
  reports: {
    table: "ci_reports",
    key: ["id"],
    columns: [
      c("id", "id", "int"),
      c("cache", "cache"),
      c("kind", "kind"),
      c("commit_id", "commit"),
      c("branch", "branch"),
      c("run_id", "runId"),
      c("run_url", "runUrl"),
      c("token_id", "tokenId"),
      c("created_at", "createdAt", "int"),
      c("ok", "ok", "bool"),
      c("counts", "counts"),
      c("targets", "targets"),
    ],
  },
  pushActivity: {
    table: "push_activity",
    key: ["cache", "minute", "token_id", "run_id"],
    columns: [
      c("cache", "cache"),
      c("minute", "minute", "int"),
      c("token_id", "tokenId"),
      c("run_id", "runId"),
      c("paths", "paths", "int"),
      c("bytes", "bytes", "int"),
    ],
  },
  narinfoLookups: {
    table: "narinfo_lookups",
    key: ["cache", "hour"],
    columns: [
      c("cache", "cache"),
      c("hour", "hour", "int"),
      c("hits", "hits", "int"),
      c("misses", "misses", "int"),
    ],
  },
  realisations: {
    table: "realisations",
    key: ["cache", "kind", "key"],
    columns: [
      c("cache", "cache"),
      c("kind", "kind"),
      c("key", "key"),
      c("out_hash", "outHash"),
      c("out_path", "outPath"),
      c("text", "text"),
      c("size", "size", "int"),
      c("visible", "visible", "bool"),
      c("created_at", "createdAt", "int"),
    ],
  },
};

/** The cursor after `record`: its key values, as JSON. */
export function cursorOf(spec: TableSpec, record: Record<string, unknown>): string {
  return JSON.stringify(
    spec.key.map((k) => record[spec.columns.find((col) => col.column === k)?.field ?? k]),
  );
}

export function parseCursor(spec: TableSpec, cursor: string | null): unknown[] | null {
  if (cursor === null) return null;
  const v = JSON.parse(cursor) as unknown;
  if (!Array.isArray(v) || v.length !== spec.key.length) throw new Error(`bad export cursor ${cursor}`);
  return v;
}

/** A row (column → value, as a driver returns it) as a record (field → value). */
export function recordFromRow(spec: TableSpec, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const col of spec.columns) {
    const v = row[col.column];
    out[col.field] =
      v === null || v === undefined
        ? null
        : col.type === "int"
          ? Number(v)
          : col.type === "bool"
            ? v === true || v === 1 || v === "1"
            : col.type === "bytes"
              ? Buffer.from(v as Uint8Array)
              : v;
  }
  return out;
}

/** A list a store read beside a row: PostgreSQL's array, or SQLite's group_concat (null when empty). */
function listOf(v: unknown): string[] {
  if (Array.isArray(v)) return v as string[];
  return typeof v === "string" && v ? v.split(",") : [];
}

/**
 * One page of exported rows as records: the table's columns, plus what each store selects beside
 * them under the same names (a narinfo's `waits` and `refs`), and the cursor after the page when it
 * is full.
 */
export function exportPage<K extends RecordKind>(
  kind: K,
  rows: ReadonlyArray<Record<string, unknown>>,
  limit: number,
): RecordPage<K> {
  const spec = TABLES[kind];
  const records = rows.map((row) => {
    const r = recordFromRow(spec, row);
    if (kind === "narinfos") {
      r.waitsFor = listOf(row.waits);
      r.references = listOf(row.refs).sort();
    }
    return r;
  }) as unknown as Array<RecordTypes[K]>;
  const last = records[records.length - 1];
  return {
    records,
    next: records.length < limit || !last ? null : cursorOf(spec, last as unknown as Record<string, unknown>),
  };
}

/**
 * A record with what older writers (and bulk loaders) leave out filled in: a narinfo's access time
 * and deriver, a side file's size (a log's blob, unknown then, counts 0).
 */
export function withDefaults<K extends RecordKind>(kind: K, r: RecordTypes[K]): RecordTypes[K] {
  if (kind === "sideFiles") {
    const f = r as SideFileRecord;
    return { ...f, size: f.size ?? (f.blob === null ? f.body.length : 0) } as RecordTypes[K];
  }
  if (kind !== "narinfos") return r;
  const n = r as NarInfoRecord;
  return {
    ...n,
    accessedAt: n.accessedAt ?? n.createdAt,
    deriver: n.deriver === undefined ? deriverInText(n.text) : n.deriver,
  } as RecordTypes[K];
}

/** A narinfo record's references for the GC: as given, or read from its text. */
export function referencesOf(n: NarInfoRecord): string[] {
  return closureReferences(n.hash, n.references ?? referencesInText(n.text));
}
