// The product list (search, pages) and a product's own screen.

import { api } from "../api.js";
import { cartChanged } from "../cart-state.js";
import { fill, h, loading, uniqueId } from "../dom.js";
import { actionButton, checks, field, form } from "../forms.js";
import { loadFailed, screenHead } from "../layout.js";
import { messageFor, stockLeft } from "../messages.js";
import { formatMoney } from "../money.js";
import { currentPath, navigate } from "../router.js";
import { isSignedIn } from "../session.js";

const PAGE_SIZE = 10;
const LOW_STOCK = 5;
const SEARCH_PAUSE_MS = 300;

export function productListScreen({ view, query, signal }) {
  const search = query.get("q") ?? "";
  const page = Math.max(1, Number.parseInt(query.get("page") ?? "1", 10) || 1);
  const results = h("div", {});
  // A new search stays on this screen: the field keeps focus while results change.
  const searchFor = (text) => {
    history.replaceState(null, "", text ? `#/products?q=${encodeURIComponent(text)}` : "#/products");
    return showPage(results, text, 1, signal);
  };
  view.append(screenHead("Products"), searchForm(search, searchFor), results);
  return showPage(results, search, page, signal);
}

function searchForm(search, searchFor) {
  const id = uniqueId("search");
  const input = h("input", {
    id, name: "q", type: "search", value: search, autocomplete: "off", enterkeyhint: "search",
    placeholder: "Search by name",
  });
  let pause = null;
  let shown = search;
  const apply = () => {
    clearTimeout(pause);
    const text = input.value.trim();
    if (text === shown) return;
    shown = text;
    searchFor(text);
  };
  input.addEventListener("input", () => {
    clearTimeout(pause);
    pause = setTimeout(apply, SEARCH_PAUSE_MS);
  });
  const submit = (event) => {
    event.preventDefault();
    apply();
  };
  return h("form", { class: "search", role: "search", onsubmit: submit },
    h("div", { class: "field" }, h("label", { for: id, class: "visually-hidden" }, "Search products"), input),
    h("button", { class: "button secondary", type: "submit" }, "Search"),
  );
}

async function showPage(results, search, page, signal) {
  fill(results, loading("Loading products…"));
  const params = new URLSearchParams({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  if (search) params.set("q", search);
  let answer;
  try {
    answer = await api(`/products/?${params}`, { signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    fill(results, loadFailed(error, () => showPage(results, search, page, signal)));
    return;
  }
  fill(results,
    h("p", { class: "result-count", role: "status" }, countText(answer.total, search)),
    h("ul", { class: "product-list" }, answer.items.map(productCard)),
    pager(answer, search, page),
  );
}

function countText(total, search) {
  const things = total === 1 ? "1 product" : `${total} products`;
  if (!search) return `${things} on sale.`;
  if (total === 0) return `Nothing matches “${search}”. Try another word.`;
  return `${things} ${total === 1 ? "matches" : "match"} “${search}”.`;
}

function productCard(product) {
  const answer = h("p", { class: "added", role: "status" });
  return h("li", { class: "product" },
    h("h2", {}, h("a", { href: `#/products/${product.id}` }, product.name)),
    h("span", { class: "price" }, formatMoney(product.price, product.currency)),
    h("p", { class: "description" }, product.description),
    h("div", { class: "buy" },
      stockNote(product.stock),
      product.stock > 0 ? addButton(product, () => 1, answer) : null,
    ),
    answer,
  );
}

export function stockNote(stock) {
  if (stock <= 0) return h("span", { class: "stock out" }, "Sold out");
  if (stock <= LOW_STOCK) return h("span", { class: "stock low" }, stockLeft(stock));
  return h("span", { class: "stock" }, "In stock");
}

function addButton(product, quantity, answer) {
  return actionButton({
    label: "Add to cart",
    busyLabel: "Adding…",
    className: "button small",
    // The visible words first, so a voice command "Add to cart" finds it.
    "aria-label": `Add to cart: ${product.name}`,
    action: () => addToCart(product, quantity(), answer),
  });
}

async function addToCart(product, quantity, answer) {
  if (!isSignedIn()) return navigate(`/signin?next=${encodeURIComponent(currentPath())}`);
  answer.textContent = "";
  try {
    const cart = await api("/cart/items/", { method: "POST", auth: true, body: { product_id: product.id, quantity } });
    cartChanged(cart);
    const line = cart.items.find((item) => item.product_id === product.id);
    answer.className = "added";
    answer.textContent = `✓ In your cart: ${line?.quantity ?? quantity}`;
  } catch (error) {
    answer.className = "field-error";
    answer.textContent = messageFor(error, { not_found: "This product is no longer on sale." });
  }
  return undefined;
}

function pager(answer, search, page) {
  const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));
  if (pages === 1) return null;
  const link = (target, label, rel) => {
    const params = new URLSearchParams({ page: target });
    if (search) params.set("q", search);
    return h("a", { class: "button secondary small", href: `#/products?${params}`, rel }, label);
  };
  return h("nav", { class: "pager", "aria-label": "Pages" },
    page > 1 ? link(page - 1, "← Previous", "prev") : h("span", {}),
    h("span", {}, `Page ${page} of ${pages}`),
    page < pages ? link(page + 1, "Next →", "next") : h("span", {}),
  );
}

export async function productScreen({ view, params, signal }) {
  const head = screenHead("Product", null, { href: "#/products", label: "All products" });
  const body = h("div", {}, loading());
  view.append(head, body);
  let product;
  try {
    product = await api(`/products/${encodeURIComponent(params.id)}/`, { signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    fill(body, loadFailed(error, () => navigate(currentPath()), { not_found: "This product is no longer on sale." }));
    return;
  }
  head.querySelector("h1").textContent = product.name;
  document.title = `${product.name} · Shop`;
  fill(body, productDetail(product));
}

function productDetail(product) {
  const card = h("div", { class: "card product-detail" },
    h("p", { class: "price" }, formatMoney(product.price, product.currency)),
    stockNote(product.stock),
    h("p", { class: "description" }, product.description),
  );
  if (product.stock <= 0) return card;
  const quantity = field({
    name: "quantity", label: "Quantity", type: "number", inputmode: "numeric",
    min: 1, max: Math.min(product.stock, 1000), value: "1", check: checks.quantity(Math.min(product.stock, 1000)),
  });
  const add = form({
    fields: [quantity],
    submitLabel: "Add to cart",
    busyLabel: "Adding…",
    codeFields: { insufficient_stock: "quantity" },
    onSubmit: async (values) => {
      if (!isSignedIn()) return navigate(`/signin?next=${encodeURIComponent(currentPath())}`);
      const cart = await api("/cart/items/", { method: "POST", auth: true, body: { product_id: product.id, quantity: Number(values.quantity) } });
      cartChanged(cart);
      fill(added, `${product.name} is in your cart. `, h("a", { href: "#/cart" }, "See your cart"));
      return undefined;
    },
  });
  const added = h("p", { class: "notice notice-success", role: "status" });
  card.append(add.element, added);
  return card;
}
