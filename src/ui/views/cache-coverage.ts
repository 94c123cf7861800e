// The cache page's coverage section: the newest CI report's matrix, with a tab per branch and a
// search over older branches.

import type { CacheResponse, Page, ReportMatrix, ReportSummary } from "../../ui-api/types.js";
import { get } from "../api.js";
import { type Child, h, replace } from "../dom.js";
import { branchName, legend, matrixTable, notice, reportLine, routes } from "../parts.js";
import { enc } from "./shared.js";

export function coverageSection(cache: string, r: CacheResponse): HTMLElement {
  const m = r.report;
  return h(
    "section",
    { attrs: { "aria-labelledby": "coverage" } },
    h("h2", { id: "coverage" }, "Coverage"),
    m === null
      ? h(
          "p",
          null,
          "No CI report has been uploaded yet. `nixcache ci` and `nixcache verify` upload theirs with ",
          h("code", null, "--report-to"),
          " (by default to the cache, when it is a nixcache server).",
        )
      : [
          branchTabs(cache, r, m),
          reportLine(m, cache),
          matrixTable(cache, m),
          h(
            "p",
            { class: "more" },
            h("a", { href: routes.history(cache, m.branch) }, `Recent commits on ${branchName(m.branch)}`),
          ),
          h("details", { class: "legend-box" }, h("summary", null, "What the statuses mean"), legend()),
        ],
  );
}

function branchTab(cache: string, b: ReportSummary, current: ReportMatrix | null): HTMLElement {
  return h(
    "li",
    null,
    h(
      "a",
      {
        href: routes.cache(cache, b.branch),
        attrs: current && b.id === current.id ? { "aria-current": "page" } : {},
      },
      branchName(b.branch),
      " ",
      h(
        "span",
        { class: b.ok ? "dot ok" : "dot bad", attrs: { "aria-label": b.ok ? "passed" : "failed" } },
        b.ok ? "✓" : "✗",
      ),
    ),
  );
}

/** The newest branches as tabs; with more, a search over all of them (the server pages it). */
function branchTabs(cache: string, r: CacheResponse, current: ReportMatrix | null): Child {
  const more = r.branchesNext !== undefined && r.branchesNext !== null;
  if (r.branches.length <= 1 && !more) return null;
  // A branch asked for by name may be older than the newest ones: its tab is shown too.
  const shown =
    current && !r.branches.some((b) => b.id === current.id) ? [...r.branches, current] : r.branches;
  return [
    h(
      "nav",
      { class: "tabs", attrs: { "aria-label": "Branches" } },
      h(
        "ul",
        null,
        shown.map((b) => branchTab(cache, b, current)),
      ),
    ),
    more ? branchFinder(cache, current) : null,
  ];
}

function branchFinder(cache: string, current: ReportMatrix | null): HTMLElement {
  const input = h("input", {
    id: "branch-q",
    name: "q",
    type: "search",
    autocomplete: "off",
    spellcheck: false,
    placeholder: "part of its name",
  });
  const results = h("div", { class: "branch-results", attrs: { "aria-live": "polite" } });
  const show = (q: string, page: Page<ReportSummary>, rows: ReportSummary[]) => {
    const next =
      page.next === null
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: () => find(q, page.next ?? undefined, rows),
            },
            "More branches",
          );
    replace(
      results,
      rows.length === 0
        ? h("p", null, q ? `No branch name holds “${q}”.` : "No other branches.")
        : h(
            "nav",
            { class: "tabs", attrs: { "aria-label": "Branches found" } },
            h(
              "ul",
              null,
              rows.map((b) => branchTab(cache, b, current)),
            ),
          ),
      next,
    );
  };
  const find = async (q: string, before: number | undefined, shown: ReportSummary[]) => {
    try {
      const page = await get<Page<ReportSummary>>(`caches/${enc(cache)}/branches`, {
        q: q || undefined,
        before,
      });
      show(q, page, [...shown, ...page.items]);
    } catch (e) {
      replace(results, notice("error", e instanceof Error ? e.message : String(e)));
    }
  };
  return h(
    "div",
    { class: "branch-finder" },
    h(
      "form",
      {
        class: "lookup",
        role: "search",
        onsubmit: (e) => {
          e.preventDefault();
          void find(input.value.trim(), undefined, []);
        },
      },
      h("label", { for: "branch-q" }, "More branches: find one by name"),
      h("div", { class: "row" }, input, h("button", { type: "submit" }, "Find")),
    ),
    results,
  );
}
