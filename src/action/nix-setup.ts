// The job's Nix, set up to substitute from the caches (main step) and put back (post step): a
// substituter, its keys and netrc entries per cache, saved in the step's state for the post step.
import * as core from "@actions/core";
import { advertisedKeys } from "../build/trust.js";
import { CachixCache } from "../caches/cachix/cache.js";
import { cacheToken } from "../caches/credentials.js";
import { openCache } from "../caches/open.js";
import type { ActionInputs, RunContext } from "../github/action-inputs.js";
import {
  applyNixSetup,
  ignoredSettings,
  type NixSetupState,
  nixTrust,
  restoreNixSetup,
  type SubstituterPlan,
} from "../github/nix-setup.js";
import type { NixConfig } from "../local-nix/nix-config.js";
import { errorMessage } from "../util/errors.js";

const STATE_KEY = "nix-setup";

/** Substituter, keys and netrc entries that let the job's Nix read each cache. */
async function substituterPlan(
  inputs: ActionInputs,
  cachixApi: string | undefined,
): Promise<SubstituterPlan> {
  const plan: SubstituterPlan = { substituters: [], publicKeys: [], netrc: [] };
  for (const url of inputs.caches) {
    const token = cacheToken(url, inputs.token);
    const cache = await openCache(url, { token, cachixApi });
    try {
      const substituter =
        cache instanceof CachixCache ? (await cache.describe()).uri : url.replace(/\/+$/, "");
      plan.substituters.push(substituter);
      for (const k of await advertisedKeys(cache, token))
        plan.publicKeys.push(`${k.name}:${k.key.toString("base64")}`);
      if (token && /^https?:/.test(substituter))
        plan.netrc.push({ machine: new URL(substituter).hostname, password: token });
    } finally {
      await cache.close();
    }
  }
  return plan;
}

export async function configureNix(
  inputs: ActionInputs,
  ctx: RunContext,
  cachixApi: string | undefined,
  nixConfig: NixConfig,
): Promise<void> {
  await core.group("Configure Nix to substitute from the cache", async () => {
    const plan = await substituterPlan(inputs, cachixApi);
    const { state, lines } = await applyNixSetup(plan, { tempDir: ctx.tempDir });
    core.saveState(STATE_KEY, JSON.stringify(state));
    core.info(`${state.confFile}:`);
    for (const l of lines) core.info(`  ${l}`);
    for (const w of ignoredSettings(await nixTrust(nixConfig), plan))
      core.warning(w, { title: "Nix ignored a setting" });
  });
}

/** The post step: takes back the Nix configuration main changed. */
export async function post(): Promise<void> {
  const saved = core.getState(STATE_KEY);
  if (!saved) return;
  try {
    const state = JSON.parse(saved) as NixSetupState;
    await restoreNixSetup(state);
    core.info(`restored ${state.confFile}${state.netrcFile ? ` and removed ${state.netrcFile}` : ""}`);
  } catch (e) {
    core.warning(`could not restore the Nix configuration: ${errorMessage(e)}`);
  }
}
