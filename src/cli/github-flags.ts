// Opening the GitHub checks of `build`, `ci` and `verify` as their flags say, and how the CLI says what GitHub refused:
// a `::warning`/`::notice` workflow command under Actions (one line each), plain text elsewhere.
import type { GitHubFlags } from "../flags/values.js";
import type { GitHubChecks, Notify } from "../github/checks.js";
import { openGitHubChecks } from "../github/target-checks.js";
import { noticeAnnotation, warningAnnotation } from "../report/workflow-commands.js";
import { exitCodeOf } from "../util/errors.js";
import { UserError } from "./output.js";

/** Warnings and notices of the GitHub checks, on stderr. */
export const cliNotify: Notify = {
  warning: (m) =>
    process.stderr.write(
      process.env.GITHUB_ACTIONS === "true"
        ? `${warningAnnotation("nixcache: GitHub", m)}\n`
        : `nixcache: warning: ${m}\n`,
    ),
  notice: (m) =>
    process.stderr.write(
      process.env.GITHUB_ACTIONS === "true"
        ? `${noticeAnnotation("nixcache: GitHub", m)}\n`
        : `nixcache: ${m}\n`,
    ),
};

/** Opens the run's GitHub checks as the flags say. */
export async function openChecks(flags: GitHubFlags): Promise<GitHubChecks | undefined> {
  try {
    if (flags.githubStatus === false) return undefined;
    if (flags.githubStatus === undefined && process.env.GITHUB_ACTIONS !== "true") return undefined;
    return openGitHubChecks({
      ...(flags.githubStatus !== undefined ? { enabled: flags.githubStatus } : {}),
      maxStatuses: flags.maxStatuses,
      prComment: flags.prComment ?? "auto",
      notify: cliNotify,
    });
  } catch (e) {
    throw new UserError((e as Error).message, exitCodeOf(e) === 2 ? 2 : 1);
  }
}

/** The Garnix config's `commentOnFailure: false` turns the comment off unless --pr-comment says otherwise. */
export function applyCommentOnFailure(
  checks: GitHubChecks | undefined,
  flags: GitHubFlags,
  commentOnFailure: boolean | undefined,
): void {
  if (checks && flags.prComment === undefined && commentOnFailure === false) checks.mode = "never";
}
