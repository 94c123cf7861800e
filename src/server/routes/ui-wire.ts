// The dashboard API's rows → wire mapping (wire types in src/ui-api/types.ts): what the metadata
// store returns, as the page is sent it. Pure. `writer`: whether the caller may write to the
// cache, and so see who uploaded a report or pushed (see routes/ui.ts).
import { NarInfoError, narInfoFingerprint, parseNarInfo } from "../../nix/narinfo.js";
import type { PublicKey } from "../../nix/signing.js";
import { verifyDetached } from "../../nix/signing.js";
import { isStoreHash, STORE_HASH_LENGTH } from "../../nix/store-path.js";
import type {
  CacheSummary,
  Page,
  PathDetail,
  Pin,
  PushRow,
  RealisationView,
  ReportMatrix,
  ReportSummary,
  ReportTargetUpload,
  SignatureView,
  StatusCounts,
  TrustRuleView,
  Viewer,
} from "../../ui-api/types.js";
import type { Identity } from "../auth/authorize.js";
import type {
  DashboardUsage,
  GcRunRow,
  PathRecord,
  PushActivityRow,
  ReportRow,
} from "../metadata/dashboard-store.js";
import type { CacheRow, PinRow, StoredRealisation, TrustRuleRow } from "../metadata/types.js";
import { reportMatrix } from "./ui-matrix.js";

export function viewerOf(who: Identity): Viewer {
  if (who.kind === "anonymous") return { kind: "anonymous" };
  if (who.kind === "invalid") return { kind: "anonymous", invalid: who.message };
  return { kind: "token", description: who.token.description, tokenKind: who.token.kind };
}

/** A report as listed; `writer`: whether the caller may see who uploaded it. */
export function reportSummary(r: ReportRow, writer: boolean): ReportSummary {
  return {
    id: r.id,
    kind: r.kind === "verify" ? "verify" : "ci",
    commit: r.commit,
    branch: r.branch,
    run: r.runId === null ? null : { id: r.runId, url: r.runUrl },
    createdAt: r.createdAt,
    ok: r.ok,
    counts: JSON.parse(r.counts) as StatusCounts,
    by: writer ? r.tokenDescription : null,
  };
}

export function matrixOf(r: ReportRow, writer: boolean): ReportMatrix {
  const targets = JSON.parse(r.targets ?? "[]") as ReportTargetUpload[];
  return { ...reportSummary(r, writer), ...reportMatrix(targets) };
}

/** A page of reports; a full page has a next one (its cursor: the last id). */
export function reportPage(rows: readonly ReportRow[], limit: number, writer: boolean): Page<ReportSummary> {
  return {
    items: rows.map((r) => reportSummary(r, writer)),
    next: rows.length === limit ? (rows.at(-1)?.id ?? null) : null,
  };
}

/** `cache` as listCaches has it: with its visible narinfos and its bytes (the quota's counter). */
export function cacheSummary(
  cache: CacheRow & { narinfos: number; bytes: number },
  usage: DashboardUsage,
  gc: GcRunRow | undefined,
  chosen: ReportRow | undefined,
  writer: boolean,
): CacheSummary {
  const s: CacheSummary = {
    name: cache.name,
    isPublic: cache.isPublic,
    publicKey: cache.publicKey,
    paths: cache.narinfos,
    pendingPaths: usage.pending,
    bytes: cache.bytes,
    lastPushAt: usage.lastPushAt,
    narinfo24h: { hits: usage.hits, misses: usage.misses },
    quotaBytes: cache.quotaBytes,
    retentionMs: cache.retentionMs,
    gc: gc ? { lastRunAt: gc.endedAt, freedBytes: gc.deletedBytes, pathsDeleted: gc.deletedPaths } : null,
  };
  s.coverage = chosen ? reportSummary(chosen, writer) : null;
  return s;
}

/** A pin as the page lists it: its newest revision and what it keeps. */
export function pinView(p: PinRow): Pin {
  const keep =
    p.keep === "all"
      ? "every revision"
      : "revisions" in p.keep
        ? `the newest ${p.keep.revisions} revision${p.keep.revisions === 1 ? "" : "s"}`
        : `revisions of the last ${p.keep.days} day${p.keep.days === 1 ? "" : "s"}`;
  return {
    name: p.name,
    storePath: p.revisions[0]?.storePath ?? null,
    revisions: p.revisionCount,
    keep,
    createdAt: p.createdAt,
  };
}

export function trustRuleView(r: TrustRuleRow): TrustRuleView {
  return {
    issuer: r.issuer,
    subject: r.subject,
    ...(Object.keys(r.claims).length > 0 ? { claims: r.claims } : {}),
    perm: r.perm,
  };
}

/** A minute's pushes; `report`: the newest report naming its run, if any. */
export function pushRow(r: PushActivityRow, report: ReportRow | undefined, writer: boolean): PushRow {
  return {
    at: r.minute,
    token: r.token && (writer ? r.token : { ...r.token, description: null }),
    paths: r.paths,
    bytes: r.bytes,
    run:
      r.run === null
        ? null
        : {
            id: r.run,
            ...(report
              ? {
                  report: {
                    id: report.id,
                    commit: report.commit,
                    branch: report.branch,
                    url: report.runUrl,
                  },
                }
              : {}),
          },
  };
}

function realisationView(r: StoredRealisation): RealisationView {
  // `sha256:<hex>!<output>`, or `<drv>/<output>`: the names were checked at upload.
  const cut = r.kind === "realisations" ? r.key.indexOf("!") : r.key.lastIndexOf("/");
  return {
    kind: r.kind,
    derivation: r.key.slice(0, cut),
    output: r.key.slice(cut + 1),
    visible: r.visible,
    createdAt: r.createdAt,
  };
}

/**
 * What the page shows of a hash part; `keys`: those the cache publishes (the signatures are
 * checked against them). A narinfo that does not parse is shown as text only.
 */
export function pathDetail(
  hash: string,
  rec: PathRecord,
  pins: string[],
  realisations: readonly StoredRealisation[],
  keys: readonly PublicKey[],
): PathDetail {
  const n = rec.narinfo;
  const detail: PathDetail = {
    hash,
    storePath: n?.storePath ?? null,
    state: n ? (n.visible ? "visible" : "pending") : rec.upstream ? "upstream" : "absent",
    narinfo: n?.text ?? null,
    narSize: null,
    fileSize: null,
    compression: null,
    references: [],
    signatures: [],
    waitingFor: n?.waitingFor ?? [],
    createdAt: n?.createdAt ?? null,
    lastAccessAt: n?.accessedAt ?? null,
    pins,
    realisations: realisations.map(realisationView),
  };
  if (n) {
    try {
      const ni = parseNarInfo(n.text);
      detail.narSize = ni.narSize;
      detail.fileSize = ni.fileSize ?? null;
      detail.compression = ni.compression;
      detail.references = ni.references.map((r) => `/nix/store/${r}`);
      detail.signatures = signatures(ni, keys);
    } catch (e) {
      if (!(e instanceof NarInfoError)) throw e;
    }
  }
  return detail;
}

function signatures(ni: ReturnType<typeof parseNarInfo>, keys: readonly PublicKey[]): SignatureView[] {
  const fp = narInfoFingerprint(ni);
  return ni.sigs.map((sig) => {
    const keyName = sig.slice(0, Math.max(0, sig.indexOf(":")));
    const named = keys.filter((k) => k.name === keyName);
    if (named.length === 0) return { keyName, state: "unknown" };
    return { keyName, state: verifyDetached(fp, sig, named) ? "valid" : "invalid" };
  });
}

/** The hash part of a store path, a base name or a bare hash; undefined when it is none of them. */
export function hashOfQuery(q: string): string | undefined {
  const s = q.trim().replace(/^\/nix\/store\//, "");
  const hash = s.slice(0, STORE_HASH_LENGTH);
  if (!isStoreHash(hash)) return undefined;
  if (s.length > STORE_HASH_LENGTH && s[STORE_HASH_LENGTH] !== "-") return undefined;
  return hash;
}
