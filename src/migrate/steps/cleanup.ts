// The old provider's config goes: its config file (garnix.yaml; the workflows read the copy) and
// its substituters and keys in flake.nix. Only after verify has passed in the same run.
import { access } from "node:fs/promises";
import { applyEdits, describeEdit, removalEdits } from "../../doctor/edits.js";
import { readTextIfExists } from "../../util/files.js";
import { type MigrationContext, TARGETS_FILE } from "../context.js";
import { deleteRepoFile, writeRepoFile } from "../state.js";
import { report, type Step } from "./types.js";

async function leftovers(ctx: MigrationContext) {
  const c = await ctx.nixConfig();
  const listed = [
    ...c.extraSubstituters,
    ...c.substituters,
    ...c.extraTrustedPublicKeys,
    ...c.trustedPublicKeys,
  ];
  const dead = [...new Set(listed.filter((v) => ctx.from.substituters.includes(v) || ctx.from.isItsKey(v)))];
  const hasConfig = await access(ctx.abs(ctx.from.configFile)).then(
    () => true,
    () => false,
  );
  const edits = removalEdits(c.text, "flake.nix", dead);
  return { c, dead, hasConfig, edits };
}

export const cleanupStep: Step = {
  id: "cleanup",
  title: `old config removed (only after verify has passed)`,
  async check(ctx) {
    const { dead, hasConfig, edits } = await leftovers(ctx);
    if (dead.length === 0 && !hasConfig)
      return report(this, "done", `no ${ctx.from.name} config left`, {
        resumed: ctx.recorded("cleanup")?.status === "done",
      });
    const actions = [...(hasConfig ? [`delete ${ctx.from.configFile}`] : []), ...edits.map(describeEdit)];
    if (!ctx.verifyPassed)
      return report(
        this,
        "blocked",
        `refused until verify passes against ${ctx.cache.url}: ${ctx.from.name} stays the fallback`,
        {
          actions,
        },
      );
    if (hasConfig && (await readTextIfExists(ctx.abs(TARGETS_FILE))) === undefined)
      return report(
        this,
        "blocked",
        `waits for the workflows step: ${TARGETS_FILE} must carry the target set first`,
        {
          actions,
        },
      );
    return report(this, "pending", `${ctx.from.name} config to remove`, { actions });
  },
  async apply(ctx, pending) {
    const { c, hasConfig, edits } = await leftovers(ctx);
    if (edits.length > 0) await writeRepoFile(ctx.repo, ctx.state, "flake.nix", applyEdits(c.text, edits));
    if (hasConfig) await deleteRepoFile(ctx.repo, ctx.state, ctx.from.configFile);
    return report(this, "done", `removed the ${ctx.from.name} config`, { actions: pending.actions });
  },
};
