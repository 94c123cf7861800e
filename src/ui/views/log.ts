// A build log's page: its last lines, as the server cleaned them, and a link to the whole log.

import { LOG_LINE_MAX } from "../../ui-api/log-text.js";
import type { LogTail } from "../../ui-api/types.js";
import { ApiError, get } from "../api.js";
import { h } from "../dom.js";
import { formatBytes, plural } from "../format.js";
import { attrText, notice } from "../parts.js";
import { crumbs, enc, type View } from "./shared.js";

/** The whole log as the cache serves it (`/<cache>/log/<drv>`, beside the page's `/ui/`). */
function rawLogUrl(cache: string, drv: string): string {
  return new URL(`../${enc(cache)}/log/${enc(drv)}`, window.location.href).href;
}

/**
 * A build log's last lines, as the server cleaned them: every line is a text node (a log's HTML
 * is shown, never rendered), a cut line ends in a marked “…”, and the whole log is a link away.
 */
export async function logView(cache: string, drv: string): Promise<View> {
  const title = `Build log of ${drv} — ${cache}`;
  const head = [
    crumbs(cache, "build log"),
    h(
      "h1",
      { tabindex: -1, class: "path-title" },
      "Build log of ",
      h("span", { class: "attr" }, attrText(drv)),
    ),
  ];
  /** The whole log's link; `isPublic` false adds how a private cache's log is opened. */
  const whole = (isPublic?: boolean) =>
    h(
      "p",
      { class: "log-whole" },
      h("a", { href: rawLogUrl(cache, drv), class: "whole-log" }, "The whole log"),
      " (plain text",
      isPublic === false ? "; this cache is private: the browser asks for a token, as the password" : "",
      "). ",
      "Nix reads it too: ",
      h("code", null, `nix log /nix/store/${drv}`),
      " with this cache as a substituter.",
    );
  let t: LogTail;
  try {
    t = await get<LogTail>(`caches/${enc(cache)}/log/${enc(drv)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404)
      return {
        title,
        body: [
          ...head,
          notice("info", `No build log for ${drv} in this cache.`),
          h(
            "p",
            null,
            h("code", null, "nixcache build"),
            " and ",
            h("code", null, "nixcache ci"),
            " send the log of each target they build (or fail to build) to the caches they push to.",
          ),
        ],
      };
    // The log is there but cannot be shown here (an encoding the server does not decode, too large).
    if (e instanceof ApiError && (e.status === 400 || e.status === 413))
      return { title, body: [...head, notice("error", e.message), whole()] };
    throw e;
  }
  const count = t.lines.length;
  const what =
    count === 0
      ? "This build printed nothing: its log is empty."
      : `${t.earlier ? `The last ${plural(count, "line")}` : `All ${plural(count, "line")}`} of the log (${formatBytes(t.bytes)}${t.encoding ? `, stored ${t.encoding}-compressed` : ""}); lines longer than ${LOG_LINE_MAX} characters are cut (…).`;
  const pre = h("pre", { class: "log", tabindex: 0, attrs: { "aria-label": "The log's last lines" } });
  for (const l of t.lines) {
    pre.append(document.createTextNode(l.text));
    if (l.cut) pre.append(h("span", { class: "cut", title: `cut at ${LOG_LINE_MAX} characters` }, "…"));
    pre.append(document.createTextNode("\n"));
  }
  return {
    title,
    body: [...head, h("p", { class: "log-what" }, what), whole(t.cachePublic), count === 0 ? null : pre],
  };
}
