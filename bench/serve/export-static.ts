// Exports one cache of a nixcache data directory as a static Nix binary cache (what nginx serves):
// the same narinfo texts and the same NAR bytes (hard links to the blobs), plus nix-cache-info.
// Prints the narinfo hashes and NAR URLs as JSON for the bench client.
// Usage: node --import tsx bench/serve/export-static.ts DATA CACHE OUTDIR
import { linkSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openMetadata } from "../../src/server/state-location.js";

const [data, cache, out] = process.argv.slice(2) as [string, string, string];
const meta = await openMetadata({ dataDir: data });
const row = await meta.getCache(cache);
if (!row) throw new Error(`no cache ${cache}`);
mkdirSync(join(out, "nar"), { recursive: true });
writeFileSync(
  join(out, "nix-cache-info"),
  `StoreDir: /nix/store\nWantMassQuery: 1\nPriority: ${row.priority}\n`,
);
const hashes: string[] = [];
const nars: Array<{ url: string; size: number }> = [];
const seen = new Set<string>();
for (const r of await meta.narInfoBlobs()) {
  if (r.cache !== cache || !r.blob) continue;
  const text = (await meta.getNarInfo(cache, r.hash)) as string;
  writeFileSync(join(out, `${r.hash}.narinfo`), text);
  const up = await meta.getNar(cache, r.url);
  hashes.push(r.hash);
  // Paths with identical contents share one NAR URL: link and fetch it once.
  if (!seen.has(r.url)) {
    seen.add(r.url);
    linkSync(join(data, "blobs", r.blob.slice(0, 2), r.blob), join(out, r.url));
    nars.push({ url: r.url, size: up?.fileSize ?? 0 });
  }
}
await meta.close();
process.stdout.write(`${JSON.stringify({ hashes, nars })}\n`);
