// Narinfo lookups on PostgreSQL, merged while the server is busy. A lookup is a statement of its
// own while fewer than `maxInFlight` are under way, so an idle server answers as soon as it can;
// beyond that, lookups wait, and the next statement to go takes all of them (up to MAX_MERGED). A
// lookup's cost was nearly all per statement (the round trip, pg's encoding and parsing,
// PostgreSQL's executor start-up), a row more costs next to nothing: with 16 concurrent lookups,
// merging cut the CPU per lookup by half to three quarters on both sides.

/**
 * Lookup statements under way at once before lookups are merged. One: at a million narinfos with
 * 16 clients, PostgreSQL's CPU per GET fell from 74–131 µs with two to 42–85 with one (a shared
 * machine, so ranges; bench/scale notes).
 */
const MAX_IN_FLIGHT = 1;
/** Lookups one merged statement takes at most (the rest wait for the next). */
const MAX_MERGED = 500;

export interface FoundNarInfo {
  cache: string;
  hash: string;
  text: string;
}

interface Waiter {
  resolve(text: string | undefined): void;
  reject(e: unknown): void;
}

export class MergedLookups {
  private inFlight = 0;
  /** `cache\nhash` (neither holds a line feed) → who waits for it. */
  private waiting = new Map<string, Waiter[]>();

  constructor(
    /** One lookup: the visible narinfo's text, or undefined. */
    private readonly one: (cache: string, hash: string) => Promise<string | undefined>,
    /** Many: the visible narinfos among (caches[i], hashes[i]). */
    private readonly many: (caches: string[], hashes: string[]) => Promise<FoundNarInfo[]>,
    private readonly maxInFlight = MAX_IN_FLIGHT,
  ) {}

  get(cache: string, hash: string): Promise<string | undefined> {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return this.one(cache, hash).finally(() => this.next());
    }
    return new Promise((resolve, reject) => {
      const key = `${cache}\n${hash}`;
      const waiters = this.waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
    });
  }

  /** A statement ended: the lookups that waited meanwhile go in the next one. */
  private next(): void {
    this.inFlight--;
    if (this.waiting.size === 0) return;
    const batch: Array<[string, Waiter[]]> = [];
    for (const entry of this.waiting) {
      batch.push(entry);
      this.waiting.delete(entry[0]);
      if (batch.length === MAX_MERGED) break;
    }
    const caches: string[] = [];
    const hashes: string[] = [];
    for (const [key] of batch) {
      const cut = key.indexOf("\n");
      caches.push(key.slice(0, cut));
      hashes.push(key.slice(cut + 1));
    }
    this.inFlight++;
    // One waiting (most, when the server is not busy) goes in the single lookup's statement, a
    // primary-key probe, instead of a join with a one-element array.
    const rows =
      batch.length === 1
        ? this.one(caches[0] as string, hashes[0] as string).then((text) =>
            text === undefined ? [] : [{ cache: caches[0] as string, hash: hashes[0] as string, text }],
          )
        : this.many(caches, hashes);
    rows
      .then(
        (rows) => {
          const found = new Map(rows.map((r) => [`${r.cache}\n${r.hash}`, r.text]));
          for (const [key, waiters] of batch) for (const w of waiters) w.resolve(found.get(key));
        },
        (e: unknown) => {
          for (const [, waiters] of batch) for (const w of waiters) w.reject(e);
        },
      )
      .finally(() => this.next());
  }
}
