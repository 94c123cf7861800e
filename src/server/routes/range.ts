export type ByteRange = { start: number; end: number };

/**
 * One `bytes=` range of a `size`-byte body, inclusive; undefined means the whole body (no header,
 * one that is not a single byte range: multi-range requests get the whole file, which RFC 9110
 * allows, or an invalid one such as `bytes=9-3`, whose last position is before its first: RFC 9110
 * says to ignore the header then), "unsatisfiable" a range that is outside it (416).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === "" && b === "") return undefined;
  let start: number;
  let end: number;
  if (a === "") {
    const n = Number(b);
    if (n === 0) return "unsatisfiable";
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    if (b !== "" && Number(b) < Number(a)) return undefined;
    start = Number(a);
    end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}
