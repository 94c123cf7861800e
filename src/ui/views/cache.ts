// A cache's page: its facts, then coverage, pushes, the path lookup, pins and trust rules.

import type { CacheResponse, CacheSummary, Page, PushRow } from "../../ui-api/types.js";
import { get } from "../api.js";
import { type Child, h } from "../dom.js";
import { formatBytes, formatCount, formatDuration, plural } from "../format.js";
import { time } from "../parts.js";
import { coverageSection } from "./cache-coverage.js";
import { pinsSection, trustSection } from "./cache-policy.js";
import { pushesSection } from "./cache-pushes.js";
import { enc, hitRate, lookupForm, storedText, type View, visibility } from "./shared.js";

export async function cacheView(cache: string, branch?: string): Promise<View> {
  const [r, pushes] = await Promise.all([
    get<CacheResponse>(`caches/${enc(cache)}`, { branch }),
    get<Page<PushRow>>(`caches/${enc(cache)}/pushes`),
  ]);
  const s = r.cache;
  return {
    title: s.name,
    body: [
      h("h1", { tabindex: -1 }, s.name, " ", visibility(s)),
      facts(s),
      coverageSection(s.name, r),
      pushesSection(s.name, pushes),
      h(
        "section",
        { attrs: { "aria-labelledby": "lookup" } },
        h("h2", { id: "lookup" }, "Look up a path"),
        lookupForm(s.name),
      ),
      r.pins === undefined || r.pins === null ? null : pinsSection(s.name, r.pins, r.pinsMore === true),
      r.trustRules === undefined || r.trustRules === null ? null : trustSection(r.trustRules),
    ],
  };
}

function facts(s: CacheSummary): HTMLElement {
  const items: Array<[string, Child]> = [
    [
      "Paths",
      [
        formatCount(s.paths),
        s.pendingPaths > 0 ? ` (+${formatCount(s.pendingPaths)} waiting for their closure)` : "",
      ],
    ],
    ["Stored", storedText(s)],
    ["Last push", time(s.lastPushAt)],
    ["Narinfo hits (24 h)", hitRate(s)],
  ];
  if (s.retentionMs !== undefined)
    items.push([
      "Retention",
      s.retentionMs === null
        ? "kept forever"
        : `${formatDuration(s.retentionMs)} after the last push or fetch`,
    ]);
  if (s.gc !== undefined)
    items.push([
      "Garbage collection",
      s.gc === null
        ? "never run"
        : [
            time(s.gc.lastRunAt),
            s.gc.pathsDeleted === 0 && s.gc.freedBytes === 0
              ? ": nothing to free"
              : `: freed ${formatBytes(s.gc.freedBytes)} (${plural(s.gc.pathsDeleted, "path")})`,
          ],
    ]);
  items.push(["Signing key", h("code", { class: "key" }, s.publicKey)]);
  return h(
    "dl",
    { class: "facts" },
    items.map(([k, v]) =>
      h("div", k === "Signing key" ? { class: "wide" } : null, h("dt", null, k), h("dd", null, v)),
    ),
  );
}
