// Narinfo responses held in memory, ready to send, in front of the metadata store. A narinfo GET
// is the server's most frequent request (Nix asks for one per path, and again for every path it
// only wants to know about); the store's lookup was the largest piece of the handler's own time.
//
// Freshness: every write through this process's store empties the cache at once (the store's
// `changes.local()`, which costs no lock in SQLite, is checked per request). Writes by other
// processes (another `serve --workers` worker, `nixcache cache create`) are seen through
// `changes.external()`, which costs as much as a lookup in SQLite, so it is read at most once per
// `recheckMs`: a quarter second, four reads a second that cost nothing, and short because the GC
// waits twice this between deleting a narinfo and deleting its references (a closure ten levels
// deep takes ten such waits). Only narinfos that exist are kept: a path pushed through another
// worker is visible at once, and only a narinfo replaced by another process can be served in its
// old form, for at most `recheckMs` (the old form still names a NAR that is kept).
import type { MetadataStore } from "./store.js";

/** How often another process's writes are looked for; the GC's linger is twice this. */
export const DEFAULT_RECHECK_MS = 250;

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
  private seenLocal: number;
  private seenExternal: number;
  private checkedAt: number;

  constructor(
    private readonly store: Pick<MetadataStore, "getNarInfo" | "changes">,
    opts: NarInfoCacheOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.recheckMs = opts.recheckMs ?? DEFAULT_RECHECK_MS;
    this.now = opts.now ?? Date.now;
    this.seenLocal = store.changes.local();
    this.seenExternal = store.changes.external();
    this.checkedAt = this.now();
  }

  /**
   * The narinfo of `hash` in `cache` (undefined: there is none). A hit is answered without a
   * promise, so the hot path pays for no store round trip and no extra tick.
   */
  get(cache: string, hash: string): Buffer | Promise<Buffer | undefined> {
    this.revalidate();
    const key = `${cache}/${hash}`;
    const hit = this.entries.get(key);
    if (hit) return hit;
    const local = this.seenLocal;
    return this.store.getNarInfo(cache, hash).then((text) => {
      if (text === undefined) return undefined;
      const body = Buffer.from(text, "utf8");
      // A write that landed while the lookup ran may have replaced what was read: do not keep it.
      if (local === this.seenLocal && local === this.store.changes.local()) this.remember(key, body);
      return body;
    });
  }

  /** Forgets everything (also done by itself when the store changes). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private remember(key: string, body: Buffer): void {
    this.entries.set(key, body);
    this.bytes += body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }

  private revalidate(): void {
    const local = this.store.changes.local();
    if (local !== this.seenLocal) {
      this.seenLocal = local;
      this.clear();
    }
    const now = this.now();
    if (now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    const external = this.store.changes.external();
    if (external !== this.seenExternal) {
      this.seenExternal = external;
      this.clear();
    }
  }
}
