// `nixcache migrate`: the steps in order, checked (plan), performed where pending (apply, each
// recorded in the state file as it finishes, so a stopped apply resumes at the first step not
// done), shown from the state file (status), and undone (rollback: files byte for byte; a required
// status check it added is removed when the token may; what else was done remotely is listed with
// how to undo it by hand).
import path from "node:path";
import { removeRequiredContext, requiredContexts } from "../github/branch-protection.js";
import { githubClient, githubToken } from "../github/rest.js";
import { errorMessage, NixcacheError } from "../util/errors.js";
import { type MigrateOptions, MigrationContext } from "./context.js";
import {
  loadState,
  type MigrationState,
  newState,
  type RemoteRecord,
  type RestoreResult,
  recordStep,
  restoreFiles,
  STATE_FILE,
  saveState,
} from "./state.js";
import { cacheStep } from "./steps/cache.js";
import { cleanupStep } from "./steps/cleanup.js";
import { nixConfigStep } from "./steps/nix-config.js";
import { requiredCheckStep } from "./steps/required-check.js";
import { secretsStep } from "./steps/secrets.js";
import type { Step, StepReport } from "./steps/types.js";
import { verifyStep } from "./steps/verify.js";
import { workflowsStep } from "./steps/workflows.js";

export const STEPS: readonly Step[] = [
  cacheStep,
  secretsStep,
  workflowsStep,
  nixConfigStep,
  verifyStep,
  requiredCheckStep,
  cleanupStep,
];

export interface MigrationReport {
  command: "plan" | "apply";
  from: string;
  to: string;
  stateFile: string;
  steps: StepReport[];
  /** Every step done. */
  complete: boolean;
  /** Nothing failed, blocked on another step, or left to a human (waiting for GitHub config is fine). */
  ok: boolean;
}

async function stateFor(repo: string, opts: MigrateOptions): Promise<MigrationState> {
  const state = await loadState(repo);
  const from = opts.from ?? "garnix";
  if (!state) return newState(from, opts.to);
  if (state.to !== opts.to || state.from !== from)
    throw new NixcacheError(
      "usage",
      `a migration from ${state.from} to ${state.to} is under way (${STATE_FILE}): finish it, or \`nixcache migrate rollback\` first`,
    );
  return state;
}

function summarize(
  command: MigrationReport["command"],
  ctx: MigrationContext,
  steps: StepReport[],
): MigrationReport {
  return {
    command,
    from: ctx.from.name,
    to: ctx.cache.url,
    stateFile: STATE_FILE,
    steps,
    complete: steps.every((s) => s.status === "done"),
    ok: steps.every(
      (s) =>
        s.status === "done" || s.status === "pending" || (s.status === "blocked" && s.needs !== undefined),
    ),
  };
}

async function checkStep(step: Step, ctx: MigrationContext): Promise<StepReport> {
  try {
    return await step.check(ctx);
  } catch (e) {
    return { id: step.id, title: step.title, status: "failed", detail: errorMessage(e), actions: [] };
  }
}

/** Each step, done or pending, with what apply would do; changes nothing. */
export async function planMigration(opts: MigrateOptions): Promise<MigrationReport> {
  const ctx = new MigrationContext(opts, await stateFor(path.resolve(opts.dir ?? "."), opts), false);
  const steps: StepReport[] = [];
  for (const step of STEPS) steps.push(await checkStep(step, ctx));
  return summarize("plan", ctx, steps);
}

/**
 * Performs the pending steps in order, recording each as it ends. A step that fails or waits does
 * not stop the ones that do not depend on it; cleanup runs only when verify passed in this run.
 */
export async function applyMigration(opts: MigrateOptions): Promise<MigrationReport> {
  const state = await stateFor(path.resolve(opts.dir ?? "."), opts);
  const ctx = new MigrationContext(opts, state, true);
  await saveState(ctx.repo, state);
  const steps: StepReport[] = [];
  for (const step of STEPS) {
    let r = await checkStep(step, ctx);
    if (r.status === "pending") {
      try {
        r = await step.apply(ctx, r);
      } catch (e) {
        r = { ...r, status: "failed", detail: errorMessage(e) };
      }
    }
    if (r.status === "done" || r.status === "failed")
      if (!(r.resumed && state.steps[step.id]?.status === "done"))
        recordStep(state, step.id, r.status, r.detail);
    await saveState(ctx.repo, state);
    steps.push(r);
  }
  return summarize("apply", ctx, steps);
}

export interface MigrationStatus {
  /** False when no migration is under way here. */
  active: boolean;
  stateFile: string;
  state: MigrationState | null;
}

/** What the state file says (no network, no evaluation). */
export async function migrationStatus(dir = "."): Promise<MigrationStatus> {
  const state = await loadState(path.resolve(dir));
  return { active: state !== undefined, stateFile: STATE_FILE, state: state ?? null };
}

export interface RollbackReport extends RestoreResult {
  /** What was done elsewhere and was undone now, in words. */
  undone: string[];
  /** What was done elsewhere and stays: each with how to undo it by hand. */
  notUndone: Array<RemoteRecord & { undo: string }>;
}

export interface RollbackOptions {
  /** For a required status check the migration added: a GitHub token (default GITHUB_TOKEN / GH_TOKEN). */
  githubToken?: string;
  /** GitHub REST API base (default $GITHUB_API_URL, else https://api.github.com). */
  githubApiUrl?: string;
  env?: NodeJS.ProcessEnv;
}

function undoByHand(r: RemoteRecord): string {
  if (r.kind === "secret")
    return `secret ${r.name} stays set on ${r.where}: delete it with \`gh secret delete ${r.name} --repo ${r.where}\` (or in the repository's Settings → Secrets and variables → Actions)`;
  if (r.kind === "variable")
    return `variable ${r.name} stays set on ${r.where}: delete it with \`gh variable delete ${r.name} --repo ${r.where}\``;
  if (r.kind === "required-check")
    return `${r.branch} on ${r.where} still requires "${r.name}": remove it with \`gh api -X DELETE repos/${r.where}/branches/${encodeURIComponent(r.branch ?? "main")}/protection/required_status_checks/contexts -f 'contexts[]=${r.name}'\` (or in Settings → Branches)`;
  return `cache ${r.name} created through ${r.where} stays (and what was pushed to it): delete it by hand if it is not wanted`;
}

/**
 * Removes a required status check context the migration added (and only such: one that was
 * required already is not recorded). Answers what was done, or why not (then it stays, by hand).
 */
async function undoRequiredCheck(r: RemoteRecord, o: RollbackOptions): Promise<string> {
  const token = o.githubToken ?? githubToken(o.env ?? process.env);
  if (!token) throw new NixcacheError("unauthorized", "no GitHub token (GITHUB_TOKEN or GH_TOKEN)");
  const client = await githubClient(o.githubApiUrl ? { token, apiUrl: o.githubApiUrl } : { token });
  const branch = r.branch ?? "main";
  const now = await requiredContexts(client, r.where, branch);
  if (!now.protected || !now.contexts.includes(r.name))
    return `${branch} on ${r.where} no longer required "${r.name}": nothing to remove`;
  await removeRequiredContext(client, r.where, branch, r.name);
  return `removed "${r.name}" from the required status checks of ${branch} on ${r.where}`;
}

/**
 * Restores every file the migration changed and forgets the migration; removes a required status
 * check it added (when a GitHub token may); lists what stays remotely.
 */
export async function rollbackMigration(dir = ".", o: RollbackOptions = {}): Promise<RollbackReport> {
  const repo = path.resolve(dir);
  const state = await loadState(repo);
  if (!state) throw new NixcacheError("notFound", `no migration under way in ${repo} (no ${STATE_FILE})`);
  const undone: string[] = [];
  const notUndone: RollbackReport["notUndone"] = [];
  for (const r of state.remote) {
    if (r.kind === "required-check") {
      try {
        undone.push(await undoRequiredCheck(r, o));
        continue;
      } catch (e) {
        notUndone.push({ ...r, undo: `${undoByHand(r)}; not removed: ${errorMessage(e)}` });
        continue;
      }
    }
    notUndone.push({ ...r, undo: undoByHand(r) });
  }
  const restored = await restoreFiles(repo, state);
  return { ...restored, undone, notUndone };
}
