// SQLite's planner has no statistics here (nothing runs ANALYZE), so with two indexes that fit a
// statement it may pick the wrong one: these hot statements must use the index they are written
// for, or a push slows with the cache's size (a range over every narinfo: 62 ms at 100,000).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { adminCreateCache } from "../../src/server/admin.js";
import { TOUCH_BY_URL, VISIBLE_OF } from "../../src/server/metadata/sqlite/engine.js";
import { DB_FILE } from "../../src/server/metadata/sqlite/open.js";

test("SQLite: a NAR pushed again finds its narinfo by URL (narinfos_url), not by a range of access times", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nixcache-plans-"));
  try {
    // Creating a cache opens the data directory: every migration has run.
    await adminCreateCache({ dataDir: dir }, { name: "c", isPublic: true, priority: 40 });
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    try {
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${TOUCH_BY_URL}`)
        .all({ now: 1, cache: "c", url: "nar/x.nar" }) as Array<{ detail: string }>;
      const details = plan.map((r) => r.detail).join("; ");
      assert.match(details, /USING INDEX narinfos_url \(cache=\? AND url=\?\)/, details);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SQLite: the bulk query answers from the primary key's index and the pending index, without reading rows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nixcache-plans-"));
  try {
    await adminCreateCache({ dataDir: dir }, { name: "c", isPublic: true, priority: 40 });
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    try {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${VISIBLE_OF}`).all({ hashes: "[]", cache: "c" }) as Array<{
        detail: string;
      }>;
      const details = plan.map((r) => r.detail).join("; ");
      assert.match(
        details,
        /SEARCH n EXISTS USING COVERING INDEX sqlite_autoindex_narinfos_1 \(cache=\? AND hash=\?\)/,
        details,
      );
      // Only a pending row (few) is read from the table, for `visible`.
      assert.match(
        details,
        /SEARCH p USING (COVERING )?INDEX narinfos_pending_hash \(cache=\? AND hash=\?\)/,
        details,
      );
      assert.doesNotMatch(details, /SCAN n\b|SCAN p\b/, details);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
