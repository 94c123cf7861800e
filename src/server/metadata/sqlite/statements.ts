// The SQL of the SQLite metadata store, prepared once per connection.
import type Database from "better-sqlite3";
import { CACHE_COLUMNS, REPORT_COLUMNS } from "./rows.js";

/** A prepared statement: an interface, so that this module's declarations can name it. */
export interface Stmt extends Database.Statement<unknown[], unknown> {}

export function prepareStatements(db: Database.Database) {
  const p = (sql: string): Stmt => db.prepare(sql);
  return {
    getCache: p(`SELECT ${CACHE_COLUMNS} WHERE c.name = ?`),
    // Visible narinfos as all minus pending: both counts read an index (the primary key's, the
    // small pending one), never every row.
    listCaches: p(
      `SELECT ${CACHE_COLUMNS.replace(
        "FROM",
        `, (SELECT COUNT(*) FROM narinfos n WHERE n.cache = c.name)
          - (SELECT COUNT(*) FROM narinfos n WHERE n.cache = c.name AND n.visible = 0) AS narinfos,
          c.used_bytes AS bytes FROM`,
      )} ORDER BY c.name`,
    ),
    insertCache: p(
      `INSERT INTO caches (name, is_public, priority, secret_key, public_key, created_at, owner, managed, compression)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    setPublic: p("UPDATE caches SET is_public = ? WHERE name = ?"),
    setCompression: p("UPDATE caches SET compression = ? WHERE name = ?"),
    getSecretKey: p("SELECT secret_key FROM caches WHERE name = ?").pluck(),
    clientKeys: p("SELECT name, public_key FROM client_keys WHERE cache = ? ORDER BY created_at, name"),
    insertClientKey: p(
      "INSERT OR IGNORE INTO client_keys (cache, name, public_key, created_at) VALUES (?, ?, ?, ?)",
    ),

    getNar: p("SELECT * FROM nars WHERE cache = ? AND url = ?"),
    // A URL that is visible keeps its blob: a served NAR URL never changes.
    putNar: p(
      `INSERT INTO nars (cache, url, blob, compression, nar_hash, nar_size, file_hash, file_size, visible, created_at)
       VALUES (@cache, @url, @blob, @compression, @narHash, @narSize, @fileHash, @fileSize, 0, @now)
       ON CONFLICT (cache, url) DO UPDATE SET blob = excluded.blob, compression = excluded.compression,
         nar_hash = excluded.nar_hash, nar_size = excluded.nar_size, file_hash = excluded.file_hash,
         file_size = excluded.file_size, created_at = excluded.created_at
       WHERE nars.visible = 0 OR nars.blob = excluded.blob`,
    ),
    visibleNar: p("SELECT blob, file_size FROM nars WHERE cache = ? AND url = ? AND visible = 1"),
    markVisible: p("UPDATE nars SET visible = 1 WHERE cache = ? AND url = ?"),
    getNarInfo: p("SELECT text FROM narinfos WHERE cache = ? AND hash = ? AND visible = 1").pluck(),
    narInfoVisible: p("SELECT visible FROM narinfos WHERE cache = ? AND hash = ?").pluck(),
    // A push is an access, and takes back a GC mark (dropMark).
    putNarInfo: p(
      `INSERT INTO narinfos (cache, hash, store_path, url, text, created_at, visible, accessed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (cache, hash) DO UPDATE SET store_path = excluded.store_path, url = excluded.url,
         text = excluded.text, created_at = excluded.created_at, visible = excluded.visible,
         accessed_at = excluded.accessed_at`,
    ),
    dropMark: p("DELETE FROM gc_marks WHERE cache = ? AND hash = ?"),
    dropRefsOf: p("DELETE FROM narinfo_refs WHERE cache = ? AND hash = ?"),
    insertRef: p("INSERT OR IGNORE INTO narinfo_refs (cache, hash, ref) VALUES (?, ?, ?)"),
    // A NAR received again for a URL a narinfo has: that narinfo is being pushed again (an access).
    touchByUrl: p(
      "UPDATE narinfos SET accessed_at = @now WHERE cache = @cache AND url = @url AND accessed_at < @now",
    ),
    cacheLimits: p("SELECT quota_bytes, used_bytes FROM caches WHERE name = ?"),
    blobClaimed: p("SELECT EXISTS (SELECT 1 FROM blob_claims WHERE blob = ? AND claimed_at > ?)").pluck(),
    /** Whether a path counts for closures: a visible narinfo here, or served upstream. */
    present: p(
      `SELECT EXISTS (SELECT 1 FROM narinfos WHERE cache = @cache AND hash = @hash AND visible = 1)
         OR EXISTS (SELECT 1 FROM upstream_paths WHERE cache = @cache AND hash = @hash)`,
    ).pluck(),
    dropWaitsOf: p("DELETE FROM narinfo_waits WHERE cache = ? AND hash = ?"),
    insertWait: p("INSERT OR IGNORE INTO narinfo_waits (cache, ref, hash) VALUES (?, ?, ?)"),
    /** The narinfos that were waiting for `ref`, which is now present. */
    releaseWaiters: p("DELETE FROM narinfo_waits WHERE cache = ? AND ref = ? RETURNING hash").pluck(),
    stillWaits: p("SELECT EXISTS (SELECT 1 FROM narinfo_waits WHERE cache = ? AND hash = ?)").pluck(),
    setVisible: p("UPDATE narinfos SET visible = 1 WHERE cache = ? AND hash = ? AND visible = 0"),
    insertUpstream: p("INSERT OR IGNORE INTO upstream_paths (cache, hash, created_at) VALUES (?, ?, ?)"),
    pendingReferencesOf: p(
      `SELECT DISTINCT w.cache, w.ref AS hash FROM narinfo_waits w WHERE w.cache = ?
         AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = w.cache AND n.hash = w.ref) LIMIT ?`,
    ),
    pendingReferences: p(
      `SELECT DISTINCT w.cache, w.ref AS hash FROM narinfo_waits w
         WHERE NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = w.cache AND n.hash = w.ref) LIMIT ?`,
    ),
    pendingCount: p("SELECT COUNT(*) FROM narinfos WHERE cache = ? AND visible = 0").pluck(),
    narInfoBlobs: p(
      "SELECT n.cache, n.hash, n.url, u.blob FROM narinfos n LEFT JOIN nars u ON u.cache = n.cache AND u.url = n.url",
    ),
    blobReferenced: p(
      "SELECT EXISTS (SELECT 1 FROM nars WHERE blob = @blob) OR EXISTS (SELECT 1 FROM side_files WHERE blob = @blob)",
    ).pluck(),
    invisibleNarsBefore: p(
      "SELECT cache, url, blob FROM nars WHERE visible = 0 AND created_at < ? ORDER BY created_at",
    ),
    deleteInvisibleNar: p("DELETE FROM nars WHERE cache = ? AND url = ? AND visible = 0 AND created_at < ?"),
    orphanNarUrls: p(
      `SELECT u.url FROM nars u WHERE u.cache = @cache AND u.visible = 1
         AND NOT EXISTS (SELECT 1 FROM narinfos n WHERE n.cache = @cache AND n.url = u.url) LIMIT @limit`,
    ).pluck(),

    // --- realisations ---
    getRealisation: p(
      "SELECT text FROM realisations WHERE cache = ? AND kind = ? AND key = ? AND visible = 1",
    ).pluck(),
    realisationSize: p("SELECT size FROM realisations WHERE cache = ? AND kind = ? AND key = ?").pluck(),
    putRealisation: p(
      `INSERT INTO realisations (cache, kind, key, out_hash, out_path, text, size, visible, created_at)
       VALUES (@cache, @kind, @key, @outHash, @outPath, @text, @size, @visible, @now)
       ON CONFLICT (cache, kind, key) DO UPDATE SET out_hash = excluded.out_hash, out_path = excluded.out_path,
         text = excluded.text, size = excluded.size, visible = excluded.visible, created_at = excluded.created_at`,
    ),
    /** The realisations naming `hash`, which is now present. */
    showRealisations: p(
      "UPDATE realisations SET visible = 1 WHERE cache = ? AND out_hash = ? AND visible = 0",
    ),
    realisationsOf: p(
      `SELECT kind, key, out_path, visible, size, created_at FROM realisations
       WHERE cache = ? AND out_hash = ? ORDER BY kind, key`,
    ),

    getFile: p(
      "SELECT body, blob, content_type, content_encoding FROM side_files WHERE cache = ? AND kind = ? AND name = ?",
    ),
    putFile: p(
      `INSERT INTO side_files (cache, kind, name, body, blob, content_type, content_encoding, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (cache, kind, name) DO UPDATE SET body = excluded.body, blob = excluded.blob,
         content_type = excluded.content_type, content_encoding = excluded.content_encoding,
         created_at = excluded.created_at`,
    ),

    insertToken: p(
      `INSERT INTO tokens (hash, id, cache, perm, description, created_at, expires_at, kind, account, grants)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    tokenByHash: p("SELECT * FROM tokens WHERE hash = ?"),
    tokenById: p("SELECT * FROM tokens WHERE id = ?"),
    revokeToken: p("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
    listTokens: p("SELECT * FROM tokens ORDER BY created_at, id"),
    tokensOfAccount: p(
      `SELECT * FROM tokens WHERE (kind = 'personal' AND account = @account)
         OR (kind = 'cache' AND cache IN (SELECT name FROM caches WHERE owner = @account))
       ORDER BY created_at, id`,
    ),
    accountBySlug: p("SELECT * FROM accounts WHERE slug = ?"),
    insertAccount: p(
      "INSERT OR IGNORE INTO accounts (slug, email, fullname, created_at) VALUES (?, ?, ?, ?)",
    ),

    insertMultipart: p(
      "INSERT INTO multipart (nar_id, upload_id, cache, compression, state, created_at, token_id) VALUES (?, ?, ?, ?, 'open', ?, ?)",
    ),
    multipart: p("SELECT * FROM multipart WHERE nar_id = ?"),
    openMultipartsBefore: p(
      "SELECT nar_id FROM multipart WHERE state IN ('open', 'completing') AND created_at < ? ORDER BY created_at",
    ).pluck(),
    openMultipartsOf: p(
      "SELECT COUNT(*) FROM multipart WHERE token_id = ? AND state IN ('open', 'completing')",
    ).pluck(),
    transitionMultipart: p("UPDATE multipart SET state = ? WHERE nar_id = ? AND state = ?"),
    putPart: p(
      `INSERT INTO parts (nar_id, part, etag, size) VALUES (?, ?, ?, ?)
       ON CONFLICT (nar_id, part) DO UPDATE SET etag = excluded.etag, size = excluded.size`,
    ),
    parts: p("SELECT part, etag, size FROM parts WHERE nar_id = ? ORDER BY part"),
    deleteParts: p("DELETE FROM parts WHERE nar_id = ?"),
    secret: p("SELECT value FROM server_secrets WHERE name = ?").pluck(),
    insertSecret: p("INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?, ?)"),

    insertTrustRule: p(
      `INSERT INTO trust_rules (id, cache, issuer, subject, claims, perm, created_at)
       VALUES (@id, @cache, @issuer, @subject, @claims, @perm, @createdAt)`,
    ),
    trustRules: p(
      `SELECT * FROM trust_rules WHERE (@cache IS NULL OR cache = @cache)
         AND (@issuer IS NULL OR issuer = @issuer) ORDER BY rowid`,
    ),
    removeTrustRule: p("DELETE FROM trust_rules WHERE cache = ? AND id = ?"),
    // --- the dashboard ---
    addPushes: p(
      `INSERT INTO push_activity (cache, minute, token_id, run_id, paths, bytes) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (cache, minute, token_id, run_id)
       DO UPDATE SET paths = paths + excluded.paths, bytes = bytes + excluded.bytes`,
    ),
    addLookups: p(
      `INSERT INTO narinfo_lookups (cache, hour, hits, misses) VALUES (?, ?, ?, ?)
       ON CONFLICT (cache, hour) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses`,
    ),
    prunePushes: p("DELETE FROM push_activity WHERE minute < ?"),
    pruneLookups: p("DELETE FROM narinfo_lookups WHERE hour < ?"),
    insertReport: p(
      `INSERT INTO ci_reports (cache, kind, commit_id, branch, run_id, run_url, token_id, created_at, ok, counts, targets)
       VALUES (@cache, @kind, @commit, @branch, @runId, @runUrl, @tokenId, @createdAt, @ok, @counts, @targets)
       RETURNING id`,
    ).pluck(),
    pruneReports: p(
      `DELETE FROM ci_reports WHERE cache = @cache AND branch IS @branch AND id <= (
         SELECT id FROM ci_reports WHERE cache = @cache AND branch IS @branch ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
    ),
    reportsOf: p(`SELECT ${REPORT_COLUMNS} WHERE r.cache = ? AND r.id < ? ORDER BY r.id DESC LIMIT ?`),
    reportsOfBranch: p(
      `SELECT ${REPORT_COLUMNS} WHERE r.cache = ? AND r.branch IS ? AND r.id < ? ORDER BY r.id DESC LIMIT ?`,
    ),
    latestReports: p(
      `SELECT ${REPORT_COLUMNS} WHERE r.id IN (SELECT MAX(id) FROM ci_reports WHERE cache = ? GROUP BY branch)
       ORDER BY r.id DESC`,
    ),
    report: p(`SELECT ${REPORT_COLUMNS.replace(" FROM", ", r.targets FROM")} WHERE r.cache = ? AND r.id = ?`),
    reportsOfRuns: p(
      `SELECT ${REPORT_COLUMNS} WHERE r.id IN (SELECT MAX(id) FROM ci_reports
         WHERE cache = ? AND run_id IN (SELECT value FROM json_each(?)) GROUP BY run_id)`,
    ),
    // Each reads an index only: narinfos_created, the lookups' key.
    lastPushAt: p("SELECT MAX(created_at) FROM narinfos WHERE cache = ?").pluck(),
    lookupsSince: p(
      "SELECT COALESCE(SUM(hits), 0) AS hits, COALESCE(SUM(misses), 0) AS misses FROM narinfo_lookups WHERE cache = ? AND hour >= ?",
    ),
    recentPushes: p(
      `SELECT a.cache, a.minute, a.token_id, a.run_id, a.paths, a.bytes, t.description, t.perm, t.kind
       FROM push_activity a LEFT JOIN tokens t ON t.id = a.token_id
       WHERE a.cache = @cache AND a.minute < @before AND a.minute >= COALESCE((SELECT MIN(minute) FROM
         (SELECT minute FROM push_activity WHERE cache = @cache AND minute < @before ORDER BY minute DESC LIMIT @limit)), 0)
       ORDER BY a.minute DESC, a.token_id, a.run_id`,
    ),
    narInfoRecord: p(
      "SELECT hash, store_path, url, text, visible, created_at, accessed_at FROM narinfos WHERE cache = ? AND hash = ?",
    ),
    putGcRun: p(
      `INSERT INTO gc_last_runs (cache, ended_at, deleted_paths, deleted_bytes) VALUES (?, ?, ?, ?)
       ON CONFLICT (cache) DO UPDATE SET ended_at = excluded.ended_at, deleted_paths = excluded.deleted_paths,
         deleted_bytes = excluded.deleted_bytes`,
    ),
    gcRun: p("SELECT cache, ended_at, deleted_paths, deleted_bytes FROM gc_last_runs WHERE cache = ?"),
    // Down from each pin's revisions through the references the GC follows: a pin's closure is
    // what it keeps (pins are few; an upward walk from a common path would cover the cache).
    pinsKeeping: p(
      `WITH RECURSIVE down(pin, h) AS (
         SELECT pin, hash FROM pin_entries WHERE cache = @cache
         UNION SELECT down.pin, r.ref FROM down JOIN narinfo_refs r ON r.cache = @cache AND r.hash = down.h)
       SELECT DISTINCT pin FROM down WHERE h = @hash ORDER BY pin`,
    ).pluck(),
    waitsOf: p(
      `SELECT w.ref AS hash, n.store_path FROM narinfo_waits w
       LEFT JOIN narinfos n ON n.cache = w.cache AND n.hash = w.ref WHERE w.cache = ? AND w.hash = ? ORDER BY w.ref`,
    ),
    isUpstream: p("SELECT EXISTS (SELECT 1 FROM upstream_paths WHERE cache = ? AND hash = ?)").pluck(),
  };
}
