// Issue 9, item 1: bounded memory whatever the upload. Real `nix copy` pushes a store path holding
// a 4 GiB zero-filled (sparse) file, once with zstd and once with xz, to `nixcache serve` running as
// its own process: the server's peak RSS (VmHWM) stays under 400 MB, the path is accepted, and
// /healthz answers while the NAR is being ingested. A zstd bomb is refused with 413 by the
// decompressed-size bound. One file, run in sequence: these are the suite's heaviest tests.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import { compressor } from "../../src/codec/compression.js";
import { nix32Encode } from "../../src/nix/nix32.js";
import { adminCreateCache, adminCreateToken } from "../../src/server/admin.js";
import { buildTrivial, freshNixEnv, nixAsync, requireNix } from "../helpers/nix.js";
import { peakRss, type Served, serve, stagedUploads } from "../helpers/serve.js";

const MB = 1e6;
const RSS_LIMIT = 400 * MB;
let dir: string;
let bigPath: string;

before(async () => {
  requireNix();
  dir = await mkdtemp(join(tmpdir(), "nixcache-large-"));
  // Sparse: 4 GiB of zeros that take no disk. The name is fixed so reruns reuse the store path.
  bigPath = buildTrivial("nixcache-test-zeros-4g", "mkdir $out; truncate -s 4G $out/zeros");
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setUpServer(tag: string, extra: string[] = []) {
  const data = join(dir, `data-${tag}`);
  await adminCreateCache(data, { name: "big", isPublic: true, priority: 41 });
  const token = (await adminCreateToken(data, { cache: "big", perm: "write", expiresAt: null })).token;
  const netrc = join(dir, `netrc-${tag}`);
  await writeFile(netrc, `machine 127.0.0.1 login nix password ${token}\n`, { mode: 0o600 });
  const server = await serve(data, ["--quiet", ...extra]);
  return { data, token, netrc, server };
}

/**
 * Polls /healthz while `work` runs; counts the answers that came back while a NAR was being
 * ingested (a staged upload existed both before the request and after its answer).
 */
async function healthDuring(server: Served, data: string, work: Promise<unknown>) {
  let done = false;
  let answeredDuringIngest = 0;
  let ingestSeen = false;
  const finished = work.finally(() => {
    done = true;
  });
  while (!done) {
    const before = stagedUploads(data).length > 0;
    ingestSeen ||= before;
    if (before) {
      const r = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      if (stagedUploads(data).length > 0) answeredDuringIngest++;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await finished;
  return { answeredDuringIngest, ingestSeen };
}

for (const compression of ["zstd", "xz"] as const) {
  test(`nix copy of a 4 GiB NAR with ${compression}: accepted, server peak RSS under 400 MB, /healthz answered meanwhile`, {
    timeout: 600_000,
  }, async (t) => {
    const { data, netrc, server } = await setUpServer(compression);
    try {
      const copy = nixAsync(
        "nix",
        [
          "copy",
          "--to",
          `${server.url}/big?compression=${compression}`,
          "--option",
          "netrc-file",
          netrc,
          bigPath,
        ],
        { env: freshNixEnv(dir) },
      );
      const health = await healthDuring(server, data, copy);
      const rss = peakRss(server.child.pid as number);
      t.diagnostic(
        `server peak RSS (VmHWM) ingesting a 4 GiB NAR with ${compression}: ${(rss / MB).toFixed(0)} MB`,
      );
      const hash = bigPath.slice("/nix/store/".length, "/nix/store/".length + 32);
      const ni = await fetch(`${server.url}/big/${hash}.narinfo`);
      assert.equal(ni.status, 200, "the path was accepted");
      const narSize = Number(/^NarSize: (\d+)$/m.exec(await ni.text())?.[1]);
      assert.ok(narSize > 4 * 1024 ** 3, `NarSize ${narSize}`);
      assert.ok(rss < RSS_LIMIT, `server peak RSS ${rss} bytes is over ${RSS_LIMIT}`);
      assert.ok(health.ingestSeen, "the ingest was observed");
      assert.ok(health.answeredDuringIngest > 0, "/healthz answered while the NAR was ingested");
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });
}

/** A NAR of one regular file of `size` zero bytes, streamed (never held in memory). */
async function* zeroNar(size: number): AsyncGenerator<Buffer> {
  const str = (s: string) => {
    const b = Buffer.from(s);
    const out = Buffer.alloc(8 + Math.ceil(b.length / 8) * 8);
    out.writeBigUInt64LE(BigInt(b.length));
    b.copy(out, 8);
    return out;
  };
  yield Buffer.concat(["nix-archive-1", "(", "type", "regular", "contents"].map(str));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(size));
  yield len;
  const zeros = Buffer.alloc(1 << 20);
  for (let left = size; left > 0; left -= zeros.length) yield zeros.subarray(0, Math.min(left, zeros.length));
  yield str(")");
}

test("a zstd bomb (2 GiB NAR in a few KB) is refused with 413 at the --max-nar-size bound, /healthz answered meanwhile", {
  timeout: 600_000,
}, async () => {
  const chunks: Buffer[] = [];
  for await (const c of Readable.from(zeroNar(2 * 1024 ** 3)).pipe(compressor("zstd"))) chunks.push(c);
  const bomb = Buffer.concat(chunks);
  assert.ok(bomb.length < 1 * MB, `bomb is ${bomb.length} bytes`);
  const { data, token, server } = await setUpServer("bomb", ["--max-nar-size", "1G"]);
  try {
    const url = `nar/${nix32Encode(createHash("sha256").update(bomb).digest())}.nar.zst`;
    const put = fetch(`${server.url}/big/${url}`, {
      method: "PUT",
      body: new Uint8Array(bomb),
      headers: { authorization: `Bearer ${token}` },
    });
    const health = await healthDuring(server, data, put);
    const r = await put;
    assert.equal(r.status, 413);
    assert.match(await r.text(), /decompressed NAR exceeds the limit of 1073741824 bytes/);
    assert.ok(health.answeredDuringIngest > 0, "/healthz answered while the bomb was inflating");
    assert.deepEqual(stagedUploads(data), [], "nothing of it is kept");
    assert.ok(peakRss(server.child.pid as number) < RSS_LIMIT);
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
});
