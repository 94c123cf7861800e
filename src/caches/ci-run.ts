// The CI run a command is part of, as nixcache's server records it: pushes name it in a header
// (`X-Nixcache-Run`, to nixcache servers only), reports carry it with a link. From
// NIXCACHE_RUN (and NIXCACHE_RUN_URL) when set, else from GitHub Actions' variables; none
// outside CI.

export interface CiRun {
  /** Short and printable: `owner/repo#123456789` (`/2` for a second attempt). */
  id: string;
  url: string | null;
}

const PRINTABLE = /^[\x21-\x7e][\x20-\x7e]{0,199}$/;

export function ciRun(env: NodeJS.ProcessEnv = process.env): CiRun | undefined {
  if (env.NIXCACHE_RUN) {
    if (!PRINTABLE.test(env.NIXCACHE_RUN)) return undefined;
    return { id: env.NIXCACHE_RUN, url: env.NIXCACHE_RUN_URL || null };
  }
  const run = githubActionsRun(env);
  if (!run) return undefined;
  const id = `${run.repo}#${run.run}${run.attempt ? `/${run.attempt}` : ""}`;
  if (!PRINTABLE.test(id)) return undefined;
  return { id, url: run.url };
}

/** GitHub Actions' run of this job and its page (this attempt's, past the first), from the runner's variables. */
export function githubActionsRun(
  env: NodeJS.ProcessEnv = process.env,
): { repo: string; run: string; attempt?: string; url: string } | undefined {
  const repo = env.GITHUB_REPOSITORY;
  const run = env.GITHUB_RUN_ID;
  if (env.GITHUB_ACTIONS !== "true" || !repo || !run || !/^\d+$/.test(run)) return undefined;
  const attempt =
    env.GITHUB_RUN_ATTEMPT && env.GITHUB_RUN_ATTEMPT !== "1" ? env.GITHUB_RUN_ATTEMPT : undefined;
  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  const url = `${server}/${repo}/actions/runs/${run}${attempt ? `/attempts/${attempt}` : ""}`;
  return { repo, run, ...(attempt ? { attempt } : {}), url };
}
