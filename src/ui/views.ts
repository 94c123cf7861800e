// The dashboard's views, one function each: they fetch what they show and return its elements.

import { LOG_LINE_MAX } from "../ui-api/log-text.js";
import type {
  CacheResponse,
  CacheSummary,
  CachesResponse,
  LogTail,
  Page,
  PathDetail,
  Pin,
  PushRow,
  ReportMatrix,
  ReportSummary,
  TrustRuleView,
} from "../ui-api/types.js";
import { ApiError, get, setToken } from "./api.js";
import { type Child, h, replace } from "./dom.js";
import {
  baseName,
  formatBytes,
  formatCount,
  formatDuration,
  percent,
  plural,
  shortCommit,
} from "./format.js";
import {
  attrText,
  branchName,
  countsLine,
  legend,
  matrixTable,
  notice,
  reportLine,
  routes,
  runLink,
  scrolling,
  statusLabel,
  time,
} from "./parts.js";

export interface View {
  title: string;
  body: Child[];
}

const enc = encodeURIComponent;

/** The token form: what a private cache (or a token that stopped working) shows instead of data. */
export function loginView(why: string | null, onToken: () => void): View {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: false,
    required: true,
    attrs: { "aria-describedby": "token-help" },
  });
  const form = h(
    "form",
    {
      class: "login",
      onsubmit: (e) => {
        e.preventDefault();
        const t = input.value.trim();
        // Cleared at once: the token lives in sessionStorage, not in the page.
        input.value = "";
        if (!t) return;
        setToken(t);
        onToken();
      },
    },
    h("label", { for: "token" }, "Token"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Show the cache")),
    h(
      "p",
      { id: "token-help", class: "help" },
      "A read token is enough: nothing on this page changes the cache. It is kept in this tab only " +
        "(sessionStorage), sent only to this server, and never shown.",
    ),
  );
  return {
    title: "Sign in",
    body: [
      h("h1", { tabindex: -1 }, "A token is needed"),
      why ? notice("error", why) : null,
      h(
        "p",
        null,
        "Private caches, and caches that do not exist, look alike without a token. Enter a token of " +
          "the cache to see it.",
      ),
      form,
    ],
  };
}

function hitRate(s: CacheSummary): string {
  const { hits, misses } = s.narinfo24h;
  const n = hits + misses;
  return n === 0 ? "no lookups" : `${percent(hits, n)} of ${plural(n, "lookup")}`;
}

function storedText(s: CacheSummary): string {
  if (s.quotaBytes === undefined || s.quotaBytes === null) return formatBytes(s.bytes);
  return `${formatBytes(s.bytes)} of ${formatBytes(s.quotaBytes)} (${percent(s.bytes, s.quotaBytes)})`;
}

function visibility(s: CacheSummary): HTMLElement {
  return h(
    "span",
    { class: `badge ${s.isPublic ? "public" : "private"}` },
    s.isPublic ? "public" : "private",
  );
}

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

function coverageSection(cache: string, r: CacheResponse): HTMLElement {
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

function pushesSection(cache: string, first: Page<PushRow>): HTMLElement {
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

function lookupForm(cache: string, value = ""): HTMLElement {
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

function pinsSection(cache: string, pins: Pin[], more: boolean): HTMLElement {
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

function trustSection(rules: TrustRuleView[]): HTMLElement {
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

function crumbs(cache: string, here: string): HTMLElement {
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
