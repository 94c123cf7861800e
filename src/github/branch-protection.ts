// The aggregate commit status, "All nixcache checks", as a required status check of a branch,
// through GitHub's branch protection REST API (docs.github.com/rest/branches/branch-protection):
//   GET    /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks/contexts
//          200 ["ctx", …]; 404 "Branch not protected" or "Required status checks not enabled"
//   POST   …/contexts ["ctx", …]  "Add status check contexts": adds them, keeps the others → 200
//   DELETE …/contexts ["ctx", …]  "Remove status check contexts": removes only them → 200
// `PUT …/contexts` ("Set status check contexts") replaces the whole list; it is never used, so no
// context someone else required is ever dropped. Tokens need "Administration" (read to read, write
// to change) as a fine-grained token or GitHub App, or the `repo` scope as a classic token.
import type { Octokit } from "@octokit/rest";
import { ADMINISTRATION_PERMISSION, GitHubApiError, githubError } from "./rest.js";
import { parseRepo } from "./secrets.js";

/** The commit status the Cache Only verification sets across every system: the one to require. */
export const AGGREGATE_CONTEXT = "All nixcache checks";

/** A branch's required status check contexts, or why it has none (GitHub's 404 message). */
export type RequiredContexts = { protected: true; contexts: string[] } | { protected: false; reason: string };

/** GitHub's 404 messages that mean "nothing required here", not "no such repository or branch". */
const UNPROTECTED = /^(Branch not protected|Required status checks not enabled)$/i;

function notProtected(e: unknown): string | undefined {
  const err = e as { status?: number; response?: { data?: { message?: unknown } } };
  const message = err.response?.data?.message;
  return err.status === 404 && typeof message === "string" && UNPROTECTED.test(message) ? message : undefined;
}

/** The contexts `branch` of `repo` (`OWNER/NAME`) requires; GitHubApiError when GitHub refuses. */
export async function requiredContexts(
  client: Octokit,
  repo: string,
  branch: string,
): Promise<RequiredContexts> {
  const { owner, repo: name } = parseRepo(repo);
  try {
    const r = await client.rest.repos.getAllStatusCheckContexts({ owner, repo: name, branch });
    return { protected: true, contexts: r.data };
  } catch (e) {
    const reason = notProtected(e);
    if (reason !== undefined) return { protected: false, reason };
    throw githubError(e, `read the required status checks of ${branch}`, repo, ADMINISTRATION_PERMISSION);
  }
}

/**
 * Adds `context` to the required status checks of `branch` (the others stay): the list after, or
 * why there is none to add to (the branch is not protected).
 */
export async function addRequiredContext(
  client: Octokit,
  repo: string,
  branch: string,
  context: string,
): Promise<RequiredContexts> {
  const { owner, repo: name } = parseRepo(repo);
  try {
    const r = await client.rest.repos.addStatusCheckContexts({
      owner,
      repo: name,
      branch,
      contexts: [context],
      // Adding a context that is there already changes nothing: safe to retry after a 5xx.
      request: { idempotent: true } as Record<string, unknown>,
    });
    return { protected: true, contexts: r.data };
  } catch (e) {
    const reason = notProtected(e);
    if (reason !== undefined) return { protected: false, reason };
    throw githubError(
      e,
      `add ${context} to the required status checks of ${branch}`,
      repo,
      ADMINISTRATION_PERMISSION,
    );
  }
}

/** Removes `context` from the required status checks of `branch` (only it); the list after. */
export async function removeRequiredContext(
  client: Octokit,
  repo: string,
  branch: string,
  context: string,
): Promise<string[]> {
  const { owner, repo: name } = parseRepo(repo);
  try {
    const r = await client.rest.repos.removeStatusCheckContexts({
      owner,
      repo: name,
      branch,
      contexts: [context],
    });
    return r.data;
  } catch (e) {
    throw githubError(
      e,
      `remove ${context} from the required status checks of ${branch}`,
      repo,
      ADMINISTRATION_PERMISSION,
    );
  }
}

/** Whether a GitHub refusal is for want of permission (the remedy is the token, or doing it by hand). */
export function isForbidden(e: unknown): e is GitHubApiError {
  return e instanceof GitHubApiError && e.code === "forbidden";
}

/** How to require the aggregate by hand: in GitHub's settings, or with the gh CLI. */
export interface RequireAggregateHowTo {
  context: string;
  branch: string;
  /** The path through GitHub's settings: branch protection. */
  ui: string;
  /** The same with a ruleset instead. */
  rulesets: string;
  /** The `gh api` command ("Add status check contexts": the branch's other checks stay). */
  gh: string;
}

export function requireAggregateHowTo(branch: string, repo?: string): RequireAggregateHowTo {
  const settings = repo ? `https://github.com/${repo}/settings` : "the repository's Settings";
  return {
    context: AGGREGATE_CONTEXT,
    branch,
    ui:
      `${settings} → Branches → the branch protection rule for ${branch} (Add rule if there is none) → ` +
      `"Require status checks to pass before merging" → add "${AGGREGATE_CONTEXT}"`,
    rulesets:
      `${settings} → Rules → Rulesets → a ruleset targeting ${branch} → "Require status checks to pass" → ` +
      `Add checks → "${AGGREGATE_CONTEXT}"`,
    gh: `gh api -X POST repos/${repo ?? "OWNER/REPO"}/branches/${encodeURIComponent(branch)}/protection/required_status_checks/contexts -f 'contexts[]=${AGGREGATE_CONTEXT}'`,
  };
}
