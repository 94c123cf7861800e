// The repository's GitHub Actions secret (the write token CI pushes with) and variables, named
// as the generated workflows read them: CACHIX_AUTH_TOKEN + CACHIX_CACHE_NAME for cachix://,
// NIXCACHE_TOKEN for a nixcache server. GitHub never returns a secret, so "done" is what an
// earlier apply recorded; without --repo and a GitHub token the step waits and says so.
import { githubClient, githubToken } from "../../github/rest.js";
import { type NamedValue, syncActions } from "../../github/secrets.js";
import type { MigrationContext } from "../context.js";
import { recordRemote } from "../state.js";
import { report, type Step } from "./types.js";

export const NEEDS_GITHUB = "--repo OWNER/NAME and a GitHub token (GITHUB_TOKEN or GH_TOKEN)";

function wanted(ctx: MigrationContext) {
  const { secret, variables } = ctx.cache;
  return { secret, variables: Object.entries(variables).map(([name, value]) => ({ name, value })) };
}

const names = (ctx: MigrationContext) => {
  const w = wanted(ctx);
  return [`secret ${w.secret}`, ...w.variables.map((v) => `variable ${v.name}=${v.value}`)];
};

/** Whether an earlier apply set every one of them on this repository. */
function recordedDone(ctx: MigrationContext): boolean {
  const w = wanted(ctx);
  const has = (kind: "secret" | "variable", name: string) =>
    ctx.state.remote.some((r) => r.kind === kind && r.where === ctx.opts.repo && r.name === name);
  return has("secret", w.secret) && w.variables.every((v) => has("variable", v.name));
}

export const secretsStep: Step = {
  id: "secrets",
  title: "secrets and variables set",
  async check(ctx) {
    const token = ctx.opts.githubToken ?? githubToken(ctx.env);
    if (!ctx.opts.repo || !token)
      return report(this, "blocked", `pending: needs ${NEEDS_GITHUB}`, {
        needs: NEEDS_GITHUB,
        actions: names(ctx),
      });
    if (recordedDone(ctx))
      return report(this, "done", `set on ${ctx.opts.repo}: ${names(ctx).join(", ")}`, { resumed: true });
    const value = ctx.opts.ciToken ?? ctx.env[ctx.cache.secret];
    if (!value)
      return report(
        this,
        "blocked",
        `pending: needs the write token CI pushes with in $${ctx.cache.secret}`,
        {
          needs: `the CI's write token in $${ctx.cache.secret}`,
          actions: names(ctx),
        },
      );
    return report(this, "pending", `not yet set on ${ctx.opts.repo}`, {
      actions: names(ctx).map((n) => `set ${n} on ${ctx.opts.repo}`),
    });
  },
  async apply(ctx, pending) {
    const repo = ctx.opts.repo as string;
    const token = (ctx.opts.githubToken ?? githubToken(ctx.env)) as string;
    const value = (ctx.opts.ciToken ?? ctx.env[ctx.cache.secret]) as string;
    const w = wanted(ctx);
    const source = `$${ctx.cache.secret}`;
    const client = await githubClient(
      ctx.opts.githubApiUrl ? { token, apiUrl: ctx.opts.githubApiUrl } : { token },
    );
    const r = await syncActions(client, {
      repo,
      secrets: [{ name: w.secret, value, source }] satisfies NamedValue[],
      variables: w.variables.map((v) => ({ ...v, source: "nixcache migrate" })),
    });
    for (const i of r.items)
      if (i.done || i.action === "unchanged")
        recordRemote(ctx.state, { kind: i.kind, where: repo, name: i.name });
    const failed = r.items.filter((i) => i.error);
    if (failed.length > 0)
      return report(this, "failed", failed.map((i) => `${i.kind} ${i.name}: ${i.error}`).join("; "), {
        actions: pending.actions,
      });
    return report(this, "done", `set on ${repo}: ${names(ctx).join(", ")}`, { actions: pending.actions });
  },
};
