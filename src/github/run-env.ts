// Which repository, commit and pull request a GitHub Actions run is about, from nothing but what
// the runner sets: GitHub Enterprise Server and any local stand-in of the API rely on
// GITHUB_API_URL being honoured.
import { readFileSync } from "node:fs";
import { githubActionsRun } from "../caches/ci-run.js";
import { GITHUB_API_URL } from "./rest.js";

export interface GitHubRun {
  apiUrl: string;
  owner: string;
  repo: string;
  /** The commit statuses belong on: a pull request's head, a workflow_run's head, else GITHUB_SHA. */
  sha: string;
  event: string;
  /** The pull request this run is for (pull_request events; a workflow_run of one). */
  pullRequest?: number;
  /** A pull request from another repository: its token is read-only. */
  fork: boolean;
  /** The job's page: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID[/attempts/N]`. */
  runUrl?: string;
}

/** What nixcache reads of the event that started the run ($GITHUB_EVENT_PATH). */
export interface EventPayload {
  pull_request?: { number?: number; head?: { sha?: string; repo?: { full_name?: string } | null } };
  workflow_run?: {
    head_sha?: string;
    head_branch?: string;
    pull_requests?: Array<{ number?: number }>;
  };
}

/** The event's payload; empty when there is none or it does not parse. */
export function readEventPayload(file: string | undefined): EventPayload {
  if (!file) return {};
  try {
    const p = JSON.parse(readFileSync(file, "utf8")) as unknown;
    return p !== null && typeof p === "object" ? (p as EventPayload) : {};
  } catch {
    return {};
  }
}

/** Why there is no run to report on (not under Actions, or a variable missing), or the run. */
export function githubRun(env: NodeJS.ProcessEnv = process.env): { run: GitHubRun } | { missing: string } {
  if (env.GITHUB_ACTIONS !== "true") return { missing: "not running under GitHub Actions (GITHUB_ACTIONS)" };
  const full = env.GITHUB_REPOSITORY ?? "";
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(full);
  if (!m) return { missing: "GITHUB_REPOSITORY (owner/repo) is not set" };
  const payload = readEventPayload(env.GITHUB_EVENT_PATH);
  const event = env.GITHUB_EVENT_NAME ?? "";
  const pr = payload.pull_request;
  const wr = payload.workflow_run;
  const sha =
    (event.startsWith("pull_request") ? pr?.head?.sha : undefined) ?? wr?.head_sha ?? env.GITHUB_SHA;
  if (!sha || !/^[0-9a-f]{40}$/i.test(sha)) return { missing: "GITHUB_SHA (the commit) is not set" };
  const run: GitHubRun = {
    apiUrl: (env.GITHUB_API_URL || GITHUB_API_URL).replace(/\/+$/, ""),
    owner: m[1] as string,
    repo: m[2] as string,
    sha: sha.toLowerCase(),
    event,
    fork: false,
  };
  const number = event.startsWith("pull_request") ? pr?.number : wr?.pull_requests?.[0]?.number;
  if (typeof number === "number" && Number.isInteger(number)) run.pullRequest = number;
  // Only a pull_request run of another repository gets a read-only token (pull_request_target
  // and workflow_run run with the base repository's).
  if (event === "pull_request") {
    const head = pr?.head?.repo?.full_name;
    run.fork = head === undefined || head !== full;
  }
  const page = githubActionsRun(env)?.url;
  if (page !== undefined) run.runUrl = page;
  return { run };
}
