// One run's GitHub checks from start to end, for `build`, `ci` and `verify` (the CLI's and the
// Action's): which targets this job reports, `pending` as each starts building, the final
// state of each, the aggregate, the comment. And whether to report at all: under GitHub Actions
// by default, never for a fork's pull request (its token is read-only).
import {
  aggregateStatus,
  type CheckedTarget,
  type StatusUpdate,
  statusContext,
  statusDescription,
  type TargetResult,
  targetStatus,
} from "../report/commit-status.js";
import type { PrCommentMode } from "../report/pr-comment.js";
import { NixcacheError } from "../util/errors.js";
import { GitHubChecks, type Notify } from "./checks.js";
import { githubToken } from "./rest.js";
import { githubRun } from "./run-env.js";

export interface ChecksChoice {
  /** `--github-status` (true) / `--no-github-status` (false); undefined: on under GitHub Actions. */
  enabled?: boolean;
  /** The token (the Action's `github-token`); default GITHUB_TOKEN / GH_TOKEN. */
  token?: string;
  maxStatuses?: number;
  prComment?: PrCommentMode;
  notify: Notify;
  env?: NodeJS.ProcessEnv;
}

/** The run's checks, or undefined when none are to be written (said once, when it matters). */
export function openGitHubChecks(c: ChecksChoice): GitHubChecks | undefined {
  if (c.enabled === false) return undefined;
  const env = c.env ?? process.env;
  const found = githubRun(env);
  if ("missing" in found) {
    if (c.enabled === true) throw new NixcacheError("usage", `--github-status: ${found.missing}`);
    return undefined;
  }
  const token = c.token || githubToken(env);
  if (!token) {
    const why =
      "no GitHub token (GITHUB_TOKEN, or the Action's github-token input): commit statuses and the pull-request comment are not written";
    if (c.enabled === true) throw new NixcacheError("usage", `--github-status: ${why}`);
    c.notify.notice(why);
    return undefined;
  }
  if (found.run.fork) {
    c.notify.notice(
      "this pull request comes from a fork, whose token is read-only: commit statuses and the pull-request comment are skipped",
    );
    return undefined;
  }
  return new GitHubChecks({
    run: found.run,
    token,
    notify: c.notify,
    ...(c.maxStatuses !== undefined ? { maxStatuses: c.maxStatuses } : {}),
    ...(c.prComment !== undefined ? { prComment: c.prComment } : {}),
  });
}

/** What a build event says of a target (structural: build's BuildEvent). */
export interface TargetEvent {
  type: string;
  attr?: string;
  system?: string;
  phase?: string;
}

/** The statuses of a build or ci run's targets. */
export class TargetChecks {
  private readonly started = new Map<string, number>();
  private readonly ended = new Map<string, number>();
  private pendingOk = false;

  private readonly runnerSystems: readonly string[];

  constructor(
    readonly checks: GitHubChecks,
    /**
     * The systems the workflow has a job for (`--runner-systems`, repeated or comma-separated);
     * undefined: only this machine's.
     */
    runnerSystems: readonly string[] | undefined,
    /** The systems this machine builds. */
    private readonly buildable: readonly string[],
  ) {
    this.runnerSystems = (runnerSystems ?? []).flatMap((s) => s.split(",")).filter(Boolean);
  }

  /**
   * Whether this job reports the target: every target of a system it builds, and those of
   * systems no job of the workflow builds; another system's job reports its own.
   */
  reports(t: { system: string }): boolean {
    if (this.buildable.includes(t.system)) return true;
    return !this.runnerSystems.includes(t.system);
  }

  /** Before the build: pending statuses only when every target's status fits under the cap. */
  begin(targets: ReadonlyArray<{ attr: string; system: string }>): void {
    this.pendingOk = this.checks.pendingFits(targets.filter((t) => this.reports(t)).length);
  }

  /** Build events: `pending` as a target starts building; its duration for the final word. */
  event(e: TargetEvent): void {
    if (e.type !== "target" || e.attr === undefined || e.system === undefined) return;
    const key = `${e.system}\0${e.attr}`;
    if (e.phase === "building" && !this.started.has(key)) {
      this.started.set(key, Date.now());
      if (this.pendingOk && this.reports({ system: e.system }))
        void this.checks.status({
          context: statusContext(e.attr),
          state: "pending",
          description: statusDescription(`building on ${e.system}`),
          ...(this.checks.run.runUrl !== undefined ? { targetUrl: this.checks.run.runUrl } : {}),
        });
    } else if (e.phase === "done" || e.phase === "failed") this.ended.set(key, Date.now());
  }

  /** The final statuses of the targets this job reports. */
  async finish(
    targets: readonly TargetResult[],
    /** `ci`: the aggregate over every target's `verify` too, linking to the uploaded report. */
    ci?: { reportUrl?: string },
  ): Promise<void> {
    const list: StatusUpdate[] = [];
    for (const t of targets) {
      if (!this.reports(t)) continue;
      const key = `${t.system}\0${t.attr}`;
      const start = this.started.get(key);
      const end = this.ended.get(key);
      list.push(
        targetStatus(t, {
          ...(start !== undefined && end !== undefined ? { durationMs: end - start } : {}),
          ...(this.checks.run.runUrl !== undefined ? { jobUrl: this.checks.run.runUrl } : {}),
        }),
      );
    }
    await this.checks.statuses(list);
    if (ci)
      await aggregateFinal(
        this.checks,
        targets.map((t) => ({ attr: t.attr, system: t.system, ok: t.verify === "ok" })),
        ci.reportUrl,
      );
    else await endChecks(this.checks);
  }
}

/** `pending` on the aggregate, as verify or ci starts. */
export function aggregatePending(checks: GitHubChecks, what: string): Promise<void> {
  return checks.aggregate({
    state: "pending",
    description: statusDescription(what),
    ...(checks.run.runUrl !== undefined ? { targetUrl: checks.run.runUrl } : {}),
  });
}

/** The pull-request comment, then every write in flight: the end of a run's checks. */
async function endChecks(checks: GitHubChecks): Promise<void> {
  await checks.comment();
  await checks.settle();
}

/** The aggregate's final state, then the pull-request comment (the end of verify's and ci's checks). */
export async function aggregateFinal(
  checks: GitHubChecks,
  targets: readonly CheckedTarget[],
  reportUrl?: string,
): Promise<void> {
  const url = reportUrl ?? checks.run.runUrl;
  const u = aggregateStatus(targets, {
    ...(url !== undefined ? { targetUrl: url } : {}),
    unreported: checks.unreported,
  });
  await checks.aggregate(u);
  await endChecks(checks);
}

/** The aggregate when the run itself failed (evaluation, an unusable cache): never left pending. */
export async function aggregateError(checks: GitHubChecks, message: string): Promise<void> {
  await checks.aggregate({
    state: "error",
    description: statusDescription(`did not finish: ${message}`),
    ...(checks.run.runUrl !== undefined ? { targetUrl: checks.run.runUrl } : {}),
  });
  await checks.settle();
}
