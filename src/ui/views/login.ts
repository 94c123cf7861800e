// The sign-in page: the token form a private cache (or a token that stopped working) shows.

import { setToken } from "../api.js";
import { h } from "../dom.js";
import { notice } from "../parts.js";
import type { View } from "./shared.js";

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
