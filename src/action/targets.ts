// The Action's target set: the flake input, the config input, extra-args' --branch and --system.
import * as core from "@actions/core";
import type { ActionInputs, RunContext } from "../github/action-inputs.js";
import type { GitHubChecks } from "../github/checks.js";
import { resolveTargets, type Target } from "../targets/resolve.js";
import type { ExtraArgs } from "./extra-args.js";

export async function targetsOf(
  inputs: ActionInputs,
  ctx: RunContext,
  x: ExtraArgs,
  checks?: GitHubChecks,
): Promise<Target[]> {
  const branch = x.values.branch ?? ctx.branch;
  const systems = x.values.system ?? [];
  const res = await resolveTargets({
    flake: inputs.flake,
    ...(inputs.config !== undefined ? { configFile: inputs.config } : {}),
    ...(branch !== undefined ? { branch } : {}),
    ...(systems.length > 0 ? { systems } : {}),
  });
  for (const w of res.warnings) core.warning(w);
  for (const n of res.notes) core.notice(n, { title: "nixcache: Garnix config" });
  // The Garnix config's commentOnFailure: false turns the comment off unless extra-args say.
  if (checks && res.commentOnFailure === false && x.values.prComment === undefined) checks.mode = "never";
  core.info(`${res.targets.length} targets selected (${res.configSource})`);
  return res.targets;
}
