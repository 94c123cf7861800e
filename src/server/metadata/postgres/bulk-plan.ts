// How the bulk query (the Cachix API's "which of these paths do you have") reads a cache on
// PostgreSQL: a descent of the primary key per hash asked ("probes"), or one pass over the cache's
// range of it in order, merged with the sorted hashes ("merge"). A descent costs about as much as
// reading 15 entries in order (PostgreSQL at a million narinfos, 100,000 in the cache: 6 µs a
// probe, 0.4 µs an entry merged), so a pass wins when the cache is small for the hashes asked:
// 32,768 hashes against a cache of 100,000 narinfos took 73 ms merged, 145 ms probed. (SQLite
// always probes: there, reading the cache's 100,000 hashes into JavaScript to merge them cost more
// than the 32,768 probes.)

/** Narinfos per hash asked below which the pass is taken (a little in the probes' favour). */
export const MERGE_BELOW_ROWS_PER_HASH = 10;

/** How the bulk query reads a cache of about `rows` narinfos for `hashes` hashes. */
export function bulkPlan(rows: number, hashes: number): "merge" | "probes" {
  return rows < hashes * MERGE_BELOW_ROWS_PER_HASH ? "merge" : "probes";
}
