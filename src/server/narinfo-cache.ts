// Narinfo responses held in memory, ready to send. A narinfo GET is the server's most frequent
// request (Nix asks for one per path, and again for every path it only wants to know about); its
// SQLite lookup was the largest piece of the handler's own time (a WAL read transaction per query).
//
// Freshness: every write through this process's connection empties the cache at once (SQLite's
// total_changes(), which costs no lock, is checked per request). Writes by other processes
// (another `serve --workers` worker, `nixcache cache create`) are seen through `PRAGMA
// data_version`, which costs as much as a lookup, so it is read at most once per `recheckMs`.
// Only narinfos that exist are kept: a path pushed through another worker is visible at once,
// and only a narinfo replaced by another process can be served in its old form, for at most
// `recheckMs` (the old form still names a NAR that is kept).
import type Database from "better-sqlite3";

export interface NarInfoCacheOptions {
  /** Bytes of narinfo text kept; the oldest entries go first. */
  maxBytes?: number;
  recheckMs?: number;
  now?: () => number;
}

export class NarInfoCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly recheckMs: number;
  private readonly now: () => number;
  private readonly totalChanges: Database.Statement;
  private readonly dataVersion: Database.Statement;
  private seenChanges: unknown;
  private seenVersion: unknown;
  private checkedAt = 0;

  constructor(sqlite: Database.Database, opts: NarInfoCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.recheckMs = opts.recheckMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.totalChanges = sqlite.prepare("SELECT total_changes()").pluck();
    this.dataVersion = sqlite.prepare("PRAGMA data_version").pluck();
    this.seenChanges = this.totalChanges.get();
    this.seenVersion = this.dataVersion.get();
    this.checkedAt = this.now();
  }

  /** The narinfo of `hash` in `cache`, from memory or from `load` (undefined: there is none). */
  get(cache: string, hash: string, load: () => string | undefined): Buffer | undefined {
    this.revalidate();
    const key = `${cache}/${hash}`;
    const hit = this.entries.get(key);
    if (hit) return hit;
    const text = load();
    if (text === undefined) return undefined;
    const body = Buffer.from(text, "utf8");
    this.entries.set(key, body);
    this.bytes += body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
    return body;
  }

  /** Forgets everything (also done by itself when the database changes). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private revalidate(): void {
    const changes = this.totalChanges.get();
    if (changes !== this.seenChanges) {
      this.seenChanges = changes;
      this.clear();
    }
    const now = this.now();
    if (now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    const version = this.dataVersion.get();
    if (version !== this.seenVersion) {
      this.seenVersion = version;
      this.clear();
    }
  }
}
