// Paying an order with a sandbox test card, and watching the outcome arrive live.

import { api, newIdempotencyKey } from "../api.js";
import { fill, h, loading, spinner } from "../dom.js";
import { ignoreAbort, isBusy, withBusy } from "../forms.js";
import { loadFailed, notice, screenHead } from "../layout.js";
import { declineMessage, messageFor } from "../messages.js";
import { formatMoney } from "../money.js";
import { navigate } from "../router.js";
import { followPayment } from "../payment-events.js";

// The sandbox gateway's well-known test payment methods: no real card, no real money.
const TEST_CARDS = [
  { token: "pm_card_visa", label: "Visa ending in 4242", note: "Test card: the payment succeeds." },
  { token: "pm_card_chargeDeclined", label: "Visa ending in 0002", note: "Test card: the bank declines it." },
  { token: "pm_card_chargeDeclinedInsufficientFunds", label: "Visa ending in 9995", note: "Test card: not enough funds." },
];

export async function paymentScreen({ view, params, signal }) {
  const orderId = params.id;
  const body = h("div", { class: "stack" }, loading("Loading your order…"));
  view.append(screenHead(`Pay for order #${orderId}`, null, { href: "#/orders", label: "Your orders" }), body);
  let order;
  try {
    order = await api(`/orders/${encodeURIComponent(orderId)}/`, { auth: true, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    fill(body, loadFailed(error, () => navigate(`/orders/${orderId}/pay`), { not_found: "We can't find this order among yours." }));
    return;
  }
  fill(body, orderSummary(order), payableState(order, signal));
}

function orderSummary(order) {
  return h("div", { class: "card" },
    h("h2", {}, "Order summary"),
    h("ul", { class: "summary" }, order.items.map((item) => h("li", {},
      h("span", {}, `${item.name}\u00a0×\u00a0${item.quantity}`),
      h("span", { class: "price" }, formatMoney(item.line_total, order.currency)),
    )),
    h("li", {}, h("strong", {}, "Total"), h("strong", { class: "price" }, formatMoney(order.total, order.currency)))),
  );
}

function payableState(order, signal) {
  if (order.status === "paid") return paidPanel(order);
  if (order.status !== "pending_payment") {
    return notice("error", h("p", {}, messageFor({ code: "order_not_payable" })), h("a", { href: "#/products" }, "Keep shopping"));
  }
  return payForm(order, signal);
}

function payForm(order, signal) {
  const outcome = h("div", {});
  const cards = h("fieldset", {},
    h("legend", {}, "Choose a test card"),
    TEST_CARDS.map((card, index) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "payment_method", value: card.token, checked: index === 0 }),
      h("span", {}, h("strong", {}, card.label), h("span", {}, card.note)),
    )),
  );
  const pay = h("button", { class: "button wide", type: "submit" }, `Pay ${formatMoney(order.total, order.currency)}`);
  const section = h("form", { novalidate: true, "aria-label": "Payment" },
    cards,
    h("p", { class: "sandbox-note" }, "This is a sandbox: no card is charged and no money moves."),
    pay,
  );
  // A payment whose answer was lost is sent again with its key: never paid twice.
  let unanswered = null;
  section.addEventListener("submit", (event) => {
    event.preventDefault();
    if (isBusy(pay)) return;
    const method = section.querySelector("input[name=payment_method]:checked").value;
    const key = unanswered?.method === method ? unanswered.key : newIdempotencyKey();
    // The card is settled while the payment runs: the choice is locked meanwhile.
    cards.disabled = true;
    withBusy(pay, "Paying…", async () => {
      const done = await payOnce(order, method, key, outcome, signal);
      unanswered = done === "retry-same" ? { method, key } : null;
      if (done === "paid") section.closest(".card").remove();
    }).catch(ignoreAbort).finally(() => { cards.disabled = false; });
  });
  // The outcome sits above the cards: on a phone it is what the shopper sees next.
  return h("div", { class: "stack" }, outcome, h("div", { class: "card" }, section));
}

/** Start one payment and follow it; answer "paid", "failed" or "retry-same". */
async function payOnce(order, method, key, outcome, signal) {
  let payment;
  try {
    payment = await api("/payments/", {
      method: "POST", auth: true, idempotencyKey: key, body: { order_id: order.id, payment_method: method }, signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    show(outcome, problemPanel(messageFor(error), error.isNetworkError));
    // After a lost answer the same key is sent again, so nothing is paid twice.
    return error.isNetworkError ? "retry-same" : "failed";
  }
  show(outcome, processingPanel(), { focus: false });
  let final;
  try {
    final = await followPayment(payment.id, { onPayment: () => {}, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    show(outcome, problemPanel(messageFor(error), error.isNetworkError, "We lost track of your payment"));
    return "retry-same";
  }
  if (final.status === "succeeded") {
    show(outcome, paidPanel(order));
    return "paid";
  }
  show(outcome, problemPanel(declineMessage(final), false, "Payment failed"));
  return "failed";
}

/** Put a panel in view; an outcome also takes focus, so it is read out first. */
function show(outcome, panel, { focus = true } = {}) {
  fill(outcome, panel);
  const heading = panel.querySelector("h2");
  if (focus) heading.focus({ preventScroll: true });
  panel.scrollIntoView({ block: "nearest" });
}

function processingPanel() {
  return h("div", { class: "card payment-status processing", role: "status" },
    spinner(true),
    h("h2", { tabindex: "-1" }, "Processing your payment…"),
    h("p", {}, "This takes a few seconds. Keep this screen open."),
  );
}

function paidPanel(order) {
  return h("div", { class: "card payment-status succeeded", role: "status" },
    h("span", { class: "outcome-icon", "aria-hidden": "true" }, "✓"),
    h("h2", { tabindex: "-1" }, "Payment received"),
    h("p", {}, `Order #${order.id} is `, h("span", { class: "status-pill status-paid" }, "paid"),
      ` · ${formatMoney(order.total, order.currency)}`),
    h("div", { class: "actions" },
      h("a", { class: "button", href: "#/orders" }, "See your orders"),
      h("a", { class: "button secondary", href: "#/products" }, "Keep shopping"),
    ),
  );
}

function problemPanel(text, offline = false, title = "Payment not started") {
  return h("div", { class: "card payment-status failed", role: "alert" },
    h("span", { class: "outcome-icon", "aria-hidden": "true" }, "✕"),
    h("h2", { tabindex: "-1" }, title),
    h("p", {}, text),
    h("p", {}, offline ? "Press Pay again: you will not be charged twice." : "Your order is still waiting for payment."),
  );
}
