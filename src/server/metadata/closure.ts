// What closure-complete visibility (store.ts) needs of a narinfo's references, shared by the
// metadata store implementations.

/** The distinct references a narinfo waits for: its own hash never blocks it. */
export function closureReferences(hash: string, references: readonly string[]): string[] {
  return [...new Set(references)].filter((r) => r !== hash);
}
