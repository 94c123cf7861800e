// Multipart uploads that clients abandoned: at the next server start their part files are removed
// and they are marked aborted (their part URLs and `complete` then refuse), while uploads that are
// recent, or old but still receiving parts, are kept and can still be completed.
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { CachixApi, CachixApiError } from "../../../src/caches/cachix/client.js";
import { adminCreatePersonalToken } from "../../../src/server/admin.js";
import { PART_URL_TTL_MS } from "../../../src/server/ingest/part-urls.js";
import { type RunningServer, startServer } from "../../../src/server/server.js";
import { tempDir } from "../../helpers/nix.js";
import { makeUpload, narInfoCreateFor } from "../../helpers/uploads.js";

test("server start aborts stale multipart uploads and removes their parts; live ones are kept", async () => {
  const dir = tempDir("nixcache-cachix-stale-");
  let srv: RunningServer | undefined = await startServer({ dataDir: dir.path, port: 0 });
  const token = (await adminCreatePersonalToken(dir.path, { account: "sweeper", expiresAt: null })).token;
  const client = (s: RunningServer) => new CachixApi({ apiUrl: `${s.url}/api/v1`, token });
  let api = client(srv);
  try {
    await api.createCache("stale", { isPublic: true, generateSigningKey: true });
    const sendPart = async (narId: string, uploadId: string, body: Buffer) => {
      const md5 = createHash("md5").update(body).digest("base64");
      const { uploadUrl } = await api.partUrl("stale", narId, uploadId, 1, md5);
      const eTag = await api.putPart(uploadUrl, body, md5);
      return { uploadUrl, md5, eTag };
    };
    const partsDir = (narId: string) => join(dir.path, "multipart", narId);

    // abandoned: created and sent a part, then nothing for longer than a part URL lives.
    const a = await api.createMultipart("stale", "zst");
    const aPart = await sendPart(a.narId, a.uploadId, Buffer.from("abandoned part"));
    // empty: created, never sent anything.
    const b = await api.createMultipart("stale", "zst");
    // slow: created long ago too, but its last part arrived just now.
    const slowNar = await makeUpload("slow");
    const c = await api.createMultipart("stale", "zst");
    const cPart = await sendPart(c.narId, c.uploadId, slowNar.file);
    // fresh: created just now.
    const freshNar = await makeUpload("fresh");
    const d = await api.createMultipart("stale", "zst");
    const dPart = await sendPart(d.narId, d.uploadId, freshNar.file);
    assert.ok(existsSync(partsDir(a.narId)) && existsSync(partsDir(c.narId)));

    // Time passes for the first three: two part-URL lifetimes ago, as the database and files say.
    const longAgo = Date.now() - 2 * PART_URL_TTL_MS;
    const sqlite = new Database(join(dir.path, "nixcache.db"));
    const setCreated = sqlite.prepare("UPDATE multipart SET created_at = ? WHERE nar_id = ?");
    for (const id of [a.narId, b.narId, c.narId]) setCreated.run(longAgo, id);
    sqlite.close();
    await utimes(join(partsDir(a.narId), "1"), longAgo / 1000, longAgo / 1000);
    // A part directory no upload owns (a crash between an abort's state change and its removal).
    const orphan = partsDir(randomUUID());
    await mkdir(orphan, { recursive: true });
    await writeFile(join(orphan, "1"), "left behind");

    await api.close();
    await srv.close();
    srv = await startServer({ dataDir: dir.path, port: 0 });
    api = client(srv);
    const meta = srv.meta;

    for (const [what, id] of [
      ["abandoned", a.narId],
      ["empty", b.narId],
    ] as const) {
      assert.equal((await meta.getMultipart(id))?.state, "aborted", what);
      assert.equal(existsSync(partsDir(id)), false, `${what}: part files removed`);
      assert.deepEqual(await meta.parts(id), [], `${what}: part rows removed`);
    }
    assert.equal(existsSync(orphan), false, "orphan part directory removed");
    // The abandoned upload's part URL (still within its own lifetime; the restarted server
    // listens on another port) and its completion refuse.
    const aUrl = new URL(aPart.uploadUrl);
    aUrl.host = new URL(srv.url).host;
    await assert.rejects(api.putPart(aUrl.href, Buffer.from("abandoned part"), aPart.md5), (e) => {
      assert.ok(e instanceof CachixApiError);
      assert.equal(e.status, 404);
      assert.match(e.message, /aborted/);
      return true;
    });
    await assert.rejects(
      api.complete("stale", a.narId, a.uploadId, {
        parts: [{ partNumber: 1, eTag: aPart.eTag }],
        narInfoCreate: narInfoCreateFor(slowNar),
      }),
      /already aborted/,
    );

    // The slow and the fresh uploads were left alone and complete normally.
    for (const [what, up, part, u] of [
      ["slow", c, cPart, slowNar],
      ["fresh", d, dPart, freshNar],
    ] as const) {
      assert.equal((await meta.getMultipart(up.narId))?.state, "open", what);
      await api.complete("stale", up.narId, up.uploadId, {
        parts: [{ partNumber: 1, eTag: part.eTag }],
        narInfoCreate: narInfoCreateFor(u),
      });
      assert.equal(await api.narInfoText("stale", u.hash).then((t) => t !== null), true, what);
      assert.equal(existsSync(partsDir(up.narId)), false, `${what}: parts removed once completed`);
    }
  } finally {
    await api.close();
    await srv?.close();
    dir.cleanup();
  }
});
