// The default branch requires the aggregate status "All nixcache checks" (the Cache Only job sets
// it after the builds of every system), through branch protection's "Add status check contexts"
// when the token may: the branch's other required checks stay. Only once verify has passed (a
// required check that no workflow on the branch sets yet would block every pull request). A branch
// without protection, or a token without "Administration: write", leaves it to a human, with the
// way. Whether the migration added it is recorded, so that rollback removes it only then.
import {
  AGGREGATE_CONTEXT,
  addRequiredContext,
  isForbidden,
  requireAggregateHowTo,
  requiredContexts,
} from "../../github/branch-protection.js";
import { ADMINISTRATION_PERMISSION } from "../../github/rest.js";
import { errorMessage } from "../../util/errors.js";
import type { MigrationContext } from "../context.js";
import { recordRemote } from "../state.js";
import { NEEDS_GITHUB } from "./secrets.js";
import { report, type Step, type StepReport } from "./types.js";

const ID = "required-check";

/** The step as this run shows it: its title names the branch. */
const self = (ctx: MigrationContext) =>
  ({ id: ID, title: `require \`${AGGREGATE_CONTEXT}\` on ${ctx.branch}` }) as const;

/** How to do it by hand (in GitHub's settings, or with the gh CLI). */
function byHand(ctx: MigrationContext): string[] {
  const how = requireAggregateHowTo(ctx.branch, ctx.opts.repo);
  return [`in GitHub: ${how.ui} (or with a ruleset: ${how.rulesets})`, `or: ${how.gh}`];
}

const tokenFix = (repo: string) =>
  `a token with the repository permission "${ADMINISTRATION_PERMISSION.fineGrained}: write" on ${repo} ` +
  `(fine-grained token or GitHub App) or the \`${ADMINISTRATION_PERMISSION.classic}\` scope (classic token, ` +
  "as a repository admin)";

/** Whether an earlier apply added the context to this branch (so rollback may remove it). */
function addedByUs(ctx: MigrationContext, repo: string): boolean {
  return ctx.state.remote.some(
    (r) => r.kind === ID && r.where === repo && r.name === AGGREGATE_CONTEXT && r.branch === ctx.branch,
  );
}

function refused(ctx: MigrationContext, repo: string, e: unknown): StepReport {
  if (isForbidden(e))
    return report(self(ctx), "manual", errorMessage(e), {
      manualSteps: byHand(ctx),
      remedy: `run apply again with ${tokenFix(repo)}`,
    });
  return report(self(ctx), "failed", errorMessage(e));
}

function unprotected(ctx: MigrationContext, repo: string, reason: string): StepReport {
  return report(
    self(ctx),
    "manual",
    `${ctx.branch} on ${repo}: GitHub says "${reason}": there is no required status check to add to`,
    {
      manualSteps: [
        `protect ${ctx.branch} with "Require status checks to pass before merging" and add "${AGGREGATE_CONTEXT}": ${requireAggregateHowTo(ctx.branch, repo).ui}`,
        `or with a ruleset: ${requireAggregateHowTo(ctx.branch, repo).rulesets}`,
      ],
    },
  );
}

export const requiredCheckStep: Step = {
  id: ID,
  title: `require \`${AGGREGATE_CONTEXT}\` on the default branch`,
  async check(ctx) {
    const gh = ctx.github();
    const action = `add "${AGGREGATE_CONTEXT}" to the required status checks of ${ctx.branch} on ${ctx.opts.repo ?? "OWNER/NAME"} (POST …/branches/${ctx.branch}/protection/required_status_checks/contexts; the others stay)`;
    if (!gh)
      return report(self(ctx), "blocked", `pending: needs ${NEEDS_GITHUB}`, {
        needs: NEEDS_GITHUB,
        actions: [action],
        manualSteps: byHand(ctx),
      });
    let now: Awaited<ReturnType<typeof requiredContexts>>;
    try {
      now = await requiredContexts(await ctx.githubClient(gh.token), gh.repo, ctx.branch);
    } catch (e) {
      return refused(ctx, gh.repo, e);
    }
    if (!now.protected) return unprotected(ctx, gh.repo, now.reason);
    const ours = addedByUs(ctx, gh.repo);
    if (now.contexts.includes(AGGREGATE_CONTEXT))
      return report(
        self(ctx),
        "done",
        ours
          ? `${ctx.branch} on ${gh.repo} requires "${AGGREGATE_CONTEXT}" (added by an earlier apply)`
          : `${ctx.branch} on ${gh.repo} already requires "${AGGREGATE_CONTEXT}"`,
        { resumed: ours },
      );
    const others = now.contexts.length === 0 ? "no other status check" : now.contexts.join(", ");
    if (!ctx.verifyPassed)
      return report(
        self(ctx),
        "blocked",
        `waits for verify to pass: until the workflows run on ${ctx.branch}, a required "${AGGREGATE_CONTEXT}" would block every pull request (${ctx.branch} requires ${others} now)`,
        { actions: [action] },
      );
    return report(
      self(ctx),
      "pending",
      `${ctx.branch} on ${gh.repo} requires ${others}, not "${AGGREGATE_CONTEXT}"`,
      {
        actions: [action],
      },
    );
  },
  async apply(ctx, pending) {
    const gh = ctx.github() as { repo: string; token: string };
    let after: Awaited<ReturnType<typeof addRequiredContext>>;
    try {
      after = await addRequiredContext(
        await ctx.githubClient(gh.token),
        gh.repo,
        ctx.branch,
        AGGREGATE_CONTEXT,
      );
    } catch (e) {
      return refused(ctx, gh.repo, e);
    }
    // Protection removed since the check: the same manual step.
    if (!after.protected) return unprotected(ctx, gh.repo, after.reason);
    recordRemote(ctx.state, { kind: ID, where: gh.repo, name: AGGREGATE_CONTEXT, branch: ctx.branch });
    return report(
      self(ctx),
      "done",
      `${ctx.branch} on ${gh.repo} now requires "${AGGREGATE_CONTEXT}" (required: ${after.contexts.join(", ")})`,
      { actions: pending.actions },
    );
  },
};
