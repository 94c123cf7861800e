// Pieces several views share: status labels (words and a symbol, never colour alone), times,
// links between views, tables that scroll on narrow screens, the coverage matrix.
import type { CellStatus, MatrixCell, ReportMatrix, ReportSummary, StatusCounts } from "../ui-api/types.js";
import { append, type Child, h } from "./dom.js";
import { baseName, isoTime, localTime, plural, shortCommit, timeAgo } from "./format.js";

export const STATUS: Record<CellStatus, { icon: string; word: string; help: string }> = {
  ok: { icon: "✓", word: "ok", help: "substitutable: the output and its closure are in the cache, signed" },
  missing: { icon: "✗", word: "missing", help: "the output or part of its closure is in no cache" },
  unsigned: { icon: "!", word: "unsigned", help: "present, but not signed by a trusted key" },
  "eval-failed": { icon: "⚠", word: "eval failed", help: "the attribute did not evaluate" },
  "not-built": {
    icon: "–",
    word: "not built",
    help: "not built by this run (another system) and not in the cache",
  },
};

export const STATUS_ORDER: readonly CellStatus[] = ["ok", "missing", "unsigned", "eval-failed", "not-built"];

export function statusLabel(s: CellStatus): HTMLElement {
  const st = STATUS[s];
  return h(
    "span",
    { class: `status st-${s}` },
    h("span", { class: "icon", attrs: { "aria-hidden": "true" } }, st.icon),
    " ",
    st.word,
  );
}

export function time(ms: number | null): Child {
  if (ms === null) return "never";
  return h("time", { datetime: isoTime(ms), title: localTime(ms) }, timeAgo(ms));
}

export const routes = {
  home: () => "#/",
  cache: (c: string, branch?: string | null) =>
    branch === undefined ? `#/cache/${enc(c)}` : `#/cache/${enc(c)}/branch/${enc(branch ?? "")}`,
  report: (c: string, id: number) => `#/cache/${enc(c)}/report/${id}`,
  history: (c: string, branch: string | null) => `#/cache/${enc(c)}/history/${enc(branch ?? "")}`,
  path: (c: string, q: string) => `#/cache/${enc(c)}/path/${enc(q)}`,
  /** A build log's page: `drv` is the derivation's base name (`<hash>-<name>.drv`). */
  log: (c: string, drv: string) => `#/cache/${enc(c)}/log/${enc(drv)}`,
};

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** A table in a region that scrolls sideways when it is wider than the screen. */
export function scrolling(label: string, table: HTMLTableElement): HTMLElement {
  return h("div", { class: "scroll", role: "region", tabindex: 0, attrs: { "aria-label": label } }, table);
}

export function countsLine(c: StatusCounts): string {
  const parts = STATUS_ORDER.filter((s) => c[s] > 0).map((s) => `${c[s]} ${STATUS[s].word}`);
  return `${parts.join(", ") || "no targets"} (of ${plural(c.total, "target")})`;
}

export function branchName(b: string | null): string {
  return b ?? "(no branch)";
}

/** "Commit abc on main, 3 minutes ago, by CI token (verify)". */
export function reportLine(r: ReportSummary, cache: string): HTMLElement {
  return h(
    "p",
    { class: "report-line" },
    h("span", { class: r.ok ? "verdict ok" : "verdict bad" }, r.ok ? "Passed" : "Failed"),
    " · ",
    r.kind === "ci" ? "nixcache ci" : "nixcache verify",
    " of ",
    r.commit ? h("code", null, shortCommit(r.commit)) : "an unknown commit",
    " on ",
    h("a", { href: routes.history(cache, r.branch) }, branchName(r.branch)),
    ", ",
    time(r.createdAt),
    r.by ? [" by ", h("span", { class: "who" }, r.by)] : null,
    r.run ? [" · run ", runLink(r.run)] : null,
  );
}

export function runLink(run: { id: string; url: string | null }): Child {
  return run.url ? h("a", { href: run.url, attrs: { rel: "noreferrer noopener" } }, run.id) : run.id;
}

function cellContent(cache: string, c: MatrixCell): Child[] {
  const out: Child[] = [statusLabel(c.status)];
  const members: Array<[string, string[], number]> = [
    ["missing", c.missing, c.missingCount],
    ["unsigned", c.unsigned, c.unsignedCount],
  ];
  for (const [what, paths, count] of members) {
    // A target no machine built yet lacks its whole closure: the word says it all.
    if (count === 0 || c.status === "not-built") continue;
    out.push(
      h(
        "details",
        { class: "members" },
        h("summary", null, `${plural(count, "path")} ${what}`),
        h(
          "ul",
          null,
          paths.map((p) => h("li", null, h("a", { href: routes.path(cache, p) }, attrText(baseName(p))))),
          count > paths.length ? h("li", null, `and ${count - paths.length} more`) : null,
        ),
      ),
    );
  }
  if (c.detail) out.push(h("p", { class: "detail" }, c.detail));
  if (c.drvPath)
    out.push(
      h(
        "p",
        { class: "log-link" },
        h(
          "a",
          {
            href: routes.log(cache, c.drvPath.slice(c.drvPath.lastIndexOf("/") + 1)),
            attrs: { "aria-label": `Build log of ${c.attr}` },
          },
          "Build log",
        ),
      ),
    );
  return out;
}

/** The coverage matrix: targets down, systems across; each cell its status in words. */
export function matrixTable(cache: string, r: ReportMatrix): HTMLElement {
  if (r.rows.length === 0) return h("p", null, "This report has no targets.");
  const caption = `Coverage of ${r.commit ? `commit ${shortCommit(r.commit)}` : "an unknown commit"} on ${branchName(r.branch)}: ${countsLine(r.counts)}`;
  // The caption is read out with the table; the same words are shown above the region, where a
  // narrow screen does not scroll them away with the table.
  const table = h(
    "table",
    { class: "matrix" },
    h("caption", { class: "sr-only" }, caption),
    // Fixed layout: every system gets the same width, whatever its cells say.
    h(
      "colgroup",
      null,
      h("col", { class: "target-col" }),
      r.systems.map(() => h("col")),
    ),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { scope: "col" }, "Target"),
        r.systems.map((s) => h("th", { scope: "col" }, s)),
      ),
    ),
    h(
      "tbody",
      null,
      r.rows.map((row) =>
        h(
          "tr",
          null,
          h("th", { scope: "row" }, attrText(row.target)),
          r.systems.map((s) => {
            // Own cells only: a system named `constructor` is not Object.prototype's.
            const c = Object.hasOwn(row.cells, s) ? row.cells[s] : undefined;
            if (!c)
              return h("td", { class: "cell none" }, h("span", { class: "muted" }, "not a target here"));
            return h("td", { class: `cell st-${c.status}`, title: c.attr }, cellContent(cache, c));
          }),
        ),
      ),
    ),
  );
  // A custom property through the CSSOM (not a style attribute, which the policy forbids).
  table.style.setProperty("--systems", String(r.systems.length));
  return h(
    "div",
    null,
    h("p", { class: "counts", attrs: { "aria-hidden": "true" } }, countsLine(r.counts)),
    scrolling("Coverage matrix", table),
  );
}

/** An attribute path or store path in monospace, breakable after each `.`, `/` and `-`. */
export function attrText(s: string): HTMLElement {
  const el = h("span", { class: "attr" });
  for (const piece of s.split(/(?<=[./-])/)) append(el, piece, h("wbr"));
  return el;
}

export function legend(): HTMLElement {
  return h(
    "dl",
    { class: "legend" },
    STATUS_ORDER.map((s) => [h("dt", null, statusLabel(s)), h("dd", null, STATUS[s].help)]),
  );
}

export function notice(kind: "error" | "info", ...children: Child[]): HTMLElement {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}
