// The exact edit that removes one value (a substituter URL, a public key) from a flake.nix: which
// line, and what it becomes. Pure text work on the file as written, so the edit can be shown to a
// user ("delete line 7") and applied by a tool (migrate) alike.

export interface FileEdit {
  /** The file, as the user would name it (relative when it is under the working directory). */
  file: string;
  /** 1-based line number. */
  line: number;
  /** The line as it is now. */
  text: string;
  /** `delete`: remove the line; `replace`: the line becomes `replacement`. */
  action: "delete" | "replace";
  replacement?: string;
  /** The values the edit removes, replaces or adds. */
  values: string[];
}

const STRING_LITERAL = /"((?:[^"\\]|\\.)*)"/g;

/** A line holding only an attribute whose list or string became empty: `x = [ ];`, `x = "";`. */
const EMPTY_ATTR = /^\s*[A-Za-z0-9_."-]+\s*=\s*(\[\s*\]|"")\s*;\s*(#.*)?$/;

const GONE = "\u2063nixcache-removed\u2063";

/**
 * The line with the first string literal that holds `value` as a whole word rewritten: `words`
 * gets that literal's words and returns the new ones (none: the literal goes). Undefined when no
 * literal holds it.
 */
function rewriteLiteral(line: string, value: string, words: (w: string[]) => string[]): string | undefined {
  let changed = false;
  const out = line.replace(STRING_LITERAL, (lit, body: string) => {
    const ws = body.split(/\s+/).filter(Boolean);
    if (changed || !ws.includes(value)) return lit;
    changed = true;
    const rest = words(ws);
    return rest.length === 0 ? GONE : `"${rest.join(" ")}"`;
  });
  return changed ? out : undefined;
}

/** The line with `value` taken out of its string literal (or the literal taken out of its list). */
function removeFromLine(line: string, value: string): string | undefined {
  const out = rewriteLiteral(line, value, (ws) => ws.filter((w) => w !== value));
  if (out === undefined) return undefined;
  // A removed list element takes one neighbouring space with it.
  for (const [from, to] of [
    [` ${GONE} `, " "],
    [` ${GONE}`, ""],
    [`${GONE} `, ""],
    [GONE, ""],
  ] as const)
    if (out.includes(from)) return out.replace(from, to);
  return out;
}

const replaceInLine = (line: string, value: string, by: string) =>
  rewriteLiteral(line, value, (ws) => ws.map((w) => (w === value ? by : w)));

/**
 * The line with `value` added next to `anchor`: a list element `"anchor"` gets a sibling
 * `"anchor" "value"`; one word of a space-separated string gets a word after it.
 */
function addToLine(line: string, anchor: string, value: string): string | undefined {
  let changed = false;
  const out = line.replace(STRING_LITERAL, (lit, body: string) => {
    const ws = body.split(/\s+/).filter(Boolean);
    if (changed || !ws.includes(anchor)) return lit;
    changed = true;
    if (ws.length === 1) return `${lit} ${JSON.stringify(value)}`;
    return `"${ws.flatMap((w) => (w === anchor ? [w, value] : [w])).join(" ")}"`;
  });
  return changed ? out : undefined;
}

/** One change to a file: take a value out, put another in its place, or add one beside another. */
export type EditOp = { remove: string } | { replace: string; with: string } | { add: string; after: string };

/** The value an op takes out, replaces, or adds (what `FileEdit.values` names). */
export const opValue = (op: EditOp) => ("remove" in op ? op.remove : "replace" in op ? op.replace : op.add);

function applyOp(line: string, op: EditOp): string | undefined {
  if ("remove" in op) return removeFromLine(line, op.remove);
  if ("replace" in op) return replaceInLine(line, op.replace, op.with);
  return addToLine(line, op.after, op.add);
}

/**
 * The line edits that carry out `ops` on `text`, on every line whose string literal holds the value
 * (for an `add`, its anchor, and only the first such line) as a whole word (a list element, or one word of a space-separated string), comment lines
 * skipped; a removed list element takes its space with it, and a line left with an
 * empty attribute (`x = [ ];`) or nothing is deleted. Ops on the same line make one edit. An op
 * whose value no line holds (a computed one) is left out: `edits.flatMap(e => e.values)` says which
 * were found.
 */
export function planEdits(text: string, file: string, ops: readonly EditOp[]): FileEdit[] {
  const lines = text.split("\n");
  const byLine = new Map<number, { now: string; values: string[] }>();
  for (const op of ops) {
    // The value a line must hold for the op to apply there (an add's anchor).
    const value = "add" in op ? op.after : opValue(op);
    for (const [i, line] of lines.entries()) {
      if (/^\s*#/.test(line) || !line.includes(value)) continue;
      const cur = byLine.get(i) ?? { now: line, values: [] };
      const after = applyOp(cur.now, op);
      if (after === undefined) continue;
      byLine.set(i, { now: after, values: [...cur.values, opValue(op)] });
      // A value is added once, beside the first line that holds its anchor.
      if ("add" in op) break;
    }
  }
  return [...byLine]
    .sort(([a], [b]) => a - b)
    .map(([i, { now, values }]) => {
      const base = { file, line: i + 1, text: lines[i] as string, values };
      if (now.trim() === "" || EMPTY_ATTR.test(now)) return { ...base, action: "delete" as const };
      return { ...base, action: "replace" as const, replacement: now };
    });
}

/** The edits removing each of `values` (see planEdits). */
export function removalEdits(text: string, file: string, values: readonly string[]): FileEdit[] {
  return planEdits(
    text,
    file,
    values.map((remove) => ({ remove })),
  );
}

/** An edit in words: `flake.nix line 7: delete the line \`"https://x"\``. */
export function describeEdit(e: FileEdit): string {
  return e.action === "delete"
    ? `${e.file} line ${e.line}: delete the line \`${e.text.trim()}\``
    : `${e.file} line ${e.line}: change \`${e.text.trim()}\` to \`${(e.replacement ?? "").trim()}\``;
}

/** `text` with the edits applied (each names its line in the original text; one edit per line). */
export function applyEdits(text: string, edits: readonly FileEdit[]): string {
  const byLine = new Map(edits.map((e) => [e.line, e]));
  const out: string[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    const e = byLine.get(i + 1);
    if (!e) out.push(line);
    else if (e.text !== line) throw new Error(`line ${e.line} of ${e.file} changed since the edit was made`);
    else if (e.action === "replace") out.push(e.replacement ?? "");
  }
  return out.join("\n");
}
