// `nixcache data copy`: a data directory (SQLite + files) moved to PostgreSQL + S3 (real engines),
// verified blob by blob, resumable, with a dry run; then served from the target as before.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, renameSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import {
  adminAddTrustRule,
  adminCreateCache,
  adminCreateToken,
  adminListTrustRules,
} from "../../src/server/admin.js";
import { copyDataBetween } from "../../src/server/copy-data.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { openMetadata } from "../../src/server/state-location.js";
import { runCli } from "../helpers/cli.js";
import { freshDatabase } from "../helpers/postgres.js";
import { freshStorageUrl } from "../helpers/s3.js";
import { CLIENT_KEY, LISTING, MARKED, NAR, NAR_BLOB, version9DataDir } from "../helpers/schema-fixtures.js";
import { makeUpload, narInfoText, type Upload } from "../helpers/uploads.js";

let dir: string;
let source: string;
let writeToken: string;
let privToken: string;
const pushed: Upload[] = [];
let pending: Upload;
const narinfoTexts = new Map<string, string>();
let reportId: number;

const base = (u: Upload) => u.storePath.slice("/nix/store/".length);

async function put(url: string, body: Buffer | string, token: string, type = "application/octet-stream") {
  const r = await fetch(url, {
    method: "PUT",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${token}`, "content-type": type },
  });
  assert.equal(r.status, 204, await r.text());
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "nixcache-copy-"));
  source = join(dir, "source");
  await adminCreateCache(source, { name: "main", isPublic: true, priority: 30 });
  await adminCreateCache(source, { name: "private", isPublic: false, priority: 41 });
  writeToken = (await adminCreateToken(source, { cache: "main", perm: "write", expiresAt: null })).token;
  privToken = (await adminCreateToken(source, { cache: "private", perm: "write", expiresAt: null })).token;
  await adminAddTrustRule(source, {
    cache: "main",
    issuer: "https://token.actions.githubusercontent.com",
    subject: "repo:example/flake:ref:refs/heads/main",
    perm: "write",
  });
  const srv = await startServer({ dataDir: source, port: 0, upstreams: [] });
  try {
    for (const [cache, token, name] of [
      ["main", writeToken, "lib"],
      ["main", writeToken, "app"],
      ["private", privToken, "secret-app"],
    ] as const) {
      const u = await makeUpload(name);
      if (name === "app") u.narinfo.references = [base(pushed[0] as Upload)];
      await put(`${srv.url}/${cache}/${u.url}`, u.file, token);
      await put(`${srv.url}/${cache}/${u.hash}.narinfo`, narInfoText(u.narinfo), token);
      pushed.push(u);
    }
    // One that waits for a reference never pushed: pending in the source, pending in the target.
    pending = await makeUpload("waits");
    pending.narinfo.references = [`${"0".repeat(32)}-never-pushed`];
    await put(`${srv.url}/main/${pending.url}`, pending.file, writeToken);
    await put(`${srv.url}/main/${pending.hash}.narinfo`, narInfoText(pending.narinfo), writeToken);
    await put(`${srv.url}/main/log/${base(pushed[1] as Upload)}`, "build log\n", writeToken, "text/plain");
    for (const [i, u] of pushed.entries()) {
      const cache = i === 2 ? "private" : "main";
      const r = await fetch(`${srv.url}/${cache}/${u.hash}.narinfo`, {
        headers: { authorization: `Bearer ${privToken}` },
      });
      assert.equal(r.status, 200);
      narinfoTexts.set(u.hash, await r.text());
    }
    // A CI report for the dashboard (pushes above were counted too).
    const rep = await fetch(`${srv.url}/api/v1/cache/main/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${writeToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        version: 1,
        kind: "ci",
        commit: "abcd1234",
        branch: "main",
        run: null,
        ok: true,
        targets: [],
      }),
    });
    assert.equal(rep.status, 201, await rep.clone().text());
    reportId = ((await rep.json()) as { id: number }).id;
  } finally {
    await srv.close();
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tables(db: string): Promise<number> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    const r = await c.query(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'",
    );
    return r.rows[0].n as number;
  } finally {
    await c.end();
  }
}

test("a dry run reads everything and writes nothing; the copy then serves the same from PostgreSQL + S3", async () => {
  const db = await freshDatabase();
  const storage = await freshStorageUrl("blobs");
  const dry = await runCli([
    "data",
    "copy",
    "--from-data",
    source,
    "--db",
    db,
    "--storage",
    storage,
    "--dry-run",
    "--json",
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  const dr = JSON.parse(dry.stdout);
  // --from, the old spelling of --from-data, is an alias: the same dry run says the same.
  const dryOld = await runCli([
    "data",
    "copy",
    "--from",
    source,
    "--db",
    db,
    "--storage",
    storage,
    "--dry-run",
    "--json",
  ]);
  assert.equal(dryOld.code, 0, dryOld.stderr);
  assert.deepEqual(JSON.parse(dryOld.stdout), dr);
  assert.equal(dr.dryRun, true);
  assert.equal(dr.records.narinfos, 4);
  assert.equal(dr.records.trustRules, 1);
  assert.equal(dr.records.reports, 1);
  assert.ok(dr.records.pushActivity >= 1, "the dashboard's push counts");
  assert.equal(dr.blobsCopied, 5, "four NARs and the log");
  assert.equal(await tables(db), 0, "not even the schema was made");

  const real = await runCli(["data", "copy", "--from-data", source, "--db", db, "--storage", storage]);
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /narinfos: 4 read, 4 new in the target/);
  assert.match(real.stdout, /blobs: copied 5 /);

  const again = await runCli(["data", "copy", "--from", source, "--db", db, "--storage", storage, "--json"]);
  assert.equal(again.code, 0, again.stderr);
  const ar = JSON.parse(again.stdout);
  assert.equal(ar.blobsCopied, 0, "a second run finds everything there");
  assert.equal(ar.blobsPresent, 5);
  assert.ok(
    Object.values(ar.written).every((n) => n === 0),
    JSON.stringify(ar.written),
  );

  assert.deepEqual(
    (await adminListTrustRules({ db }, "main")).map((r) => r.subject),
    ["repo:example/flake:ref:refs/heads/main"],
  );
  const srv: RunningServer = await startServer({ db, storage, port: 0, upstreams: [] });
  try {
    for (const [i, u] of pushed.entries()) {
      const cache = i === 2 ? "private" : "main";
      const auth = { authorization: `Bearer ${privToken}` };
      const ni = await fetch(`${srv.url}/${cache}/${u.hash}.narinfo`, { headers: auth });
      assert.equal(ni.status, 200);
      assert.equal(await ni.text(), narinfoTexts.get(u.hash), "the same signed narinfo");
      const nar = await fetch(`${srv.url}/${cache}/${u.url}`, { headers: auth });
      assert.deepEqual(Buffer.from(await nar.arrayBuffer()), u.file);
    }
    assert.equal((await fetch(`${srv.url}/private/${pushed[2]?.hash}.narinfo`)).status, 401, "still private");
    assert.equal((await fetch(`${srv.url}/main/${pending.hash}.narinfo`)).status, 404, "still waiting");
    const log = await fetch(`${srv.url}/main/log/${base(pushed[1] as Upload)}`);
    assert.equal(await log.text(), "build log\n");
    // The dashboard's report came with its id; a new one gets the next.
    const ui = (await (await fetch(`${srv.url}/api/v1/ui/caches/main`)).json()) as { report: { id: number } };
    assert.equal(ui.report.id, reportId);
    const next = await fetch(`${srv.url}/api/v1/cache/main/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${writeToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        version: 1,
        kind: "verify",
        commit: null,
        branch: "main",
        run: null,
        ok: true,
        targets: [],
      }),
    });
    assert.equal(next.status, 201, await next.clone().text());
    assert.ok(((await next.json()) as { id: number }).id > reportId);
    // The tokens came along: the old write token pushes to the new backends.
    const u = await makeUpload("after-move");
    await put(`${srv.url}/main/${u.url}`, u.file, writeToken);
    await put(`${srv.url}/main/${u.hash}.narinfo`, narInfoText(u.narinfo), writeToken);
  } finally {
    await srv.close();
  }
});

test("an interrupted copy resumes; a corrupt blob is reported, left out with what names it, exit 1", async () => {
  const db = await freshDatabase();
  const storage = await freshStorageUrl();
  const stop = new AbortController();
  let pages = 0;
  await assert.rejects(
    copyDataBetween(
      { dataDir: source },
      { db, storage },
      {
        pageSize: 1,
        signal: stop.signal,
        onProgress: () => {
          if (++pages === 4) stop.abort(new Error("interrupted"));
        },
      },
    ),
    /interrupted/,
  );
  const resumed = JSON.parse(
    (await runCli(["data", "copy", "--from", source, "--db", db, "--storage", storage, "--json"])).stdout,
  );
  assert.equal(resumed.records.narinfos, 4);
  assert.ok(resumed.written.caches < 2, "what the first run wrote was kept");

  // Flip a byte of the lib NAR's blob in the source.
  const blobs = join(source, "blobs");
  const libNar = pushed[0] as Upload;
  let corrupted = "";
  for (const shard of readdirSync(blobs))
    for (const f of readdirSync(join(blobs, shard))) {
      if (f === createHash("sha256").update(libNar.file).digest("hex")) {
        const bad = Buffer.from(libNar.file);
        bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
        writeFileSync(join(blobs, shard, f), bad);
        corrupted = f;
      }
    }
  assert.ok(corrupted);
  const db2 = await freshDatabase();
  const r = await runCli([
    "data",
    "copy",
    "--from",
    source,
    "--db",
    db2,
    "--storage",
    await freshStorageUrl(),
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`BAD blob ${corrupted}: its bytes hash to`));
  // Its NAR record and its narinfo, and app's narinfo: app references lib, so serving it would
  // serve a broken closure.
  assert.match(r.stdout, /3 records left out/);
  assert.match(
    r.stdout,
    new RegExp(
      `left out of cache "main": ${(pushed[1] as Upload).storePath} \\(its closure holds ${libNar.storePath}`,
    ),
  );
  const bad = await runCli(["data", "copy", "--from", source, "--db", db2]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--storage is missing/);
});

test("a data directory at schema version 9 (before one schema) is migrated and copied, Cachix settings and client keys with it", async () => {
  const old = version9DataDir();
  try {
    const db = await freshDatabase();
    const storage = await freshStorageUrl();
    const r = await runCli(["data", "copy", "--from", old.path, "--db", db, "--storage", storage, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.records.caches, 2);
    assert.equal(report.records.narinfos, 2);
    assert.equal(report.records.clientKeys, 1);
    assert.equal(report.records.sideFiles, 1);
    assert.equal(report.blobsCopied, 1);
    const meta = await openMetadata({ db });
    try {
      const c = await meta.getCache("old");
      assert.deepEqual([c?.owner, c?.managed, c?.compression], ["alice", false, "XZ"]);
      const plain = await meta.getCache("plain");
      assert.deepEqual([plain?.owner, plain?.managed, plain?.compression], [null, true, "ZSTD"]);
      assert.deepEqual(await meta.clientKeys("old"), [`client-1:${CLIENT_KEY}`]);
      assert.deepEqual(
        (await meta.tokensOfAccount("alice")).map((t) => t.id),
        ["tok_reader"],
      );
      assert.equal((await meta.getSideFile("old", "ls", MARKED))?.body.toString(), LISTING);
      assert.equal(await meta.getNarInfo("old", MARKED), "StorePath: marked\n");
      assert.equal((await meta.getNar("old", "nar/a.nar"))?.blob, NAR_BLOB);
      // The NAR's bytes and the listing's (listings count in the quota).
      assert.equal(await meta.cacheUsage("old"), NAR.length + Buffer.byteLength(LISTING));
    } finally {
      await meta.close();
    }
  } finally {
    old.cleanup();
  }
});

test("item 7: a blob missing from the source leaves out every path whose closure holds it; a rerun once it is back completes the copy", async () => {
  const src = join(dir, "closure-source");
  await adminCreateCache(src, { name: "c", isPublic: true, priority: 40 });
  const token = (await adminCreateToken(src, { cache: "c", perm: "write", expiresAt: null })).token;
  const [lost, mid, top, other] = [
    await makeUpload("lost"),
    await makeUpload("mid"),
    await makeUpload("top"),
    await makeUpload("other"),
  ];
  mid.narinfo.references = [base(lost)];
  top.narinfo.references = [base(mid)];
  const realisationId = `sha256:${createHash("sha256").update(mid.hash).digest("hex")}!out`;
  const srv = await startServer({ dataDir: src, port: 0, upstreams: [] });
  try {
    for (const u of [lost, mid, top, other]) {
      await put(`${srv.url}/c/${u.url}`, u.file, token);
      await put(`${srv.url}/c/${u.hash}.narinfo`, narInfoText(u.narinfo), token);
    }
    const text = JSON.stringify({ id: realisationId, outPath: base(mid), signatures: [] });
    await put(`${srv.url}/c/realisations/${realisationId}.doi`, text, token, "application/json");
  } finally {
    await srv.close();
  }
  const blob = createHash("sha256").update(lost.file).digest("hex");
  const blobFile = join(src, "blobs", blob.slice(0, 2), blob);
  renameSync(blobFile, `${blobFile}.away`);

  const db = await freshDatabase();
  const storage = await freshStorageUrl();
  const copy = () => runCli(["data", "copy", "--from", src, "--db", db, "--storage", storage]);
  const served = async () => {
    const s = await startServer({ db, storage, port: 0, upstreams: [] });
    try {
      const status = async (path: string) => {
        const r = await fetch(`${s.url}/c/${path}`);
        await r.arrayBuffer();
        return r.status;
      };
      const out: Record<string, number> = {};
      for (const [name, u] of Object.entries({ lost, mid, top, other })) {
        out[name] = await status(`${u.hash}.narinfo`);
        if (out[name] === 200) assert.equal(await status(u.url), 200, `the NAR of ${name}`);
      }
      out.realisation = await status(`realisations/${realisationId}.doi`);
      return out;
    } finally {
      await s.close();
    }
  };

  const first = await copy();
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stdout, new RegExp(`BAD blob ${blob}: missing from the source storage`));
  assert.match(
    first.stdout,
    new RegExp(`left out of cache "c": ${mid.storePath} \\(its closure holds ${lost.storePath}`),
  );
  assert.match(
    first.stdout,
    new RegExp(`left out of cache "c": ${top.storePath} \\(its closure holds ${lost.storePath}`),
  );
  assert.deepEqual(
    await served(),
    { lost: 404, mid: 404, top: 404, other: 200, realisation: 404 },
    "nothing whose closure lacks the lost path is served",
  );

  const still = await copy();
  assert.equal(still.code, 1, "a rerun with the blob still missing leaves the same out");
  assert.deepEqual((await served()).top, 404);

  renameSync(`${blobFile}.away`, blobFile);
  const rerun = await copy();
  assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
  assert.deepEqual(await served(), { lost: 200, mid: 200, top: 200, other: 200, realisation: 200 });
});
