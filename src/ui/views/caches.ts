// The home page: the caches this viewer may read, one row each.

import type { CacheSummary, CachesResponse } from "../../ui-api/types.js";
import { get } from "../api.js";
import { type Child, h } from "../dom.js";
import { formatCount, plural } from "../format.js";
import { branchName, notice, routes, scrolling, time } from "../parts.js";
import { hitRate, storedText, type View, visibility } from "./shared.js";

function coverageCell(s: CacheSummary): Child {
  const c = s.coverage;
  if (!c) return h("span", { class: "muted" }, "no reports yet");
  return [
    h("span", { class: c.ok ? "verdict ok" : "verdict bad" }, c.ok ? "passed" : "failed"),
    " ",
    h("span", { class: "small" }, `${c.counts.ok}/${c.counts.total} ok on ${branchName(c.branch)}`),
  ];
}

export async function cachesView(): Promise<View> {
  const r = await get<CachesResponse>("caches");
  if (r.caches.length === 0)
    return {
      title: "Caches",
      body: [
        h("h1", { tabindex: -1 }, "Caches"),
        notice(
          "info",
          r.viewer.kind === "token"
            ? "This token may read no cache here."
            : "There is no public cache here. Private caches need a token: use “Sign in” above.",
        ),
      ],
    };
  const table = h(
    "table",
    { class: "caches stack" },
    h(
      "caption",
      null,
      r.viewer.kind === "token"
        ? `${plural(r.caches.length, "cache")} this token may read`
        : `${plural(r.caches.length, "public cache")} (private ones need a token)`,
    ),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Cache", "Paths", "Stored", "Last push", "Narinfo hits (24 h)", "Coverage"].map((c) =>
          h("th", { scope: "col" }, c),
        ),
      ),
    ),
    h(
      "tbody",
      null,
      r.caches.map((s) =>
        h(
          "tr",
          null,
          h("th", { scope: "row" }, h("a", { href: routes.cache(s.name) }, s.name), " ", visibility(s)),
          h("td", { attrs: { "data-label": "Paths" } }, formatCount(s.paths)),
          h("td", { attrs: { "data-label": "Stored" } }, storedText(s)),
          h("td", { attrs: { "data-label": "Last push" } }, time(s.lastPushAt)),
          h("td", { attrs: { "data-label": "Narinfo hits (24 h)" } }, hitRate(s)),
          h("td", { attrs: { "data-label": "Coverage" } }, coverageCell(s)),
        ),
      ),
    ),
  );
  return { title: "Caches", body: [h("h1", { tabindex: -1 }, "Caches"), scrolling("Caches", table)] };
}
