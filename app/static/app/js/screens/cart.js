// The cart (change quantities, remove lines) and checkout (place the order).

import { api, newIdempotencyKey } from "../api.js";
import { cartChanged } from "../cart-state.js";
import { announce, fill, h, loading, uniqueId } from "../dom.js";
import { actionButton, checks, ignoreAbort, withBusy } from "../forms.js";
import { emptyState, loadFailed, screenHead } from "../layout.js";
import { messageFor } from "../messages.js";
import { formatMoney } from "../money.js";
import { navigate } from "../router.js";

const MAX_QUANTITY = 1000;

export async function cartScreen({ view, signal }) {
  const body = h("div", {}, loading("Loading your cart…"));
  view.append(screenHead("Your cart"), body);
  const load = async () => {
    fill(body, loading("Loading your cart…"));
    try {
      showCart(body, await api("/cart/", { auth: true, signal }));
    } catch (error) {
      if (error.name === "AbortError") throw error;
      fill(body, loadFailed(error, load));
    }
  };
  await load();
}

function showCart(body, cart) {
  cartChanged(cart);
  if (cart.items.length === 0) {
    fill(body, emptyState("Your cart is empty.", "Browse products", "#/products"));
    return;
  }
  const total = h("strong", {}, formatMoney(cart.total, cart.currency));
  const redraw = (next) => {
    cartChanged(next);
    if (next.items.length === 0) return showCart(body, next);
    total.textContent = formatMoney(next.total, next.currency);
    for (const line of next.items) {
      body.querySelector(`[data-line-total="${line.product_id}"]`).textContent = formatMoney(line.line_total, next.currency);
    }
    return undefined;
  };
  fill(body,
    h("ul", { class: "line-list" }, cart.items.map((line) => cartLine(line, cart.currency, redraw, body))),
    h("div", { class: "totals" }, h("span", {}, "Total"), total),
    h("a", { class: "button wide", href: "#/checkout" }, "Check out"),
  );
}

function cartLine(line, currency, redraw, body) {
  const id = uniqueId("quantity");
  const problem = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  const input = h("input", {
    id, type: "number", inputmode: "numeric", min: 1, max: MAX_QUANTITY, value: String(line.quantity),
    "aria-describedby": problem.id, name: "quantity",
  });
  const item = h("li", { class: "line" });
  let saved = line.quantity;

  const show = (text) => {
    problem.textContent = text ?? "";
    problem.hidden = !text;
    input.setAttribute("aria-invalid", text ? "true" : "false");
  };
  const save = async (quantity) => {
    const invalid = checks.quantity(MAX_QUANTITY)(String(quantity));
    if (invalid) return show(invalid);
    if (quantity === saved) return show(null);
    input.value = String(quantity);
    try {
      const cart = await api(`/cart/items/${line.product_id}/`, { method: "PATCH", auth: true, body: { quantity } });
      saved = quantity;
      show(null);
      redraw(cart);
      announce(`${line.name}: quantity ${quantity}.`);
    } catch (error) {
      input.value = String(saved);
      show(messageFor(error, { not_found: "This product left your cart. Reload the cart." }));
    }
    return undefined;
  };
  const step = (delta, label, symbol) => actionButton({
    label: symbol, busyLabel: "", className: "button secondary small", "aria-label": label,
    action: () => save(Number(input.value || saved) + delta),
  });
  input.addEventListener("input", () => show(checks.quantity(MAX_QUANTITY)(input.value)));
  input.addEventListener("change", () => save(Number(input.value)));

  const remove = actionButton({
    label: "Remove", busyLabel: "Removing…", className: "button danger-text small",
    "aria-label": `Remove ${line.name}`,
    action: async () => {
      try {
        await api(`/cart/items/${line.product_id}/`, { method: "DELETE", auth: true });
      } catch (error) {
        if (error.code !== "not_found") return show(messageFor(error));
      }
      item.remove();
      announce(`${line.name} removed from your cart.`);
      try {
        redraw(await api("/cart/", { auth: true }));
      } catch {
        // The line is gone either way; the totals catch up on the next visit.
      }
      body.querySelector("h2 a, .button")?.focus();
      return undefined;
    },
  });
  return fill(item,
    h("div", {},
      h("h2", {}, h("a", { href: `#/products/${line.product_id}` }, line.name)),
      h("p", { class: "unit" }, `${formatMoney(line.unit_price, currency)} each`),
    ),
    h("span", { class: "price", "data-line-total": line.product_id }, formatMoney(line.line_total, currency)),
    h("div", { class: "line-actions" },
      h("div", { class: "stepper" },
        step(-1, `One less ${line.name}`, "−"),
        h("label", { for: id, class: "visually-hidden" }, `Quantity of ${line.name}`),
        input,
        step(1, `One more ${line.name}`, "+"),
      ),
      remove,
    ),
    problem,
  );
}

export async function checkoutScreen({ view, signal }) {
  const body = h("div", {}, loading("Loading your order…"));
  view.append(screenHead("Check out", "Review your order. Its items are set aside for you when you place it."), body);
  let cart;
  try {
    cart = await api("/cart/", { auth: true, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    fill(body, loadFailed(error, () => navigate("/checkout")));
    return;
  }
  if (cart.items.length === 0) {
    fill(body, emptyState("Your cart is empty: there is nothing to check out.", "Browse products", "#/products"));
    return;
  }
  fill(body, reviewCard(cart));
}

function reviewCard(cart) {
  const names = new Map(cart.items.map((line) => [line.product_id, line.name]));
  const problem = h("div", { class: "notice notice-error", role: "alert", hidden: true });
  // One key for this intended order, kept across retries after a lost answer.
  let key = newIdempotencyKey();
  const place = h("button", { class: "button wide", type: "button" }, `Place order · ${formatMoney(cart.total, cart.currency)}`);
  place.addEventListener("click", () => withBusy(place, "Placing your order…", async () => {
    problem.hidden = true;
    try {
      const order = await api("/checkout/", { method: "POST", auth: true, idempotencyKey: key });
      cartChanged({ items: [] });
      navigate(`/orders/${order.id}/pay`, { replace: true });
    } catch (error) {
      if (!error.isNetworkError) key = newIdempotencyKey();
      fill(problem, h("p", {}, messageFor(error, { names, nameEach: true })), checkoutRecovery(error));
      problem.hidden = false;
    }
  }).catch(ignoreAbort));
  return h("div", {},
    h("div", { class: "card" },
      h("h2", {}, "Items"),
      h("ul", { class: "summary" }, cart.items.map((line) => h("li", {},
        h("span", {}, `${line.name}\u00a0×\u00a0${line.quantity}`),
        h("span", { class: "price" }, formatMoney(line.line_total, cart.currency)),
      ))),
    ),
    h("div", { class: "totals" }, h("span", {}, "Total"), h("strong", {}, formatMoney(cart.total, cart.currency))),
    problem,
    h("div", { class: "actions" }, place, h("a", { class: "button secondary wide", href: "#/cart" }, "Change the cart")),
  );
}

function checkoutRecovery(error) {
  if (error.isNetworkError) return h("p", {}, "Press “Place order” again: you will not be charged or ordered twice.");
  if (["insufficient_stock", "product_unavailable", "cart_changed", "cart_empty"].includes(error.code)) {
    return h("a", { class: "button secondary small", href: "#/cart" }, "Review your cart");
  }
  return null;
}

