// Fields that check themselves as the shopper types, and forms that show the
// API's answer next to the field it names.

import { h, spinner, uniqueId } from "./dom.js";
import { FIELD_MESSAGES, messageFor } from "./messages.js";

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const checks = {
  email(value) {
    const email = value.trim();
    if (!email) return FIELD_MESSAGES.emailMissing;
    return EMAIL_SHAPE.test(email) ? null : FIELD_MESSAGES.emailShape;
  },
  password(value) {
    return value ? null : FIELD_MESSAGES.passwordMissing;
  },
  newPassword(value) {
    if (value.length < 8) return FIELD_MESSAGES.passwordShort(8 - value.length);
    return value.length > 128 ? FIELD_MESSAGES.passwordLong : null;
  },
  quantity(max) {
    return (value) => {
      if (!/^\d+$/.test(value.trim()) || Number(value) < 1) return FIELD_MESSAGES.quantityWhole;
      return Number(value) > max ? FIELD_MESSAGES.quantityMax(max) : null;
    };
  },
};

/**
 * A labelled input with a hint and a place for its error.
 * `check(value)` answers an error message or null; it runs as the shopper types
 * once the field has been left (or the form sent), so nobody is scolded mid-word.
 */
export function field({ name, label, type = "text", hint, optional = false, check = () => null, ...attributes }) {
  const id = uniqueId(name);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const input = h("input", {
    id, name, type, "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
    required: !optional, ...attributes,
  });
  const error = h("p", { class: "field-error", id: errorId, hidden: true });
  const element = h("div", { class: "field" },
    h("label", { for: id }, label, optional ? h("span", { class: "optional" }, " (optional)") : null),
    input,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    error,
  );
  let touched = false;

  const self = {
    name, element, input,
    showError(text) {
      error.textContent = text ?? "";
      error.hidden = !text;
      input.setAttribute("aria-invalid", text ? "true" : "false");
    },
    /** Check now; answer true when the value is acceptable. */
    validate() {
      touched = true;
      const problem = check(input.value);
      self.showError(problem);
      return problem === null;
    },
  };
  input.addEventListener("input", () => {
    const problem = check(input.value);
    if (touched || problem === null) self.showError(problem);
  });
  input.addEventListener("blur", () => {
    if (input.value !== "") self.validate();
  });
  return self;
}

/**
 * A form that validates, shows progress on its button, refuses a second press,
 * and puts the API's errors next to their fields (or above the button).
 * `onSubmit(values)` may throw an `ApiError`; `context` words its codes;
 * `codeFields` names the field a domain error belongs to (email_taken → email).
 */
export function form({ fields, submitLabel, busyLabel, onSubmit, context = {}, codeFields = {}, before = [] }) {
  const status = h("div", { class: "notice notice-error", role: "alert", hidden: true });
  const button = h("button", { class: "button wide", type: "submit" }, submitLabel);
  const element = h("form", { novalidate: true }, before, fields.map((f) => f.element), status, button);

  function showProblem(text, retry = false) {
    status.replaceChildren(h("p", {}, text));
    if (retry) {
      status.append(h("button", { class: "button secondary small", type: "submit" }, "Try again"));
    }
    status.hidden = !text;
  }

  function showApiError(error) {
    const unplaced = [];
    for (const problem of error.errors) {
      const target = fields.find((f) => f.name === problem.field);
      if (target) target.showError(sentence(problem.message));
      else unplaced.push(sentence(problem.message));
    }
    const ownField = fields.find((f) => f.name === codeFields[error.code]);
    if (ownField) {
      ownField.showError(messageFor(error, context));
      ownField.input.focus();
      showProblem(unplaced.join(" "));
      return;
    }
    const invalid = fields.find((f) => f.input.getAttribute("aria-invalid") === "true");
    if (error.errors.length && invalid) invalid.input.focus();
    showProblem([messageFor(error, context), ...unplaced].join(" "), error.isNetworkError);
  }

  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (isBusy(button)) return;
    showProblem("");
    const invalid = fields.filter((f) => !f.validate());
    if (invalid.length) {
      invalid[0].input.focus();
      showProblem(FIELD_MESSAGES.fixFields);
      return;
    }
    const values = Object.fromEntries(fields.map((f) => [f.name, f.input.value]));
    await withBusy(button, busyLabel, async () => {
      try {
        await onSubmit(values);
      } catch (error) {
        // Aborted: the shopper left the screen, nobody is there to tell.
        if (error.name === "AbortError") return;
        if (!("code" in error)) throw error;
        showApiError(error);
      }
    });
  });
  return { element, button, fields, showProblem, showApiError };
}

export function isBusy(button) {
  return button.getAttribute("aria-busy") === "true";
}

/**
 * Run `action` with the button showing progress; a second press meanwhile does
 * nothing. The button keeps focus (aria-disabled, not disabled), so a keyboard
 * user is not thrown back to the top of the page.
 */
export async function withBusy(button, busyLabel, action) {
  if (isBusy(button)) return undefined;
  const idle = Array.from(button.childNodes);
  button.setAttribute("aria-busy", "true");
  button.setAttribute("aria-disabled", "true");
  button.replaceChildren(spinner(), busyLabel);
  try {
    return await action();
  } finally {
    button.replaceChildren(...idle);
    button.removeAttribute("aria-busy");
    button.removeAttribute("aria-disabled");
  }
}

/** A plain button whose click runs `action` with progress shown and presses guarded. */
export function actionButton({ label, busyLabel, action, className = "button", ...attributes }) {
  const button = h("button", { class: className, type: "button", ...attributes }, label);
  button.addEventListener("click", () => withBusy(button, busyLabel, action).catch(ignoreAbort));
  return button;
}

/** For a promise nobody awaits: leaving a screen is not an error. */
export function ignoreAbort(error) {
  if (error?.name !== "AbortError") throw error;
}

function sentence(text) {
  const trimmed = String(text ?? "").trim();
  if (!trimmed) return "";
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
