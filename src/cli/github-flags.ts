// The GitHub checks' flags of `build`, `ci` and `verify`, and how the CLI says what GitHub refused:
// a `::warning`/`::notice` workflow command under Actions (one line each), plain text elsewhere.
import { type Command, Option } from "commander";
import type { GitHubChecks, Notify } from "../github/checks.js";
import { PR_COMMENT_MODES, type PrCommentMode } from "../report/pr-comment.js";
import { noticeAnnotation, warningAnnotation } from "../report/workflow-commands.js";
import { exitCodeOf } from "../util/errors.js";
import { UserError } from "./output.js";

export interface GitHubFlags {
  githubStatus?: boolean;
  maxStatuses: string;
  prComment?: PrCommentMode;
  runnerSystems?: string[];
}

/** `--github-status`, `--max-statuses`, `--pr-comment`; with `runners`, `--runner-systems` too. */
export function addGitHubFlags(cmd: Command, o: { runners: boolean }): Command {
  cmd
    .option(
      "--github-status",
      "write GitHub commit statuses (default under GitHub Actions; elsewhere needs GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_TOKEN)",
    )
    .option("--no-github-status", "write no commit statuses and no pull-request comment")
    .option("--max-statuses <n>", "individual commit statuses per run at most, failures first", "50")
    .addOption(
      new Option(
        "--pr-comment <mode>",
        "the pull-request comment: auto (when something failed, or to update an earlier one), always, never (default: auto, or never when the Garnix config says commentOnFailure: false)",
      ).choices([...PR_COMMENT_MODES]),
    );
  if (o.runners)
    cmd.option(
      "--runner-systems <system...>",
      "systems the workflow has a build job for: their targets are left to those jobs' statuses (default: this machine's)",
    );
  return cmd;
}

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

/** Opens the run's GitHub checks as the flags say (loaded on use: Octokit is only needed then). */
export async function openChecks(flags: GitHubFlags): Promise<GitHubChecks | undefined> {
  const gh = await import("../github/target-checks.js");
  try {
    const maxStatuses = gh.parseMaxStatuses(flags.maxStatuses);
    if (flags.githubStatus === false) return undefined;
    if (flags.githubStatus === undefined && process.env.GITHUB_ACTIONS !== "true") return undefined;
    return gh.openGitHubChecks({
      ...(flags.githubStatus !== undefined ? { enabled: flags.githubStatus } : {}),
      maxStatuses,
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
