// What each of the Action's modes hands back, and how the step publishes it: outputs, the JSON
// report file, the step summary, error annotations, the step's result.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import * as core from "@actions/core";
import type { ActionCommand } from "../github/action-inputs.js";
import type { Annotation } from "../report/workflow-commands.js";

export interface Outcome {
  ok: boolean;
  line: string;
  json: unknown;
  markdown: string;
  table: string;
  annotations: Annotation[];
  counts: { built: number; cached: number; failed: number; pushed: number };
}

export async function publishOutcome(
  command: ActionCommand,
  tempDir: string,
  outcome: Outcome,
): Promise<void> {
  core.info(outcome.table);
  await mkdir(tempDir, { recursive: true });
  const report = path.join(tempDir, `nixcache-${command}-report.json`);
  await writeFile(report, `${JSON.stringify(outcome.json, null, 2)}\n`);
  core.setOutput("built", outcome.counts.built);
  core.setOutput("cached", outcome.counts.cached);
  core.setOutput("failed", outcome.counts.failed);
  core.setOutput("pushed", outcome.counts.pushed);
  core.setOutput("report", report);
  core.info(`report: ${report}`);
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(outcome.markdown).write();
  for (const a of outcome.annotations) core.error(a.message, { title: a.title });
  if (!outcome.ok) core.setFailed(`nixcache ${command}: ${outcome.line}`);
  else core.info(`nixcache ${command}: ${outcome.line}`);
}
