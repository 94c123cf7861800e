// What closure-complete visibility (store.ts) needs of a narinfo's references, shared by the
// metadata store implementations.

/** The distinct references a narinfo waits for: its own hash never blocks it. */
export function closureReferences(hash: string, references: readonly string[]): string[] {
  return [...new Set(references)].filter((r) => r !== hash);
}

/** The hash parts of a narinfo text's `References:` line (for records that carry no references). */
export function referencesInText(text: string): string[] {
  const line = /^References:[ \t]*(.*)$/m.exec(text)?.[1] ?? "";
  return line
    .split(/\s+/)
    .filter((r) => r.length >= 32)
    .map((r) => r.slice(0, 32));
}

/**
 * The base name (`<hash>-<name>.drv`) of a narinfo text's `Deriver:`, whose build log is named so;
 * null without one (or `unknown-deriver`).
 */
export function deriverInText(text: string): string | null {
  const value = /^Deriver:[ \t]*(\S+)/m.exec(text)?.[1];
  if (!value || value === "unknown-deriver") return null;
  return value.slice(value.lastIndexOf("/") + 1);
}
