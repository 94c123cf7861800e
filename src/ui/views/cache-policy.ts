// The cache page's sections on what the cache keeps and whom it trusts: pins and OIDC trust rules
// (shown to the cache's readers with a token only).

import type { Pin, TrustRuleView } from "../../ui-api/types.js";
import { h } from "../dom.js";
import { baseName, formatCount } from "../format.js";
import { attrText, routes, scrolling } from "../parts.js";

export function pinsSection(cache: string, pins: Pin[], more: boolean): HTMLElement {
  return h(
    "section",
    { attrs: { "aria-labelledby": "pins" } },
    h("h2", { id: "pins" }, "Pins"),
    pins.length === 0
      ? h("p", null, "No pins: the GC keeps paths by retention only.")
      : scrolling(
          "Pins",
          h(
            "table",
            { class: "stack" },
            h("caption", null, "The GC keeps the closures of pinned paths (change pins with nixcache pin)"),
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ["Name", "Newest revision", "Revisions", "Keeps"].map((c) => h("th", { scope: "col" }, c)),
              ),
            ),
            h(
              "tbody",
              null,
              pins.map((p) =>
                h(
                  "tr",
                  null,
                  h("th", { scope: "row" }, p.name),
                  h(
                    "td",
                    { attrs: { "data-label": "Newest revision" } },
                    p.storePath
                      ? h("a", { href: routes.path(cache, p.storePath) }, attrText(baseName(p.storePath)))
                      : "–",
                  ),
                  h("td", { attrs: { "data-label": "Revisions" } }, formatCount(p.revisions)),
                  h("td", { attrs: { "data-label": "Keeps" } }, p.keep),
                ),
              ),
            ),
          ),
        ),
    more
      ? h(
          "p",
          { class: "more" },
          `The first ${pins.length} pins by name; `,
          h("code", null, `nixcache pin list ${cache}`),
          " lists them all.",
        )
      : null,
  );
}

export function trustSection(rules: TrustRuleView[]): HTMLElement {
  return h(
    "section",
    { attrs: { "aria-labelledby": "trust" } },
    h("h2", { id: "trust" }, "OIDC trust rules"),
    rules.length === 0
      ? h("p", null, "No trust rules: CI jobs push with stored tokens only.")
      : scrolling(
          "Trust rules",
          h(
            "table",
            { class: "stack" },
            h(
              "caption",
              null,
              "CI identities that may exchange their OIDC token (change them with the CLI or API)",
            ),
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ["Issuer", "Subject", "Other claims", "Permission"].map((c) => h("th", { scope: "col" }, c)),
              ),
            ),
            h(
              "tbody",
              null,
              rules.map((r) =>
                h(
                  "tr",
                  null,
                  h("td", { attrs: { "data-label": "Issuer" } }, r.issuer),
                  h("td", { attrs: { "data-label": "Subject" } }, h("code", null, r.subject)),
                  h(
                    "td",
                    { attrs: { "data-label": "Other claims" } },
                    Object.entries(r.claims ?? {}).map(([k, v]) =>
                      h("div", null, h("code", null, `${k} = ${v}`)),
                    ),
                  ),
                  h("td", { attrs: { "data-label": "Permission" } }, r.perm),
                ),
              ),
            ),
          ),
        ),
  );
}
