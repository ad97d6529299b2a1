// Screens by address: `#/products?q=mug&page=2`, `#/orders/12/pay`, ...
//
// Each screen gets a context with its parameters and an AbortSignal that fires
// when the shopper leaves it, which ends its requests and its live streams.

import { isSignedIn } from "./session.js";

const routes = [];
const listeners = new Set();
let leaving = null;

export const HOME = "/products";

/** Register `screen` for a pattern like "/orders/:id/pay". */
export function route(pattern, screen, { signedIn = false, signedOut = false } = {}) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}$`), names, screen, signedIn, signedOut });
}

export function onNavigate(listener) {
  listeners.add(listener);
}

/** Go to a screen; `replace` keeps the current one out of the history. */
export function navigate(path, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, "", `#${path}`);
    render();
  } else if (location.hash === `#${path}`) {
    render();
  } else {
    location.hash = path;
  }
}

/** The current address, for coming back to it after signing in. */
export function currentPath() {
  return location.hash.slice(1) || HOME;
}

export function start() {
  window.addEventListener("hashchange", render);
  render();
}

function render() {
  const [path, search = ""] = currentPath().split("?");
  const found = match(path);
  if (found === null) return navigate(HOME, { replace: true });
  if (found.route.signedIn && !isSignedIn()) {
    return navigate(`/signin?next=${encodeURIComponent(currentPath())}`, { replace: true });
  }
  if (found.route.signedOut && isSignedIn()) return navigate(HOME, { replace: true });

  leaving?.abort();
  leaving = new AbortController();
  const view = document.getElementById("view");
  view.replaceChildren();
  const context = { params: found.params, query: new URLSearchParams(search), view, signal: leaving.signal };
  const rendering = found.route.screen(context);
  // Every screen draws its heading before its first await: focus lands there.
  view.querySelector("h1")?.focus();
  window.scrollTo(0, 0);
  for (const listener of listeners) listener(path);
  rendering?.catch?.((error) => {
    if (error.name !== "AbortError") throw error;
  });
}

function match(path) {
  for (const candidate of routes) {
    const found = candidate.regex.exec(path);
    if (found) {
      const params = Object.fromEntries(candidate.names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { route: candidate, params };
    }
  }
  return null;
}
