// The cache page's recent pushes, paged from the server on demand.

import type { Page, PushRow } from "../../ui-api/types.js";
import { get } from "../api.js";
import { h, replace } from "../dom.js";
import { formatBytes, formatCount, shortCommit } from "../format.js";
import { routes, scrolling, time } from "../parts.js";
import { enc } from "./shared.js";

export function pushesSection(cache: string, first: Page<PushRow>): HTMLElement {
  const body = h("div", null);
  const show = (page: Page<PushRow>, rows: PushRow[]) => {
    if (rows.length === 0) {
      replace(body, h("p", null, "No pushes recorded yet."));
      return;
    }
    const more =
      page.next === null
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: async () => {
                const next = await get<Page<PushRow>>(`caches/${enc(cache)}/pushes`, {
                  before: page.next ?? undefined,
                });
                show(next, [...rows, ...next.items]);
              },
            },
            "Older pushes",
          );
    replace(body, scrolling("Recent pushes", pushesTable(cache, rows)), more);
  };
  show(first, first.items);
  return h(
    "section",
    { attrs: { "aria-labelledby": "pushes" } },
    h("h2", { id: "pushes" }, "Recent pushes"),
    body,
  );
}

function pushesTable(cache: string, rows: PushRow[]): HTMLTableElement {
  return h(
    "table",
    { class: "pushes stack" },
    h("caption", null, "Pushes, counted per minute, token and CI run"),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Time", "Token", "Paths", "Size", "CI run"].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((p) =>
        h(
          "tr",
          null,
          h("td", { attrs: { "data-label": "Time" } }, time(p.at)),
          h(
            "td",
            { attrs: { "data-label": "Token" } },
            p.token === null
              ? h("span", { class: "muted" }, "no token")
              : p.token.description
                ? h("span", { class: "who" }, p.token.description)
                : // No description, or one only the cache's writers see.
                  h("span", { class: "muted" }, `a ${p.token.perm} token`),
          ),
          h("td", { attrs: { "data-label": "Paths" } }, formatCount(p.paths)),
          h("td", { attrs: { "data-label": "Size" } }, formatBytes(p.bytes)),
          h(
            "td",
            { attrs: { "data-label": "CI run" } },
            p.run === null
              ? h("span", { class: "muted" }, "–")
              : [
                  p.run.report ? h("a", { href: routes.report(cache, p.run.report.id) }, p.run.id) : p.run.id,
                  p.run.report?.commit ? [" ", h("code", null, shortCommit(p.run.report.commit))] : null,
                ],
          ),
        ),
      ),
    ),
  );
}
