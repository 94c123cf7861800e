// Build log lines as people read them: what a terminal would show of a line (escape sequences and
// other control characters gone), cut to a length a page or a step summary can hold. Pure, and
// free of Node, so the server, the CLI's renderers and the page all cut the same way.

/** Lines of a log the dashboard and the step summary show: its last ones. */
export const LOG_TAIL_LINES = 100;
/** Characters of a line shown; the rest is cut (and the cut marked). */
export const LOG_LINE_MAX = 650;
/** What marks a cut line's end. */
export const LOG_CUT_MARK = "…";

/**
 * Terminal escapes: CSI (`ESC [ … final`, and its 8-bit form), OSC/DCS/SOS/PM/APC strings up to
 * their terminator (BEL or ST, or the end of the line when unterminated), and the two-character
 * escapes (`ESC ( B`, `ESC =`, …).
 */
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what this matches
  /\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[\s\S]*?(?:\u0007|\u001b\\|\u009c|$)|\u001b[ -/]*[0-~]?/g;
/** Control characters left after the escapes (tab kept). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/**
 * A log line without terminal escapes and control characters. A carriage return inside a line
 * (progress output redrawn in place) leaves what a terminal would show last: the text after it.
 */
export function cleanLogLine(line: string): string {
  let s = line.replace(ESCAPES, "");
  s = s.replace(/\r+$/, "");
  const cr = s.lastIndexOf("\r");
  if (cr >= 0) s = s.slice(cr + 1);
  return s.replace(CONTROLS, "");
}

export interface ShownLine {
  text: string;
  /** Set when the line was longer than LOG_LINE_MAX characters and `text` is its beginning. */
  cut?: true;
}

/** A line cleaned and cut to `max` characters (code points: a cut never splits a character). */
export function shownLine(line: string, max = LOG_LINE_MAX): ShownLine {
  const clean = cleanLogLine(line);
  if (clean.length <= max) return { text: clean };
  const chars = Array.from(clean);
  if (chars.length <= max) return { text: clean };
  return { text: chars.slice(0, max).join(""), cut: true };
}

/** The line as one string, a cut marked with LOG_CUT_MARK. */
export function shownLineText(line: string, max = LOG_LINE_MAX): string {
  const s = shownLine(line, max);
  return s.cut ? `${s.text}${LOG_CUT_MARK}` : s.text;
}
