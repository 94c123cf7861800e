// The job's step summary: Markdown appended to the file GitHub names in $GITHUB_STEP_SUMMARY.
import { appendFile } from "node:fs/promises";

/** Whether this process runs as a GitHub Actions step. */
export function inGitHubActions(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GITHUB_ACTIONS === "true";
}

/** The summary file to write: the one asked for, else the job's own (undefined outside Actions). */
export function stepSummaryFile(asked?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return asked ?? env.GITHUB_STEP_SUMMARY;
}

/** Appends Markdown to the summary file: it is shared by every step of a job, so never replaced. */
export async function appendStepSummary(file: string, markdown: string): Promise<void> {
  await appendFile(file, markdown);
}
