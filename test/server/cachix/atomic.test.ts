// Issue 9, item 7: with `serve --workers 2`, complete and abort of one multipart upload race in
// two processes; exactly one wins and the other gets 409, and what is stored agrees with the
// winner. A second complete is 409 too.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { adminCreateCache, adminCreateToken } from "../../../src/server/admin.js";
import { apiClient } from "../../helpers/cachix.js";
import { serve } from "../../helpers/serve.js";
import { makeUpload, narInfoCreateFor } from "../../helpers/uploads.js";

test("complete vs abort, and complete vs complete, across two worker processes: one winner, the loser 409", async () => {
  const data = await mkdtemp(join(tmpdir(), "nixcache-atomic-"));
  await adminCreateCache(data, { name: "team", isPublic: true, priority: 41 });
  const token = (await adminCreateToken(data, { cache: "team", perm: "write", expiresAt: null })).token;
  const server = await serve(data, ["--workers", "2", "--quiet"]);
  try {
    const api = apiClient(`${server.url}/api/v1`);
    // Each call on its own connection, so the two land on both workers.
    const fresh = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          connection: "close",
          "content-type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
    for (let round = 0; round < 6; round++) {
      const u = await makeUpload(`race-${round}`, "zstd", 2 << 20);
      const up = await api.startUpload(u, token);
      const complete = () =>
        fresh("POST", `${up.base}/complete?uploadId=${up.uploadId}`, {
          parts: up.parts,
          narInfoCreate: narInfoCreateFor(u),
        });
      const second =
        round % 2 === 0 ? () => fresh("POST", `${up.base}/abort?uploadId=${up.uploadId}`) : complete;
      const [a, b] = await Promise.all([complete(), second()]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [200, 409], `round ${round}: ${a.text} / ${b.text}`);
      const completed = a.status === 200 || round % 2 === 1;
      const ni = await fetch(`${server.url}/team/${u.hash}.narinfo`, { headers: { connection: "close" } });
      assert.equal(ni.status, completed ? 200 : 404, `round ${round}: the narinfo agrees with the winner`);
      await ni.arrayBuffer();
      const again = await complete();
      assert.equal(again.status, 409, `round ${round}: a later complete is refused: ${again.text}`);
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
    await rm(data, { recursive: true, force: true });
  }
});
