// Builds the GitHub Action's bundle (dist/action/, committed; action.yml runs it with node24):
// src/action/main.ts and post.ts with everything they import, in ES modules with a shared
// chunk, plus eval-targets.nix (read beside the code at run time). The codec seam: every import
// of src/codec/backend.ts (native addons: zstd-napi, lzma-native) resolves to
// src/codec/portable.ts (node:zlib only), so the bundle carries no platform-specific binary.
// `npm test` rebuilds into a temporary directory and fails when the committed bundle differs
// (test/e2e/action/bundle.test.ts). Run: npm run build:action
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ACTION_DIST = path.join(ROOT, "dist", "action");

const CODEC_DIR = path.join(ROOT, "src", "codec");

/** src/codec/backend.ts → src/codec/portable.ts, for imports from src/codec/ (its only importers). */
const portableCodecs: Plugin = {
  name: "nixcache-portable-codecs",
  setup(b) {
    b.onResolve({ filter: /^\.\/backend\.js$/ }, (args) =>
      path.resolve(args.resolveDir) === CODEC_DIR ? { path: path.join(CODEC_DIR, "portable.ts") } : undefined,
    );
  },
};

/** Builds the bundle into `outDir` (emptied first); returns the names of the files written. */
export async function buildActionBundle(outDir: string = ACTION_DIST): Promise<string[]> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    absWorkingDir: ROOT,
    // A worktree's node_modules may be a symlink to another checkout's: keep the paths the bundle's
    // comments name (`// node_modules/…`) as they are here, so every checkout builds the same bytes.
    preserveSymlinks: true,
    entryPoints: { main: "src/action/main.ts", post: "src/action/post.ts" },
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    chunkNames: "[name]-[hash]",
    format: "esm",
    platform: "node",
    // The runners run node24; the tests here run the same bundle on Node 20.
    target: "node20",
    // CommonJS dependencies (undici, @actions/*) call require() for Node's own modules.
    banner: {
      js: 'import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);',
    },
    legalComments: "eof",
    charset: "utf8",
    logLevel: "warning",
    plugins: [portableCodecs],
  });
  await copyFile(
    path.join(ROOT, "src", "local-nix", "eval-targets.nix"),
    path.join(outDir, "eval-targets.nix"),
  );
  return (await readdir(outDir)).sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildActionBundle();
  process.stdout.write(`wrote ${files.map((f) => path.join("dist", "action", f)).join(", ")}\n`);
}
