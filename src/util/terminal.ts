// Text that users set (token descriptions, account and key names) printed in listings: control
// characters are shown escaped, so a description cannot move the cursor, recolour the terminal or
// forge lines (ESC, CR, LF, C1 controls, bidirectional overrides).

/** Whether a code unit is one a terminal could act on (C0, DEL, C1, line/paragraph separators, bidi controls). */
export function isControl(n: number): boolean {
  return (
    n <= 0x1f ||
    (n >= 0x7f && n <= 0x9f) ||
    n === 0x2028 ||
    n === 0x2029 ||
    (n >= 0x202a && n <= 0x202e) ||
    (n >= 0x2066 && n <= 0x2069)
  );
}

/** `s` with every control character written as `\xNN` / `\uNNNN` (and `\` as `\\`). */
export function escapeControl(s: string): string {
  let out = "";
  for (const c of s) {
    const n = c.charCodeAt(0);
    if (c === "\\") out += "\\\\";
    else if (!isControl(n)) out += c;
    else out += n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
  }
  return out;
}
