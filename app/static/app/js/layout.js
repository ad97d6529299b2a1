// Pieces every screen uses: its heading, notices, and empty or failed states.

import { h } from "./dom.js";
import { messageFor } from "./messages.js";

const SHOP_NAME = "Shop";

/** The screen's heading (focused on arrival) and the tab's title. */
export function screenHead(title, lead = null, back = null) {
  document.title = `${title} · ${SHOP_NAME}`;
  return h("div", { class: "screen-head" },
    back ? h("a", { class: "back-link", href: back.href }, `← ${back.label}`) : null,
    h("h1", { tabindex: "-1" }, title),
    lead ? h("p", { class: "lead" }, lead) : null,
  );
}

export function notice(kind, ...content) {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, ...content);
}

/** A failed load: the reason, and a button that tries the same again. */
export function loadFailed(error, retry, context = {}) {
  return notice("error",
    h("p", {}, messageFor(error, context)),
    h("button", { class: "button secondary small", type: "button", onclick: retry }, "Try again"),
  );
}

export function emptyState(text, linkText, href) {
  return h("div", { class: "card empty" }, h("p", {}, text), h("a", { class: "button", href }, linkText));
}
