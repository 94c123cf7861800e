// A store path's page: whether the cache serves it, its signatures, references, realisations and
// narinfo.

import type { PathDetail } from "../../ui-api/types.js";
import { ApiError, get } from "../api.js";
import { type Child, h } from "../dom.js";
import { baseName, formatBytes } from "../format.js";
import { notice, routes, scrolling, statusLabel, time } from "../parts.js";
import { crumbs, enc, lookupForm, type View } from "./shared.js";

const STATE_TEXT: Record<PathDetail["state"], { word: string; cls: string; help: string }> = {
  visible: {
    word: "served",
    cls: "st-ok",
    help: "Its narinfo is served: its whole closure is here or upstream.",
  },
  pending: {
    word: "pending",
    cls: "st-unsigned",
    help: "Stored, but not served yet: it waits for references that are not in the cache.",
  },
  upstream: {
    word: "upstream",
    cls: "st-not-built",
    help: "Served by an upstream cache; counted as present for closures.",
  },
  absent: {
    word: "not in this cache",
    cls: "st-missing",
    help: "No narinfo for it has been pushed to this cache.",
  },
};

export async function pathView(cache: string, q: string): Promise<View> {
  let d: PathDetail;
  try {
    d = await get<PathDetail>(`caches/${enc(cache)}/path`, { q });
  } catch (e) {
    if (e instanceof ApiError && e.status === 400)
      return {
        title: "Look up a path",
        body: [
          crumbs(cache, "path"),
          h("h1", { tabindex: -1 }, "Look up a path"),
          notice("error", e.message),
          lookupForm(cache, q),
        ],
      };
    throw e;
  }
  const st = STATE_TEXT[d.state];
  const name = d.storePath ?? (q.startsWith("/nix/store/") ? q : d.hash);
  const factsList: Array<[string, Child]> = [
    ["State", [h("span", { class: `status ${st.cls}` }, st.word), " — ", st.help]],
  ];
  if (d.narSize !== null) factsList.push(["NAR size", formatBytes(d.narSize)]);
  if (d.fileSize !== null)
    factsList.push(["Stored", `${formatBytes(d.fileSize)}${d.compression ? ` (${d.compression})` : ""}`]);
  if (d.createdAt !== null) factsList.push(["Pushed", time(d.createdAt)]);
  if (d.lastAccessAt !== undefined) factsList.push(["Last access", time(d.lastAccessAt)]);
  if (d.pins !== undefined && d.pins !== null)
    factsList.push(["Kept by pins", d.pins.length === 0 ? "none" : d.pins.join(", ")]);
  return {
    title: `${baseName(name)} — ${cache}`,
    body: [
      crumbs(cache, "path"),
      h("h1", { tabindex: -1, class: "path-title" }, h("span", { class: "attr" }, baseName(name))),
      h(
        "dl",
        { class: "facts" },
        factsList.map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))),
      ),
      d.waitingFor.length === 0
        ? null
        : h(
            "section",
            null,
            h("h2", null, "Waiting for"),
            h(
              "ul",
              { class: "paths" },
              d.waitingFor.map((w) =>
                h(
                  "li",
                  null,
                  h(
                    "a",
                    { href: routes.path(cache, w.storePath ?? w.hash) },
                    w.storePath ? baseName(w.storePath) : w.hash,
                  ),
                ),
              ),
            ),
          ),
      d.signatures.length === 0 && d.narinfo === null
        ? null
        : h(
            "section",
            null,
            h("h2", null, "Signatures"),
            d.signatures.length === 0
              ? h("p", null, "Not signed.")
              : scrolling(
                  "Signatures",
                  h(
                    "table",
                    null,
                    h(
                      "thead",
                      null,
                      h("tr", null, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Verifies")),
                    ),
                    h(
                      "tbody",
                      null,
                      d.signatures.map((sg) =>
                        h(
                          "tr",
                          null,
                          h("th", { scope: "row" }, h("code", null, sg.keyName)),
                          h(
                            "td",
                            null,
                            sg.state === "valid"
                              ? statusLabel("ok")
                              : sg.state === "invalid"
                                ? h("span", { class: "status st-missing" }, "✗ does not verify")
                                : h(
                                    "span",
                                    { class: "status st-not-built" },
                                    "– a key this cache does not publish",
                                  ),
                          ),
                        ),
                      ),
                    ),
                  ),
                ),
          ),
      d.references.length === 0
        ? null
        : h(
            "section",
            null,
            h("h2", null, `References (${d.references.length})`),
            h(
              "ul",
              { class: "paths" },
              d.references.map((r) => h("li", null, h("a", { href: routes.path(cache, r) }, baseName(r)))),
            ),
          ),
      realisationsSection(d),
      d.narinfo === null
        ? null
        : h(
            "section",
            null,
            h("h2", null, "Narinfo"),
            h("pre", { class: "narinfo", tabindex: 0 }, d.narinfo),
          ),
      h("section", null, h("h2", null, "Look up another path"), lookupForm(cache)),
    ],
  };
}

/** The content-addressed derivation outputs that were realised as this path (none: no section). */
function realisationsSection(d: PathDetail): Child {
  const rs = d.realisations ?? [];
  if (rs.length === 0) return null;
  return h(
    "section",
    null,
    h("h2", null, `Realisations (${rs.length})`),
    h(
      "p",
      null,
      "Content-addressed derivation outputs built to this path. Nix reads them to substitute the output without building; one is served once the path is.",
    ),
    scrolling(
      "Realisations",
      h(
        "table",
        null,
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { scope: "col" }, "Derivation"),
            h("th", { scope: "col" }, "Output"),
            h("th", { scope: "col" }, "Format"),
            h("th", { scope: "col" }, "State"),
            h("th", { scope: "col" }, "Pushed"),
          ),
        ),
        h(
          "tbody",
          null,
          rs.map((r) =>
            h(
              "tr",
              { class: "realisation" },
              h("th", { scope: "row" }, h("code", null, r.derivation)),
              h("td", null, h("code", null, r.output)),
              h(
                "td",
                null,
                r.kind === "realisations" ? "realisation (Nix ≤ 2.34)" : "build trace (Nix ≥ 2.35)",
              ),
              h(
                "td",
                null,
                r.visible
                  ? h("span", { class: "status st-ok" }, "served")
                  : h("span", { class: "status st-unsigned" }, "pending"),
              ),
              h("td", null, time(r.createdAt)),
            ),
          ),
        ),
      ),
    ),
  );
}
