// Numbers and times as people read them. Pure.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** "3 minutes ago", "2 days ago"; "just now" under a minute. */
export function timeAgo(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 60) return "just now";
  const steps: Array<[number, string]> = [
    [60, "minute"],
    [3600, "hour"],
    [86400, "day"],
    [86400 * 30, "month"],
    [86400 * 365, "year"],
  ];
  let unit = steps[0] as [number, string];
  for (const st of steps) if (s >= st[0]) unit = st;
  const n = Math.floor(s / unit[0]);
  return `${n} ${unit[1]}${n === 1 ? "" : "s"} ago`;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Local date and time, to the minute. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function formatDuration(ms: number): string {
  const d = ms / 86400_000;
  if (d >= 1 && Number.isInteger(d)) return d === 1 ? "1 day" : `${d} days`;
  const hours = ms / 3600_000;
  if (hours >= 1) return `${Math.round(hours)} hours`;
  return `${Math.round(ms / 60_000)} minutes`;
}

export function percent(part: number, whole: number): string {
  if (whole === 0) return "–";
  const p = (part / whole) * 100;
  if (p > 0 && p < 0.1) return "<0.1%";
  return `${p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function shortCommit(c: string): string {
  return c.slice(0, 12);
}

/** The base name of a store path (what people recognise), or the text as it is. */
export function baseName(storePath: string): string {
  return storePath.startsWith("/nix/store/") ? storePath.slice("/nix/store/".length) : storePath;
}
