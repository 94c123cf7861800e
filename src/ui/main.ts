// The dashboard's entry point: a hash router over the views, the header's sign-in state, and what
// a refusal shows (the token form for 401, the server's words otherwise). Read-only: the page
// only ever GETs.
import { ApiError, setToken, token, viewer } from "./api.js";
import { h, replace } from "./dom.js";
import { notice, routes } from "./parts.js";
import { cacheView } from "./views/cache.js";
import { cachesView } from "./views/caches.js";
import { historyView } from "./views/history.js";
import { logView } from "./views/log.js";
import { loginView } from "./views/login.js";
import { pathView } from "./views/path.js";
import { reportView } from "./views/report.js";
import type { View } from "./views/shared.js";

const main = document.getElementById("main") as HTMLElement;
const session = document.getElementById("session") as HTMLElement;

type Route =
  | { view: "caches" }
  | { view: "login" }
  | { view: "cache"; cache: string; branch?: string }
  | { view: "report"; cache: string; id: number }
  | { view: "history"; cache: string; branch: string | null }
  | { view: "path"; cache: string; q: string }
  | { view: "log"; cache: string; drv: string };

/** `#/cache/NAME/...`; anything this page does not know is the list of caches. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "login") return { view: "login" };
  if (parts[0] !== "cache" || !parts[1]) return { view: "caches" };
  const cache = parts[1];
  const rest = parts.slice(3).join("/");
  switch (parts[2]) {
    case "branch":
      return { view: "cache", cache, branch: rest };
    case "report":
      return Number.isInteger(Number(rest))
        ? { view: "report", cache, id: Number(rest) }
        : { view: "cache", cache };
    case "history":
      return { view: "history", cache, branch: rest === "" ? null : rest };
    case "path":
      return { view: "path", cache, q: rest };
    case "log":
      return { view: "log", cache, drv: rest };
    default:
      return { view: "cache", cache };
  }
}

function renderSession(): void {
  const signedIn = token() !== null;
  replace(
    session,
    signedIn
      ? [
          h(
            "span",
            { class: "small who-am-i" },
            viewer?.kind === "token" && viewer.description
              ? ["Token: ", h("span", { class: "who" }, viewer.description)]
              : "Using a token",
          ),
          h(
            "button",
            {
              type: "button",
              class: "link",
              onclick: () => {
                setToken(null);
                void render();
              },
            },
            "Sign out",
          ),
        ]
      : h("a", { href: "#/login", class: "button-link quiet" }, "Sign in with a token"),
  );
}

let firstView = true;

function show(v: View): void {
  document.title = `${v.title} · nixcache`;
  replace(main, ...v.body);
  // After a navigation, focus moves to the new heading, so keyboard and screen-reader users land
  // on what changed (the link they followed is gone); the first view leaves focus where it is.
  const h1 = main.querySelector("h1");
  if (h1 instanceof HTMLElement && !firstView) h1.focus({ preventScroll: true });
  firstView = false;
}

let generation = 0;

async function render(): Promise<void> {
  const mine = ++generation;
  renderSession();
  const route = parseRoute(window.location.hash);
  main.setAttribute("aria-busy", "true");
  const afterLogin = () => {
    renderSession();
    if (route.view === "login") window.location.hash = routes.home();
    else void render();
  };
  let v: View;
  try {
    switch (route.view) {
      case "login":
        v = loginView(null, afterLogin);
        break;
      case "caches":
        v = await cachesView();
        break;
      case "cache":
        v = await cacheView(route.cache, route.branch);
        break;
      case "report":
        v = await reportView(route.cache, route.id);
        break;
      case "history":
        v = await historyView(route.cache, route.branch);
        break;
      case "path":
        v = await pathView(route.cache, route.q);
        break;
      case "log":
        v = await logView(route.cache, route.drv);
        break;
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) v = loginView(e.message, afterLogin);
    else
      v = {
        title: "Error",
        body: [
          h("h1", { tabindex: -1 }, "Something went wrong"),
          notice("error", e instanceof Error ? e.message : String(e)),
          h("p", null, h("a", { href: routes.home() }, "Back to the caches")),
        ],
      };
  }
  // A slower answer for a view the user already left is not shown.
  if (mine !== generation) return;
  main.removeAttribute("aria-busy");
  renderSession();
  show(v);
}

// The skip link moves focus without touching the URL: the hash is the router's.
document.querySelector("a.skip")?.addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});

// Other in-page anchors are not routes either.
window.addEventListener("hashchange", () => {
  if (window.location.hash === "" || window.location.hash.startsWith("#/")) void render();
});
void render();
