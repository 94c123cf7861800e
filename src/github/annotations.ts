// GitHub Actions workflow commands (`::error title=…::message`): what a step prints so that the run's
// page shows its failures as annotations.
import { whatIsMissing } from "../report/verify-report.js";
import { type Annotation, errorAnnotation, formatAnnotationLines } from "../report/workflow-commands.js";
import type { VerifyReport } from "../verify/verify.js";

export { errorAnnotation };

/** Error annotations, one per target that is not ok. */
export function verifyAnnotations(r: VerifyReport): Annotation[] {
  const lines: Annotation[] = [];
  const caches = r.caches.join(", ");
  for (const t of r.targets) {
    let title: string;
    let msg: string;
    switch (t.status) {
      case "ok":
        continue;
      case "missing":
        title = "Missing from cache";
        msg = `${t.attr} (${t.system}) missing from ${caches}`;
        break;
      case "unsigned":
        title = "Not signed by a trusted key";
        msg = `${t.attr} (${t.system}) in ${caches} is not signed by ${r.trustedKeys.join(", ")}`;
        break;
      case "incomplete":
        title = "Closure not substitutable";
        msg = `${t.attr} (${t.system}) closure incomplete in ${caches}: ${whatIsMissing(t)}`;
        break;
      case "error":
        title = "Evaluation failed";
        msg = `${t.attr} (${t.system}) failed to evaluate: ${t.error ?? ""}`;
        break;
    }
    lines.push({ title, message: msg });
  }
  return lines;
}

/** `::error` workflow commands, one per target that is not ok. */
export function formatAnnotations(r: VerifyReport): string {
  return formatAnnotationLines(verifyAnnotations(r));
}
