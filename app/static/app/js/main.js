// The shop client: wiring of screens, the tab bar, and the session.

import { onCartCount, refreshCartCount } from "./cart-state.js";
import { h } from "./dom.js";
import { registerScreen, resetScreen, forgotScreen, signInScreen } from "./screens/account.js";
import { cartScreen, checkoutScreen } from "./screens/cart.js";
import { productListScreen, productScreen } from "./screens/catalog.js";
import { ordersScreen } from "./screens/orders.js";
import { paymentScreen } from "./screens/payment.js";
import { HOME, currentPath, navigate, onNavigate, route, start } from "./router.js";
import { isSignedIn, onSessionChange, renewSession, signOut } from "./session.js";

route("/signin", signInScreen, { signedOut: true });
route("/register", registerScreen, { signedOut: true });
route("/forgot", forgotScreen);
route("/reset", resetScreen);
route("/products", productListScreen);
route("/products/:id", productScreen);
route("/cart", cartScreen, { signedIn: true });
route("/checkout", checkoutScreen, { signedIn: true });
route("/orders", ordersScreen, { signedIn: true });
route("/orders/:id/pay", paymentScreen, { signedIn: true });

const TABS = [
  { path: "/products", label: "Products", icon: "products" },
  { path: "/cart", label: "Cart", icon: "cart", badge: true },
  { path: "/orders", label: "Orders", icon: "orders" },
];

let cartCount = 0;

function drawTabs(path = currentPath().split("?")[0]) {
  const tabs = TABS.map((tab) => {
    const here = path === tab.path || path.startsWith(`${tab.path}/`);
    const count = tab.badge && isSignedIn() && cartCount > 0 ? cartCount : null;
    const badge = count
      ? h("span", { class: "badge" }, String(count), h("span", { class: "visually-hidden" }, count === 1 ? " item" : " items"))
      : null;
    return h("a", { href: `#${tab.path}`, "aria-current": here ? "page" : null },
      icon(tab.icon), h("span", {}, tab.label, " ", badge));
  });
  const account = isSignedIn()
    ? h("button", { type: "button", onclick: leave }, icon("account"), h("span", {}, "Sign out"))
    : h("a", { href: "#/signin", "aria-current": path === "/signin" ? "page" : null }, icon("account"), h("span", {}, "Sign in"));
  document.getElementById("tabs").replaceChildren(...tabs, account);
}

function icon(name) {
  return h("span", { class: `tab-icon icon-${name}`, "aria-hidden": "true" });
}

async function leave() {
  await signOut();
}

function watchConnection() {
  const banner = document.getElementById("offline-banner");
  const update = () => { banner.hidden = navigator.onLine; };
  window.addEventListener("online", update);
  window.addEventListener("offline", update);
  update();
}

// The emailed link opens /reset-password?token=...: the token moves from the
// query, which servers log, to the fragment, which no request ever carries.
function adoptResetLink() {
  if (location.pathname.replace(/\/$/, "") !== "/reset-password") return;
  const token = new URLSearchParams(location.search).get("token") ?? "";
  const screen = token ? `/reset?token=${encodeURIComponent(token)}` : "/reset";
  history.replaceState(null, "", `/app/#${screen}`);
}

async function boot() {
  adoptResetLink();
  onNavigate(drawTabs);
  onCartCount((count) => { cartCount = count; drawTabs(); });
  onSessionChange((reason) => {
    drawTabs();
    if (reason === "signed-in") refreshCartCount();
    if (reason === "signed-out") navigate("/signin?notice=signed-out", { replace: true });
    if (reason === "expired") {
      // Back to where the shopper was, once signed in again.
      const next = encodeURIComponent(currentPath());
      navigate(`/signin?notice=expired&next=${next}`, { replace: true });
    }
    if (reason !== "signed-in") refreshCartCount();
  });
  watchConnection();
  // After a reload only the refresh token is left: trade it before the first screen.
  if (isSignedIn()) await renewSession();
  if (!location.hash) history.replaceState(null, "", `#${HOME}`);
  start();
  refreshCartCount();
}

boot();
