// The run's GitHub checks (commit statuses, the aggregate, the pull-request comment) as the
// inputs and extra-args say: on by default under Actions.
import * as core from "@actions/core";
import type { ActionInputs } from "../github/action-inputs.js";
import type { GitHubChecks } from "../github/checks.js";
import { openGitHubChecks } from "../github/target-checks.js";
import type { ExtraArgs } from "./extra-args.js";

export function checksOf(inputs: ActionInputs, x: ExtraArgs): GitHubChecks | undefined {
  const { githubStatus, maxStatuses, prComment } = x.values;
  return openGitHubChecks({
    ...(githubStatus !== undefined ? { enabled: githubStatus } : {}),
    ...(inputs.githubToken !== undefined ? { token: inputs.githubToken } : {}),
    ...(x.given("max-statuses") && maxStatuses !== undefined ? { maxStatuses } : {}),
    ...(prComment !== undefined ? { prComment } : {}),
    notify: {
      warning: (m) => core.warning(m, { title: "nixcache: GitHub" }),
      notice: (m) => core.notice(m, { title: "nixcache: GitHub" }),
    },
  });
}
