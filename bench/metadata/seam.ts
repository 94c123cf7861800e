// What the metadata store costs per call on each engine, through `openMetadata` (the path every
// server request takes): narinfo lookups (hits and misses), the 32,768-hash bulk query, narinfo
// commits and a flush of access times. Run it on two checkouts to compare them (the store written
// once over the sql seam against the two stores before it):
//
//   node --import tsx bench/metadata/seam.ts [--rows 100000] [--pg postgres://…]
//
// Prints JSON: per engine, calls per second of each operation (median of three rounds).
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { formatNarInfo } from "../../src/nix/narinfo.js";
import { nix32Encode } from "../../src/nix/nix32.js";
import { adminCreateCache } from "../../src/server/admin.js";
import type { NarInfoRecord } from "../../src/server/metadata/records.js";
import type { MetadataStore } from "../../src/server/metadata/store.js";
import { openMetadata, type StateLocation } from "../../src/server/state-location.js";

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const ROWS = Number(arg("rows") ?? 100_000);
const PG = arg("pg") ?? process.env.NIXCACHE_TEST_PG;

function record(i: number): NarInfoRecord {
  const hash = nix32Encode(randomBytes(20));
  const storePath = `/nix/store/${hash}-bench-${i}`;
  const url = `nar/${nix32Encode(createHash("sha256").update(storePath).digest())}.nar.zst`;
  const text = formatNarInfo({
    storePath,
    url,
    compression: "zstd",
    fileHash: { algo: "sha256", digest: createHash("sha256").update(url).digest() },
    fileSize: 40_000,
    narHash: { algo: "sha256", digest: createHash("sha256").update(storePath).digest() },
    narSize: 120_000,
    references: [],
    sigs: [],
    extra: [],
  });
  return { cache: "b", hash, storePath, url, text, createdAt: Date.now(), visible: true, waitsFor: [] };
}

async function rate(n: number, f: (i: number) => Promise<unknown>): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await f(i);
    rounds.push(n / ((performance.now() - t0) / 1000));
  }
  return Math.round(rounds.sort((a, b) => a - b)[1] as number);
}

async function measure(at: StateLocation): Promise<Record<string, number>> {
  await adminCreateCache(at, { name: "b", isPublic: true, priority: 40 });
  const meta: MetadataStore = await openMetadata(at);
  try {
    const hashes: string[] = [];
    for (let n = 0; n < ROWS; n += 5000) {
      const batch = Array.from({ length: Math.min(5000, ROWS - n) }, (_, i) => record(n + i));
      for (const r of batch) hashes.push(r.hash);
      await meta.importRecords("narinfos", batch);
    }
    const pick = (i: number) => hashes[(i * 7919) % hashes.length] as string;
    const bulk = Array.from({ length: 32_768 }, (_, i) => (i % 2 ? pick(i) : nix32Encode(randomBytes(20))));
    const commits = Array.from({ length: 3 * 2000 }, (_, i) => record(ROWS + i));
    let c = 0;
    return {
      getNarInfoHit: await rate(20_000, (i) => meta.getNarInfo("b", pick(i))),
      getNarInfoMiss: await rate(20_000, () => meta.getNarInfo("b", "0".repeat(32))),
      bulk32768: await rate(3, () => meta.missingNarInfos("b", bulk)),
      commitNarInfo: await rate(2000, async () => {
        const r = commits[c++] as NarInfoRecord;
        await meta.recordNar({
          cache: "b",
          url: r.url,
          blob: r.hash,
          compression: "zstd",
          narHash: "sha256:x",
          narSize: 1,
          fileHash: "sha256:y",
          fileSize: 1,
        });
        return meta.commitNarInfo({ ...r, references: [] });
      }),
      recordAccess1000: await rate(20, (i) =>
        meta.recordAccess(
          Array.from({ length: 1000 }, (_, j) => ({ cache: "b", hash: pick(i * 1000 + j), at: Date.now() })),
        ),
      ),
    };
  } finally {
    await meta.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), "nixcache-bench-seam-"));
try {
  const out: Record<string, Record<string, number>> = {
    sqlite: await measure({ dataDir: join(dir, "sqlite") }),
  };
  if (PG) {
    const u = new URL(PG);
    const name = `seam_${randomBytes(4).toString("hex")}`;
    const pg = (await import("pg")).default;
    const admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    u.pathname = `/${name}`;
    out.postgres = await measure({ db: u.href, dataDir: join(dir, "pg") });
  }
  console.log(JSON.stringify({ rows: ROWS, ...out }, null, 1));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
