// Building the page from data without ever parsing data as HTML.

/** An element with attributes, `on*` listeners and children (strings become text). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value") {
      element.value = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  element.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

/** Replace everything inside `element`. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

let uniqueCounter = 0;

/** An id nothing else on the page has, to tie labels and hints to inputs. */
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** Say something to screen readers without moving focus. */
export function announce(text) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A fresh node in the next frame makes repeated messages heard again.
  requestAnimationFrame(() => { region.textContent = text; });
}

export function spinner(large = false) {
  return h("span", { class: large ? "spinner large" : "spinner", "aria-hidden": "true" });
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, spinner(), text);
}
