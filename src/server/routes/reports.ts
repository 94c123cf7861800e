// `POST /api/v1/cache/:name/reports`: the JSON report of a `nixcache ci` or `nixcache verify` run,
// uploaded with its commit, branch and CI run for the dashboard's coverage matrix. A write token
// of the cache is needed: a report says what the cache holds, and readers must not rewrite that.
import type { FastifyInstance } from "fastify";
import { ReportUpload } from "../../ui-api/dashboard-report-schema.js";
import type { ServerContext } from "../context.js";
import { type CachixRequests, type Req, readJson, sendJson } from "./cachix-request.js";
import { countStatuses } from "./ui-matrix.js";

export function registerReportRoutes(api: FastifyInstance, ctx: ServerContext, calls: CachixRequests): void {
  api.post("/cache/:name/reports", async (req: Req, reply) => {
    const cache = await calls.access(req, "write");
    const body = await readJson(req.raw, ReportUpload);
    const caller = await calls.caller(req);
    const row = await ctx.meta.insertReport({
      cache: cache.name,
      kind: body.kind,
      commit: body.commit,
      branch: body.branch,
      runId: body.run?.id ?? null,
      runUrl: body.run?.url ?? null,
      tokenId: caller.kind === "anonymous" ? null : caller.token.id,
      ok: body.ok,
      counts: JSON.stringify(countStatuses(body.targets)),
      targets: JSON.stringify(body.targets),
    });
    return sendJson(reply.code(201), {
      id: row.id,
      url: `${ctx.publicUrl()}/ui/#/cache/${encodeURIComponent(cache.name)}/report/${row.id}`,
    });
  });
}
