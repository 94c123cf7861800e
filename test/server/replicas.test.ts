// Stateless replicas: several `nixcache serve` on one PostgreSQL database and one bucket (real
// engines) share everything: what one accepts the others serve at once, a multipart upload moves
// between them, complete and abort race with one winner, real Nix copies to one and substitutes
// from another, and a replica killed mid-upload leaves nothing dangling for the others.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runNixProgram } from "../../src/local-nix/nix-command.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { openMetadata, openStorage, type StateLocation } from "../../src/server/state-location.js";
import { stateArgs, testStateLocation } from "../helpers/backends.js";
import { apiClient } from "../helpers/cachix.js";
import { nixSync, requireNix } from "../helpers/nix.js";
import { serve } from "../helpers/serve.js";
import { makeUpload, narInfoCreateFor, narInfoText, type Upload } from "../helpers/uploads.js";

let dir: string;
let at: StateLocation;
let key: string;
let token: string;
const replicas: RunningServer[] = [];

before(async () => {
  requireNix();
  dir = await mkdtemp(join(tmpdir(), "nixcache-replicas-"));
  at = await testStateLocation(join(dir, "unused"), "postgres+s3");
  key = (await adminCreateCache(at, { name: "main", isPublic: true, priority: 30 })).publicKey;
  token = (await adminCreateToken(at, { cache: "main", perm: "write", expiresAt: null })).token;
  for (let i = 0; i < 3; i++)
    replicas.push(await startServer({ db: at.db, storage: at.storage, port: 0, upstreams: [] }));
});

after(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  await rm(dir, { recursive: true, force: true });
});

const r = (i: number) => replicas[i] as RunningServer;

async function put(url: string, body: Buffer | string): Promise<number> {
  const res = await fetch(url, {
    method: "PUT",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${token}` },
  });
  await res.arrayBuffer();
  return res.status;
}

const status = async (url: string) => (await fetch(url)).status;

test("a narinfo accepted by one replica is served by the others at once", async () => {
  for (let round = 0; round < 5; round++) {
    const u = await makeUpload(`shared-${round}`);
    // Asked (and missed) first, so a replica's narinfo cache has had its chance to hold a miss.
    for (const i of [1, 2]) assert.equal(await status(`${r(i).url}/main/${u.hash}.narinfo`), 404);
    assert.equal(await put(`${r(0).url}/main/${u.url}`, u.file), 204);
    assert.equal(await put(`${r(0).url}/main/${u.hash}.narinfo`, narInfoText(u.narinfo)), 204);
    for (const i of [1, 2]) {
      assert.equal(await status(`${r(i).url}/main/${u.hash}.narinfo`), 200, `replica ${i}, round ${round}`);
      const nar = await fetch(`${r(i).url}/main/${u.url}`);
      assert.deepEqual(Buffer.from(await nar.arrayBuffer()), u.file);
    }
  }
});

test("a multipart upload started on one replica gets its part URL from another and completes on a third", async () => {
  const u = await makeUpload("moving", "zstd", 6 << 20);
  const [a, b, c] = [0, 1, 2].map((i) => apiClient(`${r(i).url}/api/v1`)) as [
    ReturnType<typeof apiClient>,
    ReturnType<typeof apiClient>,
    ReturnType<typeof apiClient>,
  ];
  const created = await a.call("POST", "/cache/main/multipart-nar?compression=zst", token);
  const { narId, uploadId } = created.json as { narId: string; uploadId: string };
  const parts = [u.file.subarray(0, 5 << 20), u.file.subarray(5 << 20)];
  const done: Array<{ partNumber: number; eTag: string }> = [];
  for (const [i, part] of parts.entries()) {
    const md5 = createHash("md5").update(part).digest("base64");
    const asked = await b.call(
      "POST",
      `/cache/main/multipart-nar/${narId}?uploadId=${uploadId}&partNumber=${i + 1}`,
      token,
      {
        contentMD5: md5,
      },
    );
    const url = (asked.json as { uploadUrl: string }).uploadUrl;
    const sent = await fetch(url, {
      method: "PUT",
      headers: { "content-md5": md5 },
      body: new Uint8Array(part),
    });
    assert.equal(sent.status, 200, await sent.text());
    done.push({ partNumber: i + 1, eTag: sent.headers.get("etag") ?? "" });
  }
  const completed = await c.call(
    "POST",
    `/cache/main/multipart-nar/${narId}/complete?uploadId=${uploadId}`,
    token,
    {
      parts: done,
      narInfoCreate: narInfoCreateFor(u),
    },
  );
  assert.equal(completed.status, 200, completed.text);
  assert.equal(await status(`${r(0).url}/main/${u.hash}.narinfo`), 200);
});

test("complete and abort racing on two replicas: one winner, decided by the database", async () => {
  for (let round = 0; round < 4; round++) {
    const u = await makeUpload(`race-${round}`);
    const up = await apiClient(`${r(0).url}/api/v1`).startUpload(u, token, [u.file], "main");
    const [complete, abort] = await Promise.all([
      apiClient(`${r(1).url}/api/v1`).call("POST", `${up.base}/complete?uploadId=${up.uploadId}`, token, {
        parts: up.parts,
        narInfoCreate: narInfoCreateFor(u),
      }),
      apiClient(`${r(2).url}/api/v1`).call("POST", `${up.base}/abort?uploadId=${up.uploadId}`, token),
    ]);
    const statuses = [complete.status, abort.status].sort();
    assert.deepEqual(statuses, [200, 409], `round ${round}: ${complete.text} / ${abort.text}`);
    const served = await status(`${r(0).url}/main/${u.hash}.narinfo`);
    assert.equal(served, complete.status === 200 ? 200 : 404, "the narinfo exists exactly when complete won");
  }
});

// Issue 30, item 14: each replica counted, then inserted: 109 uploads open against a limit of 100.
test("the per-token limit on open uploads holds across replicas opening at once", async () => {
  const limited: RunningServer[] = [];
  for (let i = 0; i < 2; i++)
    limited.push(
      await startServer({ db: at.db, storage: at.storage, port: 0, upstreams: [], maxOpenUploads: 4 }),
    );
  try {
    const own = (await adminCreateToken(at, { cache: "main", perm: "write", expiresAt: null })).token;
    const clients = limited.map((s) => apiClient(`${s.url}/api/v1`));
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (clients[i % 2] as ReturnType<typeof apiClient>).call(
          "POST",
          "/cache/main/multipart-nar?compression=zst",
          own,
        ),
      ),
    );
    const opened = answers.filter((a) => a.status === 200);
    assert.equal(opened.length, 4, answers.map((a) => a.status).join(" "));
    for (const a of answers.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 429, a.text);
      assert.match((a.json as { error: string }).error, /this token has 4 multipart uploads open/);
    }
    for (const a of opened) {
      const { narId, uploadId } = a.json as { narId: string; uploadId: string };
      const end = await clients[0]?.call(
        "POST",
        `/cache/main/multipart-nar/${narId}/abort?uploadId=${uploadId}`,
        own,
      );
      assert.equal(end?.status, 200, end?.text);
    }
  } finally {
    await Promise.all(limited.map((s) => s.close()));
  }
});

test("nix copy to one replica, nix-store -r from another", async () => {
  const seed = randomBytes(6).toString("hex");
  const expr = `let dep = derivation { name = "rep-dep"; system = builtins.currentSystem; builder = "/bin/sh";
      args = ["-c" "echo ${seed} > $out"]; PATH = "/usr/bin:/bin"; };
    in derivation { name = "rep-top"; system = builtins.currentSystem; builder = "/bin/sh";
      args = ["-c" "echo ${seed} \${dep} > $out"]; PATH = "/usr/bin:/bin"; }`;
  const top = nixSync("nix-build", ["--no-out-link", "-E", expr]).toString().trim();
  const dep = nixSync("nix-store", ["-q", "--references", top]).toString().trim();
  const contents = readFileSync(top, "utf8");
  const netrc = join(dir, "netrc");
  await writeFile(netrc, `machine 127.0.0.1 login nix password ${token}\n`, { mode: 0o600 });
  const env = { ...process.env, XDG_CACHE_HOME: join(dir, `xdg-${seed}`) };
  await runNixProgram(
    "nix",
    ["copy", "--to", `${r(0).url}/main?compression=zstd`, "--option", "netrc-file", netrc, top],
    { env },
  );
  nixSync("nix-store", ["--delete", top]);
  nixSync("nix-store", ["--delete", dep]);
  assert.ok(!existsSync(top));
  await runNixProgram(
    "nix-store",
    ["-r", top, "--option", "substituters", `${r(1).url}/main`, "--option", "trusted-public-keys", key],
    { env: { ...env, XDG_CACHE_HOME: join(dir, `xdg2-${seed}`) } },
  );
  assert.equal(readFileSync(top, "utf8"), contents);
  assert.ok(existsSync(dep));
});

/** Sends a NAR in slow pieces; resolves with the status, or the error when the connection dies. */
function slowPut(base: string, u: Upload, onHalf: () => void): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = httpRequest(`${base}/main/${u.url}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-length": String(u.file.length) },
    });
    req.on("error", (e) => resolve(e));
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    let off = 0;
    const step = 64 * 1024;
    const pump = () => {
      if (off >= u.file.length) return req.end();
      if (off >= u.file.length / 2 && off < u.file.length / 2 + step) onHalf();
      req.write(u.file.subarray(off, off + step), () => setTimeout(pump, 5));
      off += step;
    };
    pump();
  });
}

test("SIGKILL of a replica mid-upload: the other keeps serving, nothing dangles, the upload can be redone", async () => {
  const args = stateArgs({ db: at.db, storage: at.storage });
  const [one, two] = [
    await serve(join(dir, "x1"), [...args, "--no-upstream"]),
    await serve(join(dir, "x2"), [...args, "--no-upstream"]),
  ];
  try {
    const kept = await makeUpload("kept");
    assert.equal(await put(`${one.url}/main/${kept.url}`, kept.file), 204);
    assert.equal(await put(`${one.url}/main/${kept.hash}.narinfo`, narInfoText(kept.narinfo)), 204);
    const cut = await makeUpload("cut", "none", 3 << 20);
    const outcome = await slowPut(one.url, cut, () => one.child.kill("SIGKILL"));
    assert.ok(outcome instanceof Error || outcome !== 204, "the upload did not finish");
    await one.exited;
    // The other replica serves on, and knows nothing of the cut upload.
    assert.equal(await status(`${two.url}/main/${kept.hash}.narinfo`), 200);
    assert.equal(await status(`${two.url}/main/${cut.url}`), 404);
    const meta = await openMetadata(at);
    const storage = await openStorage(at);
    try {
      assert.equal(await meta.getNar("main", cut.url), undefined, "no record of the cut upload");
      for (const row of await meta.narInfoBlobs()) {
        assert.ok(row.blob, `${row.hash} names ${row.url}, which has no NAR`);
        assert.ok((await storage.blobSize(row.blob)) !== undefined, `${row.hash}'s blob is in the bucket`);
      }
    } finally {
      await meta.close();
    }
    assert.equal(await put(`${two.url}/main/${cut.url}`, cut.file), 204);
    assert.equal(await put(`${two.url}/main/${cut.hash}.narinfo`, narInfoText(cut.narinfo)), 204);
    assert.equal(await status(`${r(0).url}/main/${cut.hash}.narinfo`), 200);
  } finally {
    one.child.kill("SIGKILL");
    two.child.kill("SIGTERM");
    await two.exited;
  }
});

test("a replica on PostgreSQL reports its connection pool in /metrics", async () => {
  const text = await (await fetch(`${r(0).url}/metrics`)).text();
  const m = /^nixcache_db_pool_connections (\d+)$/m.exec(text);
  assert.ok(m, `nixcache_db_pool_connections is exported:\n${text.slice(0, 2000)}`);
  assert.ok(Number(m[1]) >= 1, "the pool holds a connection after the tests above");
  assert.match(text, /^nixcache_db_pool_waiting_requests \d+$/m);
});
