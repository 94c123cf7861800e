// Builds the dashboard's page into dist/ui/ (part of `npm run build`; the server serves it at
// /ui/): src/ui/main.ts bundled by esbuild into one app.js, beside index.html, app.css and
// icon.svg. Nothing is fetched at build or run time: the page uses no CDN, font or framework.
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const UI_SRC = path.join(ROOT, "src", "ui");
export const UI_OUT = path.join(ROOT, "dist", "ui");
const STATIC = ["index.html", "app.css", "icon.svg"];

export async function buildUi(outDir: string = UI_OUT): Promise<string[]> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(UI_SRC, "main.ts")],
    outfile: path.join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    charset: "utf8",
    logLevel: "warning",
  });
  for (const f of STATIC) await copyFile(path.join(UI_SRC, f), path.join(outDir, f));
  return (await readdir(outDir)).sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildUi();
  // On stderr: scripts that build first (the benches) print their results on stdout.
  process.stderr.write(`dist/ui: ${files.join(", ")}\n`);
}
