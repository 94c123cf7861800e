// The nixcache GitHub Action: inputs → one of its modes (modes/) → outputs, step summary,
// annotations. The pipelines are the CLI's own, from the library; the modes only wire them to
// @actions/core. Bundled by scripts/build-action.ts into dist/action/ (with the portable codecs:
// no native addon).
import * as core from "@actions/core";
import { readActionInputs, runContext } from "../github/action-inputs.js";
import { readNixConfig } from "../local-nix/nix-config.js";
import { errorMessage, NixcacheError } from "../util/errors.js";
import { parseExtraArgs } from "./extra-args.js";
import { runBuildOrCi } from "./modes/build.js";
import { runPush } from "./modes/push.js";
import { runVerify } from "./modes/verify.js";
import { loginWithOidc } from "./oidc.js";
import { type Outcome, publishOutcome } from "./outcome.js";

/** The Action's main step. Never throws: a failure fails the step with its message. */
export async function main(): Promise<void> {
  let inputs: ReturnType<typeof readActionInputs>;
  try {
    inputs = readActionInputs();
  } catch (e) {
    core.setFailed(errorMessage(e));
    return;
  }
  try {
    const ctx = runContext();
    const x = parseExtraArgs(inputs.command, inputs.extraArgs);
    if (inputs.caches.length === 0)
      throw new NixcacheError("usage", "input cache: name at least one cache URL");
    // The exchanged token is then the job's cache token, as input token would be.
    const noOidcPush = inputs.oidc ? await loginWithOidc(inputs, ctx, x.values.cachixApi) : undefined;
    let outcome: Outcome;
    if (inputs.command === "verify") outcome = await runVerify(inputs, ctx, x, await readNixConfig());
    else if (inputs.command === "push") outcome = await runPush(inputs, x);
    else outcome = await runBuildOrCi(inputs, ctx, x, noOidcPush);
    await publishOutcome(inputs.command, ctx.tempDir, outcome);
  } catch (e) {
    core.setFailed(errorMessage(e));
  }
}
