// Generates the benchmark inputs: a tree of many small files (a typical store path is mostly
// small files) with a few executables and symlinks. Deterministic, so runs compare.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, countArg] = process.argv.slice(2);
if (!dir) throw new Error("usage: gen.ts DIR [FILES]");
const count = Number(countArg ?? 50000);
let seed = 42;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const perDir = 100;
for (let i = 0; i < count; i++) {
  const sub = join(dir, `d${Math.floor(i / perDir) % 50}`, `e${Math.floor(i / perDir)}`);
  if (i % perDir === 0) mkdirSync(sub, { recursive: true });
  const p = join(sub, `file-${i}.txt`);
  if (i % 97 === 0) {
    symlinkSync(`file-${i - 1}.txt`, p);
    continue;
  }
  writeFileSync(p, Buffer.alloc(rand(4096), i & 0xff));
  if (i % 13 === 0) chmodSync(p, 0o755);
}
