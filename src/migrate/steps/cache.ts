// The cache exists (created through its Cachix-compatible API when the token may), and what Nix
// needs of it is known: the substituter URL and the public keys it signs with.
import { ProvisionRefused, type ProvisionResult, provision } from "../../cachix-admin/provision.js";
import { errorMessage } from "../../util/errors.js";
import type { MigrationContext } from "../context.js";
import { recordRemote } from "../state.js";
import { report, type Step, type StepReport } from "./types.js";

async function provisionCache(ctx: MigrationContext, dryRun: boolean): Promise<ProvisionResult> {
  const api = ctx.cachixApi();
  try {
    return await provision(api, { name: ctx.cache.name, dryRun, hasToken: ctx.token !== undefined });
  } finally {
    await api.close();
  }
}

function learn(ctx: MigrationContext, r: ProvisionResult | undefined): string {
  const given = ctx.opts.trustedKeys ?? [];
  const keys = [...new Set([...(r?.publicKeys ?? []), ...given])];
  const substituter = ctx.cache.kind === "http" ? ctx.cache.url : (r?.substituter ?? ctx.cache.url);
  ctx.cacheFacts = { substituter, publicKeys: keys };
  return `substituter ${substituter}, ${keys.length === 0 ? "no public key known (pass --trusted-key)" : `key ${keys.join(", ")}`}`;
}

export const cacheStep: Step = {
  id: "cache",
  title: "cache provisioned",
  async check(ctx) {
    let r: ProvisionResult;
    try {
      r = await provisionCache(ctx, true);
    } catch (e) {
      if (e instanceof ProvisionRefused)
        return report(this, "manual", e.message, { manualSteps: e.manualSteps, remedy: e.remedy });
      // A plain Nix HTTP cache has no API to ask: the keys given stand in for its answer.
      if ((ctx.opts.trustedKeys ?? []).length > 0)
        return report(
          this,
          "done",
          `not asked through ${ctx.cache.apiUrl} (${errorMessage(e)}); ${learn(ctx, undefined)}`,
        );
      return report(
        this,
        "manual",
        `cannot ask ${ctx.cache.apiUrl} about cache ${ctx.cache.name}: ${errorMessage(e)}`,
        {
          manualSteps: [
            `create the cache ${ctx.cache.url} by hand and give its public key with --trusted-key NAME:BASE64`,
          ],
        },
      );
    }
    if (r.changed.length === 0)
      return report(this, "done", `cache ${ctx.cache.name} exists: ${learn(ctx, r)}`, {
        resumed: ctx.recorded("cache")?.status === "done",
      });
    return report(this, "pending", `cache ${ctx.cache.name} does not exist yet on ${r.api}`, {
      actions: r.changed,
    });
  },
  async apply(ctx): Promise<StepReport> {
    const r = await provisionCache(ctx, false);
    if (r.created) recordRemote(ctx.state, { kind: "cache", where: r.api, name: r.cache });
    return report(this, "done", `${r.created ? "created" : "converged"} cache ${r.cache}: ${learn(ctx, r)}`, {
      actions: r.changed,
    });
  },
};
