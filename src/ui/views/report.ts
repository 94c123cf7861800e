// One CI report's page: its matrix of targets and statuses.

import type { ReportMatrix } from "../../ui-api/types.js";
import { get } from "../api.js";
import { h } from "../dom.js";
import { shortCommit } from "../format.js";
import { legend, matrixTable, reportLine } from "../parts.js";
import { crumbs, enc, type View } from "./shared.js";

export async function reportView(cache: string, id: number): Promise<View> {
  const m = await get<ReportMatrix>(`caches/${enc(cache)}/reports/${id}`);
  return {
    title: `Report ${id} — ${cache}`,
    body: [
      crumbs(cache, `report ${id}`),
      h("h1", { tabindex: -1 }, m.commit ? `Commit ${shortCommit(m.commit)}` : `Report ${id}`),
      reportLine(m, cache),
      matrixTable(cache, m),
      h("details", { class: "legend-box" }, h("summary", null, "What the statuses mean"), legend()),
    ],
  };
}
