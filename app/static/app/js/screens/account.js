// Sign in, register, forgot password, reset password.

import { api } from "../api.js";
import { announce, h } from "../dom.js";
import { checks, field, form } from "../forms.js";
import { notice, screenHead } from "../layout.js";
import { SESSION_NOTICES, messageFor } from "../messages.js";
import { HOME, navigate } from "../router.js";
import { startSession } from "../session.js";

export function signInScreen({ view, query }) {
  const next = safeNext(query.get("next"));
  const reason = SESSION_NOTICES[query.get("notice")];
  const email = field({ name: "email", label: "Email", type: "email", autocomplete: "email", check: checks.email, value: query.get("email") ?? "" });
  const password = field({ name: "password", label: "Password", type: "password", autocomplete: "current-password", check: checks.password });
  const signIn = form({
    fields: [email, password],
    submitLabel: "Sign in",
    busyLabel: "Signing in…",
    before: reason ? [notice("info", h("p", {}, reason))] : [],
    onSubmit: async (values) => {
      await logIn(values.email, values.password);
      navigate(next, { replace: true });
    },
  });
  view.append(
    screenHead("Sign in", "Welcome back. Sign in to shop and pay."),
    h("div", { class: "card" }, signIn.element),
    h("div", { class: "links" },
      h("a", { href: "#/forgot" }, "Forgot your password?"),
      h("a", { href: `#/register${next === HOME ? "" : `?next=${encodeURIComponent(next)}`}` }, "New here? Create an account"),
    ),
  );
}

export function registerScreen({ view, query }) {
  const next = safeNext(query.get("next"));
  const name = field({ name: "full_name", label: "Your name", optional: true, autocomplete: "name", maxlength: 200 });
  const email = field({ name: "email", label: "Email", type: "email", autocomplete: "email", check: checks.email });
  const password = field({
    name: "password", label: "Password", type: "password", autocomplete: "new-password",
    hint: "8 to 128 characters.", check: checks.newPassword,
  });
  const register = form({
    fields: [name, email, password],
    submitLabel: "Create account",
    busyLabel: "Creating your account…",
    codeFields: { email_taken: "email" },
    onSubmit: async (values) => {
      const account = { email: values.email.trim(), password: values.password, full_name: values.full_name.trim() || null };
      await api("/register/", { method: "POST", body: account });
      await logIn(account.email, account.password);
      announce("Your account is ready.");
      navigate(next, { replace: true });
    },
  });
  view.append(
    screenHead("Create an account", "One account for your cart, your orders and your payments."),
    h("div", { class: "card" }, register.element),
    h("div", { class: "links" }, h("a", { href: "#/signin" }, "Already have an account? Sign in")),
  );
}

export function forgotScreen({ view }) {
  const email = field({ name: "email", label: "Email", type: "email", autocomplete: "email", check: checks.email });
  const card = h("div", { class: "card" });
  const ask = form({
    fields: [email],
    submitLabel: "Email me a link",
    busyLabel: "Sending…",
    codeFields: { email_not_found: "email" },
    onSubmit: async (values) => {
      const address = values.email.trim();
      await api("/password-reset/", { method: "POST", body: { email: address } });
      card.replaceChildren(sentNotice(address));
      card.querySelector("p")?.focus();
    },
  });
  card.append(ask.element);
  view.append(
    screenHead("Forgot your password?", "Enter the email of your account: we will send you a link to choose a new password."),
    card,
    h("div", { class: "links" }, h("a", { href: "#/signin" }, "Back to sign in")),
  );
}

function sentNotice(address) {
  return notice("success",
    h("p", { tabindex: "-1" }, h("strong", {}, "Check your email. "),
      `If ${address} has an account, a link is on its way. It works once and expires soon.`),
  );
}

export function resetScreen({ view, query }) {
  const token = query.get("token");
  view.append(screenHead("Choose a new password"));
  if (!token) {
    view.append(linkProblem("This link is incomplete. Open the link from the email again."));
    return;
  }
  const password = field({
    name: "new_password", label: "New password", type: "password", autocomplete: "new-password",
    hint: "8 to 128 characters.", check: checks.newPassword,
  });
  const repeat = field({
    name: "repeat", label: "Repeat the new password", type: "password", autocomplete: "new-password",
    check: (value) => (value === password.input.value ? null : "The two passwords differ."),
  });
  const card = h("div", { class: "card" });
  const reset = form({
    fields: [password, repeat],
    submitLabel: "Save the new password",
    busyLabel: "Saving…",
    onSubmit: async (values) => {
      try {
        await api("/password-reset/confirm/", { method: "POST", body: { token, new_password: values.new_password } });
      } catch (error) {
        if (error.code !== "token_expired" && error.code !== "token_invalid") throw error;
        const problem = linkProblem(messageFor(error));
        card.replaceWith(problem);
        problem.querySelector("p").focus();
        return;
      }
      // The token is spent: it leaves the address bar and the history entry.
      navigate("/signin?notice=password-changed", { replace: true });
    },
  });
  card.append(reset.element);
  view.append(card);
}

function linkProblem(text) {
  return notice("error", h("p", { tabindex: "-1" }, text), h("a", { class: "button", href: "#/forgot" }, "Ask for a new link"));
}

async function logIn(email, password) {
  const pair = await api("/login/", { method: "POST", body: { email: email.trim(), password } });
  startSession(pair);
}

// Only an address inside this app: `next` comes from the URL and could point anywhere.
function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : HOME;
}
