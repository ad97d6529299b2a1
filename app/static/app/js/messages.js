// Every message the shopper reads about a problem, in one place.
//
// API errors are keyed by their `code`; a screen may pass a context that words a
// code for itself (what "not found" means on a product differs from an order).

export const ERROR_MESSAGES = {
  validation_error: "Some details need a fix: see the highlighted fields.",
  not_found: "We could not find this. It may have been removed.",
  method_not_allowed: "The shop could not do that. Reload the page and try again.",
  forbidden: "Your account is not allowed to do this.",
  not_authenticated: "Your session has ended. Sign in again.",
  internal_error: "Something went wrong on our side. Try again in a moment.",
  email_taken: "An account already uses this email. Sign in, or reset its password.",
  invalid_credentials: "The email or the password is wrong.",
  invalid_token: "Your session has ended. Sign in again.",
  email_not_found: "No account uses this email. Check it, or create an account.",
  token_invalid: "This link is not valid any more. Ask for a new one.",
  token_expired: "This link has expired. Ask for a new one.",
  insufficient_stock: (error, context) => stockProblem(error, context),
  currency_mismatch: "Your cart mixes currencies; this shop sells in one only.",
  cart_empty: "Your cart is empty. Add something first.",
  order_already_paid: "This order is already paid.",
  order_not_payable: "This order can no longer be paid: it was cancelled.",
  payment_in_progress: "A payment for this order is already being processed. Check your orders in a moment.",
  idempotency_key_reused: "This was already sent with other details. Reload the page and try again.",
  invalid_idempotency_key: "The app sent a malformed request. Reload the page and try again.",
  request_in_progress: "Your previous attempt is still being processed. Try again in a moment.",
  product_unavailable: (error, context) =>
    `${productName(error, context) ?? "A product in your cart"} is no longer sold. Remove it from your cart.`,
  cart_changed: "Your cart changed while you were checking out. Review it and try again.",
  concurrent_update: "The shop was busy with the same thing. Try again.",
  network_error: "We can't reach the shop. Check your connection and try again.",
  too_many_attempts: (error) => waitMessage(error),
  http_429: (error) => waitMessage(error),
};

const FALLBACK = "Something went wrong. Try again in a moment.";

/** The words for an `ApiError`, worded for the screen by `context` if it says so. */
export function messageFor(error, context = {}) {
  const message = context[error.code] ?? ERROR_MESSAGES[error.code];
  if (typeof message === "function") return message(error, context);
  return message ?? error.detail ?? FALLBACK;
}

function waitMessage(error) {
  const seconds = error.retryAfter;
  if (!seconds) return "Too many attempts. Wait a moment and try again.";
  return `Too many attempts. Try again in ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
}

/** "Only 2 left", or "Sold out"; with the product's name when the screen lists several. */
export function stockLeft(available) {
  if (available <= 0) return "Sold out";
  return `Only ${available} left`;
}

function stockProblem(error, context) {
  const left = stockLeft(error.body.available ?? 0);
  const name = context.nameEach ? productName(error, context) : null;
  return name ? `${left} of ${name}` : left;
}

function productName(error, context) {
  return context.names?.get(error.body.product_id) ?? null;
}

// Why a payment failed, by the gateway's decline code.
const DECLINE_MESSAGES = {
  generic_decline: "Your card was declined. Try another card.",
  card_declined: "Your card was declined. Try another card.",
  insufficient_funds: "Your card has insufficient funds. Try another card.",
  expired_card: "Your card has expired. Try another card.",
  incorrect_cvc: "Your card's security code is incorrect. Try again or use another card.",
  processing_error: "Your card could not be processed. Try again in a moment.",
};

export function declineMessage(payment) {
  return DECLINE_MESSAGES[payment.failure_code] ?? payment.failure_reason ?? "The payment was refused.";
}

export const ORDER_STATUS = {
  pending_payment: "Awaiting payment",
  paid: "Paid",
  cancelled: "Cancelled",
};

// What the fields say while the shopper types.
export const FIELD_MESSAGES = {
  emailMissing: "Enter your email address.",
  emailShape: "Enter an email address like name@example.com.",
  passwordMissing: "Enter your password.",
  passwordShort: (missing) => `Use at least 8 characters (${missing} more).`,
  passwordLong: "Use at most 128 characters.",
  passwordsDiffer: "The two passwords differ.",
  quantityWhole: "Enter a whole number of 1 or more.",
  quantityMax: (max) => (max > 0 ? `You can have at most ${max}.` : "Sold out"),
  fixFields: "Check the highlighted fields.",
};

export const SESSION_NOTICES = {
  expired: "Your session has ended. Sign in again.",
  "signed-out": "You are signed out.",
  "password-changed": "Your password is changed. Sign in with the new one.",
};
