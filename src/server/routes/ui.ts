// The dashboard's JSON API, `GET /api/v1/ui/...` (wire types in src/ui-api/types.ts): read-only,
// aggregated here so the page makes one call per view. The caller is who the Authorization header
// says, as everywhere: anonymous callers see public caches, a token also what it may read, and a
// private cache is refused in the words used for one that does not exist. Nothing here writes.
// Who may write to a cache is for its writers to know: its trust rules (issuers, subject
// patterns, claims) and the descriptions of the tokens that pushed or uploaded reports (an OIDC
// token's is the CI job's subject) are left out for anyone else, readers of a public cache too.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type PublicKey, parsePublicKey } from "../../nix/signing.js";
import { shownLine } from "../../ui-api/log-text.js";
import type { CacheResponse, CachesResponse, LogTail, Page, PushRow } from "../../ui-api/types.js";
import { authorize, hiddenCache, type Identity, identify } from "../auth/authorize.js";
import type { ServerContext } from "../context.js";
import { readLogTail } from "../log-tail.js";
import type { ReportRow } from "../metadata/dashboard-store.js";
import { CacheName } from "../metadata/names.js";
import type { CacheRow } from "../metadata/types.js";
import { errorReply } from "./errors.js";
import { LogName } from "./nix.js";
import {
  cacheSummary,
  hashOfQuery,
  matrixOf,
  pathDetail,
  pinView,
  pushRow,
  reportPage,
  reportSummary,
  trustRuleView,
  viewerOf,
} from "./ui-wire.js";

export const UI_API_PREFIX = "/api/v1/ui";
const DAY = 24 * 3600_000;
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
/** Branches a report of which makes the default matrix, in this order; else the newest report's. */
const DEFAULT_BRANCHES = ["main", "master", "trunk"];
/**
 * Branches the cache view lists (newest first): a cache's CI may have pushed from thousands, and
 * the view is read anonymously. The rest are paged and searched at `/caches/:name/branches`.
 */
export const BRANCHES_SHOWN = 30;
/** Pins the cache view lists (by name); all of them: `nixcache pin list`, or the Cachix API's listing. */
const PINS_SHOWN = 100;
/** Longest text a branch search takes (a branch name is rarely a tenth of it). */
const MAX_BRANCH_SEARCH = 256;

type Req = FastifyRequest<{
  Params: { name?: string; id?: string; drv?: string };
  Querystring: Record<string, string | undefined>;
}>;

class UiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(JSON.stringify(value));
}

function pageLimit(q: string | undefined): number {
  const n = Number(q ?? DEFAULT_PAGE);
  if (!Number.isInteger(n) || n < 1) throw new UiError(400, "limit must be a positive integer");
  return Math.min(n, MAX_PAGE);
}

function cursor(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const n = Number(q);
  if (!Number.isSafeInteger(n) || n < 0) throw new UiError(400, "before must be a non-negative integer");
  return n;
}

const writes = (cache: CacheRow, who: Identity) => authorize(cache, who, "write").ok;

/**
 * The report a cache's page opens with: of `branch` when asked, else of a default branch, else the
 * newest. `latest`: the newest branches' reports at hand (a branch not among them is looked up).
 */
async function chooseReport(
  meta: ServerContext["meta"],
  cache: string,
  asked: string | undefined,
  latest: readonly ReportRow[],
): Promise<ReportRow | undefined> {
  const newestOf = async (branch: string | null) =>
    latest.find((r) => r.branch === branch) ?? (await meta.listReports(cache, { branch, limit: 1 }))[0];
  // `?branch=` (empty) asks for the reports that named no branch.
  if (asked !== undefined) return newestOf(asked === "" ? null : asked);
  for (const b of DEFAULT_BRANCHES) {
    const r = await newestOf(b);
    if (r) return r;
  }
  return latest[0] ?? (await meta.latestReports(cache, { limit: 1 }))[0];
}

type Handler = (ctx: ServerContext, req: Req, reply: FastifyReply) => Promise<FastifyReply>;

export function registerUiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const routes: Array<[string, Handler]> = [
    ["/caches", listCaches],
    ["/caches/:name", showCache],
    ["/caches/:name/reports", listReports],
    ["/caches/:name/branches", listBranches],
    ["/caches/:name/reports/:id", showReport],
    ["/caches/:name/pushes", listPushes],
    ["/caches/:name/log/:drv", showLogTail],
    ["/caches/:name/path", showPath],
  ];
  app.register(
    async (api) => {
      addApiHooks(api, ctx);
      for (const [url, handler] of routes) api.get(url, (req: Req, reply) => handler(ctx, req, reply));
    },
    { prefix: UI_API_PREFIX },
  );
}

/** Headers on every answer (no caching, no sniffing, the handler's time), and errors as JSON. */
function addApiHooks(api: FastifyInstance, ctx: ServerContext): void {
  const started = new WeakMap<object, number>();
  api.addHook("onRequest", (req, _reply, done) => {
    started.set(req, performance.now());
    done();
  });
  api.addHook("onSend", (req, reply, payload, done) => {
    const ms = performance.now() - (started.get(req) ?? performance.now());
    reply
      .header("cache-control", "no-store")
      .header("x-content-type-options", "nosniff")
      .header("content-security-policy", "default-src 'none'; frame-ancestors 'none'")
      // The handler's own time, for the dashboard's bench (bench/ui) and for operators.
      .header("server-timing", `app;dur=${ms.toFixed(2)}`);
    done(null, payload);
  });
  api.setErrorHandler((err, _req, reply) => {
    if (err instanceof UiError) return sendJson(reply.code(err.status), { error: err.message });
    const { status, message, headers } = errorReply(err, ctx.logError);
    return sendJson(reply.code(status).headers(headers), { error: message });
  });
  api.setNotFoundHandler((req, reply) =>
    sendJson(reply.code(404), {
      error: `no such dashboard call: ${req.method} ${req.url.replace(/\?.*$/, "")}`,
    }),
  );
}

/** The cache if the caller may read it (and whether they may write); otherwise the refusal a private cache gets. */
async function readable(
  { meta }: ServerContext,
  req: Req,
): Promise<{ cache: CacheRow; who: Identity; writer: boolean }> {
  const who = await identify(meta, req.headers.authorization);
  if (who.kind === "invalid") throw new UiError(401, who.message);
  const name = req.params.name ?? "";
  const cache = CacheName.safeParse(name).success ? await meta.getCache(name) : undefined;
  if (!cache || !authorize(cache, who, "read").ok) throw new UiError(401, hiddenCache(name));
  return { cache, who, writer: writes(cache, who) };
}

/** Counts up to this moment: what this process counted is written before it is read. */
async function fresh(ctx: ServerContext): Promise<void> {
  await ctx.activity.flush().catch((e: unknown) => ctx.logError(e));
}

/** `cache` as listCaches has it, with its usage, last GC run and the report its page opens with. */
async function summary(
  { meta }: ServerContext,
  cache: CacheRow & { narinfos: number; bytes: number },
  writer: boolean,
  latest?: readonly ReportRow[],
) {
  const [usage, gc, chosen] = await Promise.all([
    meta.dashboardUsage(cache.name, Date.now() - DAY),
    meta.lastGcRun(cache.name),
    chooseReport(meta, cache.name, undefined, latest ?? []),
  ]);
  return cacheSummary(cache, usage, gc, chosen, writer);
}

async function listCaches(ctx: ServerContext, req: Req, reply: FastifyReply) {
  const who = await identify(ctx.meta, req.headers.authorization);
  if (who.kind === "invalid") throw new UiError(401, who.message);
  await fresh(ctx);
  const all = await ctx.meta.listCaches();
  const visible = all.filter((c) => authorize(c, who, "read").ok);
  const caches = await Promise.all(visible.map((c) => summary(ctx, c, writes(c, who))));
  return sendJson(reply, { viewer: viewerOf(who), caches } satisfies CachesResponse);
}

async function showCache(ctx: ServerContext, req: Req, reply: FastifyReply) {
  const { meta } = ctx;
  const { cache, who, writer } = await readable(ctx, req);
  await fresh(ctx);
  const newest = await meta.latestReports(cache.name, { limit: BRANCHES_SHOWN + 1 });
  const latest = newest.slice(0, BRANCHES_SHOWN);
  const chosen = await chooseReport(meta, cache.name, req.query.branch, latest);
  const counted = (await meta.listCaches()).find((c) => c.name === cache.name);
  const [s, full, pins, rules] = await Promise.all([
    summary(ctx, { ...cache, narinfos: counted?.narinfos ?? 0, bytes: counted?.bytes ?? 0 }, writer, latest),
    chosen ? meta.getReport(cache.name, chosen.id) : undefined,
    // Without artifacts (the page shows none), and a page of them: a cache may have many.
    meta.listPins(cache.name, { limit: PINS_SHOWN + 1, revisions: 1, artifacts: false }),
    writer ? meta.trustRules({ cache: cache.name }) : undefined,
  ]);
  const body: CacheResponse = {
    viewer: viewerOf(who),
    cache: s,
    branches: latest.map((r) => reportSummary(r, writer)),
    branchesNext: newest.length > BRANCHES_SHOWN ? (latest.at(-1)?.id ?? null) : null,
    report: full ? matrixOf(full, writer) : null,
    pins: pins.slice(0, PINS_SHOWN).map(pinView),
    pinsMore: pins.length > PINS_SHOWN,
    trustRules: rules?.map(trustRuleView) ?? null,
  };
  return sendJson(reply, body);
}

async function listReports(ctx: ServerContext, req: Req, reply: FastifyReply) {
  const { cache, writer } = await readable(ctx, req);
  const limit = pageLimit(req.query.limit);
  const branch = req.query.branch;
  const rows = await ctx.meta.listReports(cache.name, {
    // `?branch=` (empty) asks for the reports that named no branch.
    branch: branch === undefined ? undefined : branch === "" ? null : branch,
    before: cursor(req.query.before),
    limit,
  });
  return sendJson(reply, reportPage(rows, limit, writer));
}

/**
 * The newest report of each branch, newest first, a page at a time; `?q=`: branches whose name
 * holds that text (letters in any case).
 */
async function listBranches(ctx: ServerContext, req: Req, reply: FastifyReply) {
  const { cache, writer } = await readable(ctx, req);
  const limit = pageLimit(req.query.limit);
  const q = req.query.q?.trim();
  if (q !== undefined && q.length > MAX_BRANCH_SEARCH)
    throw new UiError(400, `q must be at most ${MAX_BRANCH_SEARCH} characters`);
  const rows = await ctx.meta.latestReports(cache.name, {
    limit,
    before: cursor(req.query.before),
    search: q || undefined,
  });
  return sendJson(reply, reportPage(rows, limit, writer));
}

async function showReport(ctx: ServerContext, req: Req, reply: FastifyReply) {
  const { cache, writer } = await readable(ctx, req);
  const id = Number(req.params.id);
  const r = Number.isSafeInteger(id) ? await ctx.meta.getReport(cache.name, id) : undefined;
  if (!r) throw new UiError(404, `no report ${req.params.id} for cache ${cache.name}`);
  return sendJson(reply, matrixOf(r, writer));
}

async function listPushes(ctx: ServerContext, req: Req, reply: FastifyReply) {
  const { meta } = ctx;
  const { cache, writer } = await readable(ctx, req);
  await fresh(ctx);
  const limit = pageLimit(req.query.limit);
  const rows = await meta.recentPushes(cache.name, { before: cursor(req.query.before), limit });
  const runs = [...new Set(rows.flatMap((r) => (r.run === null ? [] : [r.run])))];
  const reports = new Map((await meta.reportsOfRuns(cache.name, runs)).map((r) => [r.runId, r]));
  const page: Page<PushRow> = {
    items: rows.map((r) => pushRow(r, r.run === null ? undefined : reports.get(r.run), writer)),
    next: rows.length >= limit ? (rows.at(-1)?.minute ?? null) : null,
  };
  return sendJson(reply, page);
}

/**
 * The end of a build log (`/<cache>/log/<drv>`), cleaned and cut for the page: read from the end
 * of the stored blob, so a large log costs the server no more than a small one.
 */
async function showLogTail(ctx: ServerContext, req: Req, reply: FastifyReply) {
  const { cache } = await readable(ctx, req);
  const drv = req.params.drv ?? "";
  if (!LogName.safeParse(drv).success)
    throw new UiError(
      400,
      `expected a derivation's base name (<hash>-<name>.drv), not ${JSON.stringify(drv.slice(0, 300))}`,
    );
  const f = await ctx.meta.getSideFile(cache.name, "log", drv);
  if (!f) throw new UiError(404, `no build log for ${drv} in this cache`);
  const tail = await readLogTail(ctx.storage, f);
  const body: LogTail = {
    drv,
    bytes: tail.bytes,
    encoding: f.contentEncoding,
    lines: tail.lines.map((l) => shownLine(l)),
    earlier: tail.earlier,
    cachePublic: cache.isPublic,
  };
  return sendJson(reply, body);
}

/** `?q=` a store path, its base name, or a hash part. */
async function showPath(ctx: ServerContext, req: Req, reply: FastifyReply) {
  const { meta } = ctx;
  const { cache } = await readable(ctx, req);
  const hash = hashOfQuery(req.query.q ?? "");
  if (!hash)
    throw new UiError(
      400,
      "expected a store path (/nix/store/<hash>-<name>), its base name, or its 32-character hash",
    );
  // Access times are batched in memory (AccessTimes): this process's are written first.
  await ctx.accessTimes.flush().catch((e: unknown) => ctx.logError(e));
  const [rec, pins, realisations] = await Promise.all([
    meta.pathRecord(cache.name, hash),
    meta.pinsKeeping(cache.name, hash),
    meta.realisationsOf(cache.name, hash),
  ]);
  const keys = rec.narinfo ? await cacheKeys(ctx, cache) : [];
  return sendJson(reply, pathDetail(hash, rec, pins, realisations, keys));
}

/** The keys the cache publishes: its managed key (when it signs) and its clients' keys. */
async function cacheKeys({ meta }: ServerContext, cache: CacheRow): Promise<PublicKey[]> {
  const texts = [...(cache.managed ? [cache.publicKey] : []), ...(await meta.clientKeys(cache.name))];
  return texts.flatMap((t) => {
    try {
      return [parsePublicKey(t)];
    } catch {
      return [];
    }
  });
}
