// Garnix's checks on GitHub, written with the commit statuses API (a check run made with a
// workflow's GITHUB_TOKEN lands in an arbitrary workflow's suite): a status per target, the
// aggregate, and the pull-request comment. Nothing here may change a build's result: every
// failure to write is at most one warning naming the permission that is missing.
import type { Octokit } from "@octokit/rest";
import pLimit from "p-limit";
import { AGGREGATE_CONTEXT, failuresFirst, type StatusUpdate } from "../report/commit-status.js";
import {
  type CommitStatus,
  latestNixcacheStatuses,
  PR_COMMENT_MARKER,
  type PrCommentMode,
  prCommentBody,
} from "../report/pr-comment.js";
import { errorMessage } from "../util/errors.js";
import { githubClient, rateLimitWait } from "./rest.js";
import type { GitHubRun } from "./run-env.js";

/** Where warnings and notices go: `::warning`/`::notice` lines from the CLI, core.* in the Action. */
export interface Notify {
  warning(message: string): void;
  notice(message: string): void;
}

export const DEFAULT_MAX_STATUSES = 50;

export interface GitHubChecksOptions {
  run: GitHubRun;
  token: string;
  /** Individual statuses per run (the aggregate aside). */
  maxStatuses?: number;
  prComment?: PrCommentMode;
  notify: Notify;
}

interface CallError {
  status?: number;
  response?: { data?: { message?: unknown } };
}

/** Statuses, the aggregate and the comment of one run, for one commit. */
export class GitHubChecks {
  readonly run: GitHubRun;
  private readonly max: number;
  /** When to comment; the Garnix config's `commentOnFailure` may set it once targets are read. */
  mode: PrCommentMode;
  private readonly notify: Notify;
  private readonly client: Promise<Octokit>;
  /** GitHub answers one write at a time best (its secondary limits punish bursts). */
  private readonly serial = pLimit(1);
  /** Contexts this run wrote (or will): the cap counts them. */
  private readonly taken = new Set<string>();
  /** This run's newest word per context, for the comment when a write did not land. */
  private readonly said = new Map<string, StatusUpdate>();
  private statusesOff?: string;
  private commentsOff?: string;
  private warned = new Set<string>();
  /** Individual statuses left out by the cap. */
  unreported = 0;

  constructor(o: GitHubChecksOptions) {
    this.run = o.run;
    this.max = o.maxStatuses ?? DEFAULT_MAX_STATUSES;
    this.mode = o.prComment ?? "auto";
    this.notify = o.notify;
    this.client = githubClient({ token: o.token, apiUrl: o.run.apiUrl });
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.notify.warning(message);
  }

  /** The message for a refused call, naming the permission the workflow must grant. */
  private refused(e: unknown, permission: string, what: string): string {
    const err = e as CallError;
    const said = typeof err.response?.data?.message === "string" ? ` (${err.response.data.message})` : "";
    const wait = rateLimitWait(e);
    if (wait !== undefined)
      return `${what}: GitHub's rate limit${wait === null ? "" : ` asks to wait ${Math.ceil(wait / 1000)} s`}, longer than nixcache waits; the rest are not written`;
    if (err.status === 401) return `${what}: HTTP 401${said}: the GitHub token is invalid or expired`;
    if (err.status === 403 || err.status === 404)
      return `${what}: HTTP ${err.status}${said}: the job's token needs \`permissions: ${permission}\` (in the workflow, for this job)`;
    return `${what}: ${err.status ? `HTTP ${err.status}${said}` : errorMessage(e)}`;
  }

  /** Whether a pending status for each of `count` targets fits under the cap. */
  pendingFits(count: number): boolean {
    return count <= this.max;
  }

  private write(u: StatusUpdate, counted: boolean): Promise<void> {
    this.said.set(u.context, u);
    if (counted && !this.taken.has(u.context)) {
      if (this.taken.size >= this.max) {
        this.unreported++;
        return Promise.resolve();
      }
      this.taken.add(u.context);
    }
    return this.serial(async () => {
      if (this.statusesOff !== undefined) return;
      try {
        const gh = await this.client;
        await gh.rest.repos.createCommitStatus({
          owner: this.run.owner,
          repo: this.run.repo,
          sha: this.run.sha,
          state: u.state,
          context: u.context,
          description: u.description,
          ...(u.targetUrl !== undefined ? { target_url: u.targetUrl } : {}),
          // Writing the same status twice is harmless: a 5xx may be retried.
          request: { idempotent: true },
        });
      } catch (e) {
        const status = (e as CallError).status;
        const fatal = rateLimitWait(e) !== undefined || status === 401 || status === 403 || status === 404;
        const msg = this.refused(e, "statuses: write", `commit status "${u.context}" not written`);
        if (fatal) {
          this.statusesOff = msg;
          this.warnOnce("statuses", msg);
        } else this.warnOnce(`status:${status ?? "net"}`, msg);
      }
    });
  }

  /** A target's status (counted against --max-statuses). */
  status(u: StatusUpdate): Promise<void> {
    return this.write(u, true);
  }

  /** Final statuses of many targets: failures first, so the cap leaves out successes. */
  async statuses(list: readonly StatusUpdate[]): Promise<void> {
    await Promise.all(failuresFirst(list).map((u) => this.write(u, true)));
  }

  /** The aggregate, `All nixcache checks` (never counted against the cap). */
  aggregate(u: Omit<StatusUpdate, "context">): Promise<void> {
    return this.write({ ...u, context: AGGREGATE_CONTEXT }, false);
  }

  private async pullRequests(gh: Octokit): Promise<number[]> {
    if (this.run.pullRequest !== undefined) return [this.run.pullRequest];
    if (this.run.event !== "push" && this.run.event !== "workflow_dispatch") return [];
    // A push: the open pull requests whose head is this very commit.
    const r = await gh.rest.repos.listPullRequestsAssociatedWithCommit({
      owner: this.run.owner,
      repo: this.run.repo,
      commit_sha: this.run.sha,
      per_page: 100,
    });
    return r.data.filter((p) => p.state === "open" && p.head.sha === this.run.sha).map((p) => p.number);
  }

  /**
   * Creates or edits the pull request's comment from the commit's nixcache statuses (every
   * system's job writes them; this run's own word wins where its write did not land).
   */
  async comment(): Promise<void> {
    if (this.mode === "never" || this.commentsOff !== undefined) return;
    try {
      const gh = await this.client;
      const prs = await this.pullRequests(gh);
      if (prs.length === 0) return;
      const { owner, repo, sha } = this.run;
      let listed: CommitStatus[] = [];
      try {
        listed = await gh.paginate(gh.rest.repos.listCommitStatusesForRef, {
          owner,
          repo,
          ref: sha,
          per_page: 100,
        });
      } catch (e) {
        this.warnOnce("list-statuses", this.refused(e, "statuses: read", "the commit's statuses not read"));
      }
      const byContext = new Map(
        latestNixcacheStatuses(listed, new Set(this.said.keys())).map((s) => [s.context, s]),
      );
      for (const u of this.said.values())
        byContext.set(u.context, {
          context: u.context,
          state: u.state,
          description: u.description,
          target_url: u.targetUrl ?? null,
        });
      const content = prCommentBody([...byContext.values()], {
        sha,
        ...(this.run.runUrl !== undefined ? { runUrl: this.run.runUrl } : {}),
      });
      for (const number of prs) {
        const comments = await gh.paginate(gh.rest.issues.listComments, {
          owner,
          repo,
          issue_number: number,
          per_page: 100,
        });
        const mine = comments.find((c) => c.body?.includes(PR_COMMENT_MARKER));
        if (mine) {
          if (mine.body !== content.body)
            await gh.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: content.body });
        } else if (this.mode === "always" || content.failed > 0) {
          await gh.rest.issues.createComment({ owner, repo, issue_number: number, body: content.body });
        }
      }
    } catch (e) {
      const msg = this.refused(e, "pull-requests: write", "the pull-request comment not written");
      this.commentsOff = msg;
      this.warnOnce("comment", msg);
    }
  }

  /** Waits for every write in flight. */
  async settle(): Promise<void> {
    await this.serial(async () => {});
  }
}
