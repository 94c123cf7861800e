// `oidc: true`: the job's OIDC identity token exchanged for the cache token at the caches' server.
import * as core from "@actions/core";
import type { ActionInputs, RunContext } from "../github/action-inputs.js";
import { oidcLogin } from "../github/oidc-login.js";
import { NixcacheError } from "../util/errors.js";

/**
 * Exchanges the job's identity token for the cache token (into `inputs.token`). Returns why the
 * job must not push, when it got no token or one that cannot write.
 */
export async function loginWithOidc(
  inputs: ActionInputs,
  ctx: RunContext,
  cachixApi: string | undefined,
): Promise<string | undefined> {
  const login = await core.group("Exchange the job's OIDC identity token for a cache token", () =>
    oidcLogin({ caches: inputs.caches, audience: inputs.oidcAudience, ctx, cachixApi }),
  );
  if (login.kind === "skipped") {
    if (inputs.command === "verify" || inputs.command === "push")
      core.notice(`${login.reason}: going on without a cache token.`, { title: "nixcache: no token" });
    return login.reason;
  }
  inputs.token = login.token;
  if (login.writable || inputs.command === "verify") return undefined;
  const readOnly = `cache token this job got through OIDC may not write to every cache (${JSON.stringify(login.grant.caches)})`;
  // Pull requests are meant to get read access only; anywhere else it is a missing rule.
  if (!ctx.event.startsWith("pull_request"))
    throw new NixcacheError(
      "forbidden",
      `input oidc: the ${readOnly}: add a write trust rule for this job on the server`,
    );
  return `The ${readOnly}`;
}
