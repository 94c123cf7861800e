/** Items grouped by their `system`, systems in alphabetical order, items in input order. */
export function bySystem<T extends { system: string }>(items: readonly T[]): Array<[string, T[]]> {
  const m = new Map<string, T[]>();
  for (const t of items) m.set(t.system, [...(m.get(t.system) ?? []), t]);
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}
