// A migration step: a read-only check that says where it stands, and (for a pending step) the
// action that makes it so. Both return data; printing is the CLI's.
import type { MigrationContext } from "../context.js";
import type { StepId } from "../state.js";

/**
 * done: nothing to do. pending: apply will do it. blocked: waits for another step (or a remote
 * that is not configured: then `needs` says what to give). manual: only a human can do it
 * (`manualSteps`). failed: apply tried and it did not work (`detail` says why).
 */
export type StepStatus = "done" | "pending" | "blocked" | "manual" | "failed";

export interface StepReport {
  id: StepId;
  title: string;
  status: StepStatus;
  /** Where it stands, in words (never a secret value). */
  detail: string;
  /** What apply does (pending) or did (done in this run): files, edits in words, API calls. */
  actions: string[];
  /** For a step waiting on configuration: what to give (e.g. --repo OWNER/NAME and a GitHub token). */
  needs?: string;
  manualSteps?: string[];
  remedy?: string;
  /** Done by an earlier apply, as the state file records it. */
  resumed?: boolean;
}

export interface Step {
  id: StepId;
  title: string;
  check(ctx: MigrationContext): Promise<StepReport>;
  /** Called by apply for a pending step; returns the step's new report. */
  apply(ctx: MigrationContext, pending: StepReport): Promise<StepReport>;
}

export function report(
  step: Pick<Step, "id" | "title">,
  status: StepStatus,
  detail: string,
  extra: Partial<Omit<StepReport, "id" | "title" | "status" | "detail">> = {},
): StepReport {
  return { id: step.id, title: step.title, status, detail, actions: [], ...extra };
}
