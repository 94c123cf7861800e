// Building the page's DOM. Every string becomes a text node or an attribute value (never markup:
// there is no innerHTML anywhere), so store path names, attribute names and token descriptions,
// whatever they hold, are shown as the text they are. Event handlers are passed as functions.

export type Child = Node | string | number | null | undefined | false | Child[];

type Handler<E extends Event> = (e: E) => void;

export interface Props {
  class?: string;
  id?: string;
  href?: string;
  title?: string;
  role?: string;
  scope?: "col" | "row" | "colgroup" | "rowgroup";
  colspan?: number;
  datetime?: string;
  for?: string;
  type?: string;
  name?: string;
  value?: string;
  placeholder?: string;
  autocomplete?: string;
  spellcheck?: boolean;
  required?: boolean;
  hidden?: boolean;
  open?: boolean;
  tabindex?: number;
  lang?: string;
  /** `aria-*` and `data-*` attributes, by their full names. */
  attrs?: Record<string, string>;
  onclick?: Handler<MouseEvent>;
  onsubmit?: Handler<SubmitEvent>;
  onkeydown?: Handler<KeyboardEvent>;
}

/** Whether a URL may be a link's target: this page's own routes, or an http(s) URL. */
export function safeHref(url: string): string | undefined {
  if (url.startsWith("#")) return url;
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : undefined;
  } catch {
    return undefined;
  }
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, ...c);
    else
      parent.appendChild(
        typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c,
      );
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const target: HTMLElement = el;
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === false) continue;
      if (k === "onclick") target.addEventListener("click", v as Handler<MouseEvent>);
      else if (k === "onsubmit") target.addEventListener("submit", v as Handler<SubmitEvent>);
      else if (k === "onkeydown") target.addEventListener("keydown", v as Handler<KeyboardEvent>);
      else if (k === "attrs")
        for (const [a, av] of Object.entries(v as Record<string, string>)) el.setAttribute(a, av);
      else if (k === "href") {
        const href = safeHref(String(v));
        if (href !== undefined) el.setAttribute("href", href);
      } else if (k === "spellcheck") el.setAttribute("spellcheck", String(v));
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  append(el, ...children);
  return el;
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}
