// The shopper's orders, newest first.

import { api } from "../api.js";
import { fill, h, loading } from "../dom.js";
import { emptyState, loadFailed, screenHead } from "../layout.js";
import { ORDER_STATUS } from "../messages.js";
import { formatMoney } from "../money.js";

const PAGE_SIZE = 10;
const DATE_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export async function ordersScreen({ view, query, signal }) {
  const page = Math.max(1, Number.parseInt(query.get("page") ?? "1", 10) || 1);
  const body = h("div", {}, loading("Loading your orders…"));
  view.append(screenHead("Your orders"), body);
  const load = async () => {
    fill(body, loading("Loading your orders…"));
    try {
      const answer = await api(`/orders/?limit=${PAGE_SIZE}&offset=${(page - 1) * PAGE_SIZE}`, { auth: true, signal });
      showOrders(body, answer, page);
    } catch (error) {
      if (error.name === "AbortError") throw error;
      fill(body, loadFailed(error, load));
    }
  };
  await load();
}

function showOrders(body, answer, page) {
  if (answer.total === 0) {
    fill(body, emptyState("No orders yet.", "Browse products", "#/products"));
    return;
  }
  const pages = Math.ceil(answer.total / PAGE_SIZE);
  fill(body,
    h("ul", { class: "order-list" }, answer.items.map(orderCard)),
    pages > 1 ? h("nav", { class: "pager", "aria-label": "Pages" },
      page > 1 ? h("a", { class: "button secondary small", href: `#/orders?page=${page - 1}` }, "← Newer") : h("span", {}),
      h("span", {}, `Page ${page} of ${pages}`),
      page < pages ? h("a", { class: "button secondary small", href: `#/orders?page=${page + 1}` }, "Older →") : h("span", {}),
    ) : null,
  );
}

function orderCard(order) {
  const items = order.items.map((item) => `${item.name}\u00a0×\u00a0${item.quantity}`).join(", ");
  return h("li", { class: "card" },
    h("div", { class: "order-head" },
      h("h2", {}, `Order #${order.id}`),
      h("span", { class: `status-pill status-${order.status}` }, ORDER_STATUS[order.status] ?? order.status),
    ),
    h("p", { class: "order-meta" }, h("time", { datetime: order.created_at }, DATE_FORMAT.format(new Date(order.created_at)))),
    h("p", {}, items),
    h("p", { class: "price" }, formatMoney(order.total, order.currency)),
    order.status === "pending_payment"
      ? h("a", { class: "button small", href: `#/orders/${order.id}/pay` }, `Pay for order #${order.id}`)
      : null,
  );
}
