// A branch's history: its reports, newest first, paged from the server on demand.

import type { Page, ReportSummary } from "../../ui-api/types.js";
import { get } from "../api.js";
import { h, replace } from "../dom.js";
import { shortCommit } from "../format.js";
import { branchName, countsLine, routes, runLink, scrolling, time } from "../parts.js";
import { crumbs, enc, type View } from "./shared.js";

export async function historyView(cache: string, branch: string | null): Promise<View> {
  const body = h("div", null);
  const show = (page: Page<ReportSummary>, rows: ReportSummary[]) => {
    const table = h(
      "table",
      { class: "history stack" },
      h("caption", null, `Reports of ${branchName(branch)}, newest first`),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          ["Commit", "When", "Command", "Result", "CI run"].map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h(
        "tbody",
        null,
        rows.map((r) =>
          h(
            "tr",
            null,
            h(
              "th",
              { scope: "row" },
              h(
                "a",
                { href: routes.report(cache, r.id) },
                r.commit ? shortCommit(r.commit) : `report ${r.id}`,
              ),
            ),
            h("td", { attrs: { "data-label": "When" } }, time(r.createdAt)),
            h("td", { attrs: { "data-label": "Command" } }, r.kind === "ci" ? "ci" : "verify"),
            h(
              "td",
              { attrs: { "data-label": "Result" } },
              h("span", { class: r.ok ? "verdict ok" : "verdict bad" }, r.ok ? "passed" : "failed"),
              " ",
              countsLine(r.counts),
            ),
            h("td", { attrs: { "data-label": "CI run" } }, r.run ? runLink(r.run) : "–"),
          ),
        ),
      ),
    );
    const more =
      page.next === null
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: async () => {
                const next = await get<Page<ReportSummary>>(`caches/${enc(cache)}/reports`, {
                  branch: branch ?? "",
                  before: page.next ?? undefined,
                });
                show(next, [...rows, ...next.items]);
              },
            },
            "Older reports",
          );
    replace(
      body,
      rows.length === 0 ? h("p", null, "No reports on this branch.") : scrolling("Reports", table),
      more,
    );
  };
  const first = await get<Page<ReportSummary>>(`caches/${enc(cache)}/reports`, { branch: branch ?? "" });
  show(first, first.items);
  return {
    title: `${branchName(branch)} — ${cache}`,
    body: [
      crumbs(cache, `history of ${branchName(branch)}`),
      h("h1", { tabindex: -1 }, `Recent commits on ${branchName(branch)}`),
      body,
    ],
  };
}
