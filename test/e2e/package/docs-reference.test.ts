// The docs stay in step with the code: docs/reference/cli.md is exactly what
// scripts/gen-cli-reference.ts renders from every command's --help, and every relative link in
// README.md, CONTRIBUTING.md and docs/ names a file that exists (and a heading there, for #anchors).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { anchor, CLI_REFERENCE, renderCliReference } from "../../../scripts/gen-cli-reference.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return markdownFiles(p);
    return name.endsWith(".md") ? [p] : [];
  });
}

/** The text outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchors for a file's headings (a repeated heading gets -1, -2, ...). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = anchor((m[1] ?? "").replace(/`/g, ""));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("docs", () => {
  test("docs/reference/cli.md is what the commands' --help say", async () => {
    const fresh = await renderCliReference();
    const committed = existsSync(CLI_REFERENCE) ? readFileSync(CLI_REFERENCE, "utf8") : "";
    if (fresh !== committed) {
      const a = committed.split("\n");
      const b = fresh.split("\n");
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      assert.fail(
        `docs/reference/cli.md is out of date: run npm run docs:cli\n` +
          `first difference at line ${i + 1}:\n  committed: ${a[i] ?? "(end of file)"}\n  --help:    ${b[i] ?? "(end of file)"}`,
      );
    }
  });

  test("every relative link in README.md, CONTRIBUTING.md and docs/ resolves", () => {
    const files = [
      path.join(ROOT, "README.md"),
      path.join(ROOT, "CONTRIBUTING.md"),
      ...markdownFiles(path.join(ROOT, "docs")),
    ];
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const m of prose(text).matchAll(/!?\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
        const target = m[1] ?? "";
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [rel = "", hash] = target.split("#", 2);
        const dest = rel === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(rel));
        const where = `${path.relative(ROOT, file)}: ${target}`;
        if (!existsSync(dest)) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (hash !== undefined && dest.endsWith(".md") && !anchors(readFileSync(dest, "utf8")).has(hash))
          broken.push(`${where} (no heading #${hash} in ${path.relative(ROOT, dest)})`);
      }
    }
    assert.deepEqual(broken, [], `broken links:\n${broken.join("\n")}`);
  });

  test("the README stays short and opens with the two commands", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    assert.ok(
      readme.split("\n").length <= 150,
      `README.md has ${readme.split("\n").length} lines (at most 150)`,
    );
    const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)\n```/gm)].map((m) => m[1]);
    assert.deepEqual(blocks.slice(0, 2), ["npm ci && npm run build && npm run demo", "npm ci && npm test"]);
  });
});
