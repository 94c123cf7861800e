// What several dashboard pages share: the view shape, the cache summary's cells, the breadcrumb and
// the path lookup form.

import type { CacheSummary } from "../../ui-api/types.js";
import { type Child, h } from "../dom.js";
import { formatBytes, percent, plural } from "../format.js";
import { routes } from "../parts.js";

export interface View {
  title: string;
  body: Child[];
}

export const enc = encodeURIComponent;

export function hitRate(s: CacheSummary): string {
  const { hits, misses } = s.narinfo24h;
  const n = hits + misses;
  return n === 0 ? "no lookups" : `${percent(hits, n)} of ${plural(n, "lookup")}`;
}

export function storedText(s: CacheSummary): string {
  if (s.quotaBytes === undefined || s.quotaBytes === null) return formatBytes(s.bytes);
  return `${formatBytes(s.bytes)} of ${formatBytes(s.quotaBytes)} (${percent(s.bytes, s.quotaBytes)})`;
}

export function visibility(s: CacheSummary): HTMLElement {
  return h(
    "span",
    { class: `badge ${s.isPublic ? "public" : "private"}` },
    s.isPublic ? "public" : "private",
  );
}

export function crumbs(cache: string, here: string): HTMLElement {
  return h(
    "nav",
    { class: "crumbs", attrs: { "aria-label": "Breadcrumb" } },
    h("a", { href: routes.home() }, "Caches"),
    " / ",
    h("a", { href: routes.cache(cache) }, cache),
    " / ",
    h("span", { attrs: { "aria-current": "page" } }, here),
  );
}

export function lookupForm(cache: string, value = ""): HTMLElement {
  const input = h("input", {
    id: "path-q",
    name: "q",
    type: "text",
    value,
    autocomplete: "off",
    spellcheck: false,
    required: true,
    placeholder: "/nix/store/… or its hash",
  });
  return h(
    "form",
    {
      class: "lookup",
      role: "search",
      onsubmit: (e) => {
        e.preventDefault();
        const q = input.value.trim();
        if (q) window.location.hash = routes.path(cache, q);
      },
    },
    h("label", { for: "path-q" }, "Store path or hash part"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Look up")),
  );
}
