// One concurrency limiter for the whole library, on p-limit: `limiter(n).run(fn)` for work that
// arrives over time (cache lookups, uploads), `mapLimit` for a list known up front.
import pLimit from "p-limit";

export interface Limiter {
  /** Runs `fn` once fewer than `concurrency` others are running; resolves or rejects as it does. */
  run<T>(fn: () => PromiseLike<T> | T): Promise<T>;
  /** Tasks running now. */
  readonly active: number;
  /** Tasks waiting for a turn. */
  readonly pending: number;
  readonly concurrency: number;
}

/** A limiter of `concurrency` tasks in flight (an integer, at least 1). */
export function limiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const limit = pLimit(concurrency);
  return {
    run: (fn) => limit(fn),
    get active() {
      return limit.activeCount;
    },
    get pending() {
      return limit.pendingCount;
    },
    concurrency,
  };
}

/**
 * `fn` over `items` with at most `concurrency` in flight; results in input order. The first
 * rejection rejects the whole (tasks already started still finish, as with Promise.all).
 */
export function mapLimit<T, R>(
  items: Iterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => PromiseLike<R> | R,
): Promise<R[]> {
  const l = limiter(concurrency);
  return Promise.all(Array.from(items, (item, i) => l.run(() => fn(item, i))));
}
