// The GitHub Actions workflows (`nixcache workflow`'s two files) for the cache moved to. When the
// provider's config (garnix.yaml) selects the targets, the selection is copied to TARGETS_FILE and
// the workflows read that copy, so removing garnix.yaml later does not change what CI builds.
import path from "node:path";
import { checkWorkflows, type GeneratedFile, generateWorkflows } from "../../github/workflow.js";
import { readTextIfExists } from "../../util/files.js";
import { type MigrationContext, TARGETS_FILE } from "../context.js";
import { writeRepoFile } from "../state.js";
import { report, type Step } from "./types.js";

const WORKFLOWS_DIR = path.join(".github", "workflows");

/** Every file the step writes, relative to the repository, with its content. */
async function wantedFiles(ctx: MigrationContext): Promise<Array<{ rel: string; content: string }>> {
  const selection =
    (await readTextIfExists(ctx.abs(ctx.from.configFile))) ?? (await readTextIfExists(ctx.abs(TARGETS_FILE)));
  const { targets } = await ctx.targets();
  const files: GeneratedFile[] = generateWorkflows({
    systems: targets.map((t) => t.system),
    cache: ctx.cache.url,
    actionRef: ctx.opts.actionRef,
    ...(ctx.opts.runners ? { runners: ctx.opts.runners } : {}),
    ...(ctx.opts.branch ? { branch: ctx.opts.branch } : {}),
    ...(selection !== undefined ? { config: TARGETS_FILE } : {}),
  });
  const out = files.map((f) => ({ rel: path.join(WORKFLOWS_DIR, f.name), content: f.content }));
  if (selection !== undefined) out.push({ rel: TARGETS_FILE, content: selection });
  return out;
}

async function differing(ctx: MigrationContext) {
  const files = await wantedFiles(ctx);
  const res = await checkWorkflows(
    ctx.repo,
    files.map((f) => ({ name: f.rel, content: f.content })),
  );
  return files.filter((f) => res.differ.some((d) => d.name === f.rel));
}

export const workflowsStep: Step = {
  id: "workflows",
  title: "workflows generated",
  async check(ctx) {
    const todo = await differing(ctx);
    if (todo.length === 0)
      return report(this, "done", `${WORKFLOWS_DIR} is up to date for ${ctx.cache.url}`, {
        resumed: ctx.recorded("workflows")?.status === "done",
      });
    return report(this, "pending", `${todo.length} file${todo.length === 1 ? "" : "s"} to write`, {
      actions: todo.map((f) => `write ${f.rel}`),
    });
  },
  async apply(ctx, pending) {
    for (const f of await differing(ctx)) await writeRepoFile(ctx.repo, ctx.state, f.rel, f.content);
    return report(this, "done", `wrote the workflows for ${ctx.cache.url}`, { actions: pending.actions });
  },
};
