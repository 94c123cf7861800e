// GitHub Actions workflow-command text (`::error title=…::message`), escaped as the runner expects:
// pure formatting that every report renderer shares.
const escData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escProp = (s: string) => escData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** One `::error` line (newlines and `%` escaped in the message, `:`/`,` too in the title). */
export function errorAnnotation(title: string, message: string): string {
  return `::error title=${escProp(title)}::${escData(message)}`;
}

/** An error annotation as data: the CLI prints it as a workflow command, the Action hands it to core.error. */
export interface Annotation {
  title: string;
  message: string;
}

/** `::error` lines, one per annotation, newline terminated (empty when there are none). */
export function formatAnnotationLines(list: readonly Annotation[]): string {
  return list.map((a) => `${errorAnnotation(a.title, a.message)}\n`).join("");
}

/** One `::warning` line, escaped as errorAnnotation's. */
export function warningAnnotation(title: string, message: string): string {
  return `::warning title=${escProp(title)}::${escData(message)}`;
}

/** One `::notice` line, escaped as errorAnnotation's. */
export function noticeAnnotation(title: string, message: string): string {
  return `::notice title=${escProp(title)}::${escData(message)}`;
}

/**
 * Lines folded in the job log under `title` (`::group::`/`::endgroup::`). The lines are shown as
 * they are, never run: workflow commands are stopped around them (`::stop-commands::`) with
 * `token`, which must be one the lines cannot guess (a random one per call).
 */
export function foldedLines(title: string, lines: readonly string[], token: string): string {
  return [
    `::group::${escData(title)}`,
    `::stop-commands::${token}`,
    ...lines,
    `::${token}::`,
    "::endgroup::",
    "",
  ].join("\n");
}
