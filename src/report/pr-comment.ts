// The pull-request comment nixcache keeps (one per pull request, edited in place): the failed
// checks of the head commit, read back from the commit's statuses so that every system's job
// is covered, or "all passing" once they pass. Pure: the text; src/github/ finds and writes it.
import { AGGREGATE_CONTEXT, isNixcacheContext, type StatusState } from "./commit-status.js";

/** The hidden marker later runs find the comment by. */
export const PR_COMMENT_MARKER = "<!-- nixcache:pr-comment -->";

export const PR_COMMENT_MODES = ["auto", "always", "never"] as const;
export type PrCommentMode = (typeof PR_COMMENT_MODES)[number];

/** A commit status as GitHub lists it (the newest per context). */
export interface CommitStatus {
  context: string;
  /** `pending`, `success`, `failure` or `error` (GitHub's API types it as any string). */
  state: StatusState | (string & {});
  description: string | null;
  target_url: string | null;
}

/** The newest status of each nixcache context (GitHub lists a ref's statuses newest first). */
export function latestNixcacheStatuses(
  list: readonly CommitStatus[],
  own: ReadonlySet<string>,
): CommitStatus[] {
  const seen = new Map<string, CommitStatus>();
  for (const s of list) {
    if (seen.has(s.context)) continue;
    if (own.has(s.context) || isNixcacheContext(s.context)) seen.set(s.context, s);
  }
  return [...seen.values()];
}

/** Table cells hold one line without pipes or markup that would break the table. */
function cell(text: string): string {
  return text
    .replace(/\s+/g, " ")
    .replace(/[\\`*[\]<>|]/g, (c) => `\\${c}`)
    .trim();
}

export interface CommentContent {
  /** The whole comment, marker first. */
  body: string;
  failed: number;
  pending: number;
}

/** The comment for a commit whose nixcache statuses are `statuses`. */
export function prCommentBody(
  statuses: readonly CommitStatus[],
  o: { sha: string; runUrl?: string },
): CommentContent {
  const failed = statuses.filter((s) => s.state === "failure" || s.state === "error");
  // The aggregate repeats the targets' failures: list it only when it is the only failure.
  const listed = failed.length > 1 ? failed.filter((s) => s.context !== AGGREGATE_CONTEXT) : failed;
  const pending = statuses.filter((s) => s.state === "pending").length;
  const short = o.sha.slice(0, 7);
  const lines = [PR_COMMENT_MARKER];
  if (failed.length === 0) {
    lines.push(
      `### ✅ nixcache: all passing on ${short}`,
      "",
      pending > 0
        ? `No check has failed; ${pending} still running.`
        : `All ${statuses.length} nixcache checks passed.`,
    );
  } else {
    lines.push(
      `### ❌ nixcache: ${listed.length} check${listed.length === 1 ? "" : "s"} failed on ${short}`,
      "",
      "| check | first error |",
      "|---|---|",
    );
    for (const s of listed) {
      const name = cell(s.context);
      const linked = s.target_url && /^https?:\/\//.test(s.target_url) ? `[${name}](${s.target_url})` : name;
      lines.push(`| ${linked} | ${cell(s.description ?? s.state)} |`);
    }
    if (pending > 0) lines.push("", `${pending} more still running.`);
  }
  lines.push(
    "",
    `<sub>nixcache edits this comment on every run${o.runUrl ? ` (latest: [this run](${o.runUrl}))` : ""}.</sub>`,
  );
  return { body: `${lines.join("\n")}\n`, failed: listed.length, pending };
}
