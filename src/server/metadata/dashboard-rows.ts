// The dashboard's rows as both databases return them (SQLite's booleans are 0/1, PostgreSQL's
// true/false; sizes are numbers in both), and their conversion to the records of types.ts.
import type { PushActivityRow, ReportRow } from "./dashboard-store.js";
import type { Permission } from "./types.js";

export interface RawReport {
  id: number;
  cache: string;
  kind: string;
  commit_id: string | null;
  branch: string | null;
  run_id: string | null;
  run_url: string | null;
  token_id: string | null;
  created_at: number;
  ok: number | boolean;
  counts: string;
  token_description: string | null;
  targets?: string;
}

export function reportFromRow(r: RawReport): ReportRow {
  const row: ReportRow = {
    id: Number(r.id),
    cache: r.cache,
    kind: r.kind,
    commit: r.commit_id,
    branch: r.branch,
    runId: r.run_id,
    runUrl: r.run_url,
    tokenId: r.token_id,
    createdAt: Number(r.created_at),
    ok: r.ok === true || r.ok === 1,
    counts: r.counts,
    tokenDescription: r.token_description,
  };
  if (r.targets !== undefined) row.targets = r.targets;
  return row;
}

export interface RawPush {
  cache: string;
  minute: number;
  token_id: string;
  run_id: string;
  paths: number;
  bytes: number;
  description: string | null;
  perm: Permission | null;
  kind: string | null;
}

/** "" stands for "none" in the key columns (they are part of the primary key). */
export function pushFromRow(r: RawPush): PushActivityRow {
  return {
    cache: r.cache,
    minute: Number(r.minute),
    tokenId: r.token_id || null,
    run: r.run_id || null,
    paths: Number(r.paths),
    bytes: Number(r.bytes),
    token:
      r.perm === null
        ? null
        : {
            description: r.description,
            perm: r.perm,
            kind: r.kind === "personal" || r.kind === "oidc" ? r.kind : "cache",
          },
  };
}
