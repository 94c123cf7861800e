// One contract for every StorageBackend: the filesystem (fs.ts) and S3 (s3/, against a real
// Swift with s3api). Staged writes, commits (also of a blob that exists), discards that leave
// nothing, range and random-access reads, listing and deletion, multipart parts; then what only
// S3 has: direct multipart uploads and presigned GETs.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, describe, test } from "node:test";
import { parseStorageUrl, type S3Location } from "../../src/server/locations.js";
import type { StorageBackend } from "../../src/server/storage/backend.js";
import { FsStorage } from "../../src/server/storage/fs.js";
import { S3Storage } from "../../src/server/storage/s3/backend.js";
import { tempDir } from "../helpers/nix.js";
import { freshStorageUrl } from "../helpers/s3.js";

const MiB = 1024 * 1024;

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Writes `data` to a staged blob in chunks of `chunk` bytes and commits it under its hash. */
async function store(s: StorageBackend, data: Buffer, chunk = 64 * 1024): Promise<string> {
  const staged = await s.stageBlob();
  for (let i = 0; i < data.length; i += chunk) await staged.write(data.subarray(i, i + chunk));
  const hash = sha256(data);
  await staged.commit(hash);
  return hash;
}

interface Subject {
  storage: StorageBackend;
  /** Staged writes or parts still stored (must be none once committed or discarded). */
  leftovers(): Promise<string[]>;
}

async function s3Location(prefix = ""): Promise<S3Location> {
  return parseStorageUrl(await freshStorageUrl(prefix)) as S3Location;
}

/** Everything in the bucket that is not a blob, and every multipart upload in progress. */
async function s3Leftovers(s: S3Storage): Promise<string[]> {
  const objects = (await s.listObjects("")).map((o) => o.key).filter((k) => !/\/blobs\//.test(`/${k}`));
  const uploads = (await s.listMultipart("")).map((u) => `upload ${u.key}`);
  return [...objects, ...uploads];
}

const dirs: Array<{ cleanup(): void }> = [];
after(() => {
  for (const d of dirs) d.cleanup();
});

const subjects: Record<string, () => Promise<Subject>> = {
  fs: async () => {
    const d = tempDir("nixcache-storage-");
    dirs.push(d);
    const storage = new FsStorage(d.path);
    await storage.init();
    return {
      storage,
      leftovers: async () => {
        const tmp = await readdir(join(d.path, "tmp"));
        const parts: string[] = [];
        for (const u of await readdir(join(d.path, "multipart")).catch(() => [] as string[]))
          for (const f of await readdir(join(d.path, "multipart", u))) if (f.endsWith(".tmp")) parts.push(f);
        return [...tmp, ...parts];
      },
    };
  },
  // Parts of S3's smallest size and copies in ranges of it, so that a few MiB take every path:
  // single PUT, multipart upload, CopyObject and UploadPartCopy. Under a key prefix.
  s3: async () => {
    const storage = S3Storage.open(await s3Location("some/prefix"), {
      partBytes: 5 * MiB,
      copyPartBytes: 5 * MiB,
    });
    await storage.init();
    return { storage, leftovers: () => s3Leftovers(storage) };
  },
};

for (const [name, make] of Object.entries(subjects)) {
  describe(`StorageBackend contract: ${name}`, () => {
    let subject: Subject;
    const s = () => subject.storage;

    test("stage, commit, read back, list", async () => {
      subject = await make();
      assert.deepEqual(await s().listBlobs(), []);
      const small = Buffer.from("hello, storage\n");
      const large = randomBytes(12 * MiB + 12345);
      const empty = Buffer.alloc(0);
      const hashes = [await store(s(), small), await store(s(), large, 1 * MiB + 7), await store(s(), empty)];
      assert.deepEqual((await s().listBlobs()).sort(), [...hashes].sort());
      assert.equal(await s().blobSize(hashes[0] as string), small.length);
      assert.equal(await s().blobSize(hashes[1] as string), large.length);
      assert.equal(await s().blobSize(hashes[2] as string), 0);
      assert.deepEqual(await collect(s().readBlob(hashes[0] as string)), small);
      assert.ok((await collect(s().readBlob(hashes[1] as string))).equals(large));
      assert.equal((await collect(s().readBlob(hashes[2] as string))).length, 0);
      const modified = await s().blobModified(hashes[0] as string);
      assert.ok(modified !== undefined && modified > Date.now() - 60_000 && modified <= Date.now() + 5000);
      assert.deepEqual(await subject.leftovers(), []);
    });

    test("committing a blob that exists is a no-op that refreshes it", async () => {
      const data = Buffer.from(`same bytes ${name}`);
      const hash = await store(s(), data);
      const before = (await s().blobModified(hash)) as number;
      // Second resolution of LastModified on S3 (Swift's clock); a file's mtime has milliseconds.
      await new Promise((r) => setTimeout(r, name === "s3" ? 1100 : 20));
      assert.equal(await store(s(), data), hash);
      assert.deepEqual(await collect(s().readBlob(hash)), data);
      assert.ok(((await s().blobModified(hash)) as number) > before, "committed again: fresh for the sweep");
      assert.equal((await s().listBlobs()).filter((h) => h === hash).length, 1);
      assert.deepEqual(await subject.leftovers(), []);
    });

    test("range reads, to the end of the blob", async () => {
      const data = randomBytes(9 * MiB + 3);
      const hash = await store(s(), data, 3 * MiB);
      const size = data.length;
      for (const [start, end] of [
        [0, 0],
        [5, 17],
        [size - 1, size - 1],
        [size - 100, size - 1],
        [4 * MiB - 10, 4 * MiB + 10],
        [1, size - 2],
      ] as const) {
        const got = await collect(s().readBlob(hash, { start, end }));
        assert.ok(got.equals(data.subarray(start, end + 1)), `range ${start}-${end}`);
      }
    });

    test("openBlob: sequential and random reads, and past the end", async () => {
      const data = randomBytes(13 * MiB + 5);
      const hash = await store(s(), data, 2 * MiB);
      const r = await s().openBlob(hash);
      try {
        // Sequential 1 MiB reads, as send-blob.ts makes them, across several read-ahead windows.
        const buf = Buffer.alloc(MiB);
        const out: Buffer[] = [];
        for (let pos = 0; pos < data.length; ) {
          const { bytesRead } = await r.read(buf, 0, MiB, pos);
          assert.ok(bytesRead > 0);
          out.push(Buffer.from(buf.subarray(0, bytesRead)));
          pos += bytesRead;
        }
        assert.ok(Buffer.concat(out).equals(data));
        for (const pos of [7 * MiB + 11, 3, data.length - 2, 12 * MiB]) {
          const small = Buffer.alloc(100);
          const { bytesRead } = await r.read(small, 0, 100, pos);
          const want = data.subarray(pos, pos + 100);
          assert.equal(bytesRead, want.length);
          assert.ok(small.subarray(0, bytesRead).equals(want), `read at ${pos}`);
        }
        const { bytesRead } = await r.read(Buffer.alloc(10), 0, 10, data.length);
        assert.equal(bytesRead, 0);
      } finally {
        await r.close();
      }
      // Opened where reading starts (a range request), then read elsewhere too.
      const from = 5 * MiB + 1;
      const r2 = await s().openBlob(hash, from);
      try {
        for (const pos of [from, from + 100, 0]) {
          const b = Buffer.alloc(1000);
          assert.equal((await r2.read(b, 0, 1000, pos)).bytesRead, 1000);
          assert.ok(b.equals(data.subarray(pos, pos + 1000)), `read at ${pos}`);
        }
      } finally {
        await r2.close();
      }
    });

    test("missing blobs: size undefined, open rejects, delete is quiet", async () => {
      const missing = sha256(randomBytes(8));
      assert.equal(await s().blobSize(missing), undefined);
      assert.equal(await s().blobModified(missing), undefined);
      await assert.rejects(s().openBlob(missing));
      await assert.rejects(collect(s().readBlob(missing)));
      await s().deleteBlob(missing);
      await assert.rejects(s().openBlob("../../etc/passwd"), /invalid blob name/);
    });

    test("delete removes a blob from reads and the listing", async () => {
      const hash = await store(s(), Buffer.from(`to delete ${name}`));
      assert.ok((await s().listBlobs()).includes(hash));
      await s().deleteBlob(hash);
      assert.equal(await s().blobSize(hash), undefined);
      assert.ok(!(await s().listBlobs()).includes(hash));
    });

    test("discard leaves nothing, also of a write past one part, and twice", async () => {
      const before = (await s().listBlobs()).sort();
      for (const size of [100, 11 * MiB]) {
        const data = randomBytes(size);
        const staged = await s().stageBlob();
        await staged.write(data);
        await staged.discard();
        await staged.discard();
        assert.equal(await s().blobSize(sha256(data)), undefined);
      }
      assert.deepEqual((await s().listBlobs()).sort(), before);
      assert.deepEqual(await subject.leftovers(), []);
    });

    test("a write that fails midway leaves no blob", async () => {
      const before = (await s().listBlobs()).sort();
      const data = randomBytes(7 * MiB);
      const staged = await s().stageBlob();
      // The source fails after 6 MiB (one part uploaded): the caller discards, as ingest does.
      async function* failing() {
        yield data.subarray(0, 3 * MiB);
        yield data.subarray(3 * MiB, 6 * MiB);
        throw new Error("connection reset by client");
      }
      await assert.rejects(async () => {
        for await (const c of failing()) await staged.write(c);
      }, /connection reset/);
      await staged.discard();
      assert.equal(await s().blobSize(sha256(data)), undefined);
      assert.equal(await s().blobSize(sha256(data.subarray(0, 6 * MiB))), undefined);
      assert.deepEqual((await s().listBlobs()).sort(), before);
      assert.deepEqual(await subject.leftovers(), []);
    });

    test("multipart parts: stage, commit, replace, read in order, list, delete", async () => {
      const upload = "0b5d6d3e-5a53-4b8f-9d36-8f2f3c1e0a11";
      assert.equal(await s().partsLastWritten(upload), undefined);
      const p1 = randomBytes(6 * MiB);
      const p2 = Buffer.from("the last part");
      const put = async (n: number, data: Buffer) => {
        const staged = await s().stagePart(upload, n);
        for (let i = 0; i < data.length; i += MiB) await staged.write(data.subarray(i, i + MiB));
        await staged.commit();
      };
      await put(1, randomBytes(100));
      await put(2, p2);
      await put(1, p1);
      const dropped = await s().stagePart(upload, 3);
      await dropped.write(Buffer.from("never committed"));
      await dropped.discard();
      const got = await collect(s().readParts(upload, [1, 2]));
      assert.ok(got.equals(Buffer.concat([p1, p2])));
      await assert.rejects(collect(s().readParts(upload, [1, 3])));
      const last = await s().partsLastWritten(upload);
      assert.ok(last !== undefined && last > Date.now() - 60_000);
      assert.ok((await s().listPartUploads()).includes(upload));
      await s().deleteParts(upload);
      assert.equal(await s().partsLastWritten(upload), undefined);
      assert.ok(!(await s().listPartUploads()).includes(upload));
      assert.deepEqual(await subject.leftovers(), []);
      assert.throws(() => s().readParts("../x", [1]), /invalid upload name/);
    });
  });
}

describe("S3 only", () => {
  test("a large staged blob is copied in one request when under the range size", async () => {
    const storage = S3Storage.open(await s3Location(), { partBytes: 5 * MiB });
    await storage.init();
    const data = randomBytes(11 * MiB);
    const hash = await store(storage, data, MiB);
    assert.ok((await collect(storage.readBlob(hash))).equals(data));
    assert.deepEqual(await s3Leftovers(storage), []);
  });

  test("a reader slower than the idle timeout still gets every byte (the window is reopened)", async () => {
    const loc = await s3Location();
    const writer = S3Storage.open(loc);
    await writer.init();
    const data = randomBytes(9 * MiB);
    const hash = await store(writer, data, MiB);
    const reader = S3Storage.open(loc, { idleTimeoutMs: 1000 });
    const r = await reader.openBlob(hash);
    try {
      const buf = Buffer.alloc(MiB);
      const out: Buffer[] = [];
      for (let pos = 0; pos < data.length; ) {
        const { bytesRead } = await r.read(buf, 0, MiB, pos);
        out.push(Buffer.from(buf.subarray(0, bytesRead)));
        pos += bytesRead;
        // A client that stalls: the GET in progress times out meanwhile.
        if (pos === MiB) await new Promise((res) => setTimeout(res, 1600));
      }
      assert.ok(Buffer.concat(out).equals(data));
    } finally {
      await r.close();
    }
  });

  test("init with clearStaging drops staged writes a dead process left, once old enough", async () => {
    const loc = await s3Location();
    const dead = S3Storage.open(loc, { partBytes: 5 * MiB });
    await dead.init();
    const staged = await dead.stageBlob();
    await staged.write(randomBytes(6 * MiB)); // one part sent: a multipart upload in staging/
    assert.equal((await dead.listMultipart("staging/")).length, 1);
    // Another replica starting now keeps it (it may be in progress there) ...
    await S3Storage.open(loc).init({ clearStaging: true });
    assert.equal((await dead.listMultipart("staging/")).length, 1);
    // ... one that finds it older than its grace drops it.
    await new Promise((r) => setTimeout(r, 1100));
    await S3Storage.open(loc, { stagingGraceMs: 0 }).init({ clearStaging: true });
    assert.deepEqual(await s3Leftovers(dead), []);
  });

  test("init: a bucket that cannot be created is a clear error", async () => {
    const loc = await s3Location();
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = "not-the-secret";
    try {
      const storage = S3Storage.open(loc, { maxAttempts: 1 });
      await assert.rejects(storage.init(), (e: Error) => {
        assert.match(e.message, new RegExp(`bucket ${loc.bucket}`));
        assert.match(e.message, /127\.0\.0\.1/);
        assert.match(e.message, /403/);
        assert.ok(!e.message.includes("not-the-secret"), "no credentials in errors");
        return true;
      });
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
  });

  test("unreachable storage is 'unavailable', and quick", async () => {
    const storage = S3Storage.open(
      {
        kind: "s3",
        bucket: "nixcache-test-gone",
        prefix: "",
        endpoint: "http://127.0.0.1:9",
        region: "us-east-1",
        pathStyle: true,
      },
      {},
    );
    const t0 = Date.now();
    await assert.rejects(storage.blobSize(sha256(Buffer.from("x"))), (e: Error & { code?: string }) => {
      assert.equal(e.code, "unavailable");
      assert.match(e.message, /object storage unreachable/);
      assert.match(e.message, /ECONNREFUSED/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, "errors within seconds");
  });

  test("direct uploads: presigned parts bound to Content-MD5, list, complete, commit, abort", async () => {
    const storage = S3Storage.open(await s3Location("p"));
    await storage.init();
    const direct = storage.direct;
    const narId = "7c0e4f1a-9f4b-4a64-8d0e-3c2a5b6d7e8f";
    const uploadId = await direct.createUpload(narId);
    const parts = [randomBytes(5 * MiB), Buffer.from("tail")];
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) {
      const md5 = createHash("md5").update(part).digest("base64");
      const url = await direct.partUrl(narId, uploadId, i + 1, md5, 60_000);
      assert.ok(url.startsWith(`${storage.loc.endpoint}/`), url);
      const bad = await fetch(url, {
        method: "PUT",
        headers: { "content-md5": md5 },
        body: randomBytes(part.length),
      });
      assert.equal(bad.status, 400, "other bytes than the MD5 was signed for");
      await bad.arrayBuffer();
      const ok = await fetch(url, { method: "PUT", headers: { "content-md5": md5 }, body: part });
      assert.equal(ok.status, 200, await ok.text());
      etags.push(ok.headers.get("etag") ?? "");
      assert.equal(etags[i], `"${createHash("md5").update(part).digest("hex")}"`);
    }
    const listed = await direct.listParts(narId, uploadId);
    assert.deepEqual(
      listed?.map((p) => [p.part, p.etag, p.size]),
      parts.map((p, i) => [i + 1, etags[i], p.length]),
    );
    assert.deepEqual(
      (await direct.listUploads()).map((u) => [u.narId, u.uploadId]),
      [[narId, uploadId]],
    );
    const done = parts.map((_, i) => ({ part: i + 1, etag: etags[i] as string }));
    const a = await direct.complete(narId, uploadId, done);
    const whole = Buffer.concat(parts);
    assert.equal(a.size, whole.length);
    assert.ok((await collect(a.read())).equals(whole));
    // Completing again (a retry after a failure) finds the same object.
    assert.equal((await direct.complete(narId, uploadId, done)).size, whole.length);
    const hash = sha256(whole);
    await a.commit(hash);
    assert.ok((await collect(storage.readBlob(hash))).equals(whole));
    assert.deepEqual(await direct.listUploads(), []);

    // Presigned GET: anyone with the URL reads the blob, ranges too.
    const url = await storage.presignGet(hash, 60_000, { contentType: "application/x-nix-nar" });
    const got = await fetch(url);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("content-type"), "application/x-nix-nar");
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole));
    const ranged = await fetch(url, { headers: { range: "bytes=10-19" } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(whole.subarray(10, 20)));

    // A wrong ETag is refused; abort drops the upload.
    const other = "5d6e7f80-1a2b-4c3d-8e9f-a0b1c2d3e4f5";
    const id2 = await direct.createUpload(other);
    const md5 = createHash("md5").update("x").digest("base64");
    const put = await fetch(await direct.partUrl(other, id2, 1, md5, 60_000), {
      method: "PUT",
      headers: { "content-md5": md5 },
      body: "x",
    });
    assert.equal(put.status, 200);
    await assert.rejects(
      direct.complete(other, id2, [{ part: 1, etag: `"${"0".repeat(32)}"` }]),
      (e: Error & { code?: string }) => e.code === "invalid" && /refused the parts/.test(e.message),
    );
    await direct.abort(other, id2);
    assert.equal(await direct.listParts(other, id2), undefined);
    assert.deepEqual(await s3Leftovers(storage), []);
  });
});
