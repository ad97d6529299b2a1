// How many items the cart holds, for the badge on the Cart tab.

import { api } from "./api.js";
import { isSignedIn } from "./session.js";

const listeners = new Set();
let itemCount = 0;

export function onCartCount(listener) {
  listeners.add(listener);
  listener(itemCount);
}

/** Take the count from a cart the API just answered with. */
export function cartChanged(cart) {
  setCount(cart.items.reduce((sum, line) => sum + line.quantity, 0));
}

export async function refreshCartCount() {
  if (!isSignedIn()) return setCount(0);
  try {
    cartChanged(await api("/cart/", { auth: true }));
  } catch {
    // The badge is a convenience: the cart screen reports its own problems.
  }
}

function setCount(count) {
  itemCount = count;
  for (const listener of listeners) listener(itemCount);
}
