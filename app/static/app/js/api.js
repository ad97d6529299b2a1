// The JSON API as the app sees it: every call, every error as an `ApiError`.

import { currentAccessToken, isSignedIn, renewSession } from "./session.js";

/** A refusal from the API (`status` 4xx/5xx), or no answer at all (`network_error`). */
export class ApiError extends Error {
  constructor(status, body, headers = null) {
    super(body.detail ?? `HTTP ${status}`);
    this.status = status;
    // Seconds to wait before trying again, when the API says (429).
    this.retryAfter = Number.parseInt(headers?.get("Retry-After") ?? "", 10) || null;
    this.body = body;
    this.code = body.code ?? `http_${status}`;
    this.detail = body.detail;
    this.errors = Array.isArray(body.errors) ? body.errors : [];
  }

  get isNetworkError() {
    return this.code === "network_error";
  }
}

/**
 * Call the API and answer its JSON (null for 204).
 * `auth` sends the access token, renewed once on a 401; `idempotencyKey` makes
 * a retried creation safe (checkout, payment).
 */
export async function api(path, { method = "GET", body, auth = false, idempotencyKey, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const init = { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) };
  const response = auth ? await fetchSignedIn(path, init) : await send(path, init);
  return readAnswer(response);
}

/** `fetch` with the bearer token; one quiet renewal and retry on a 401. */
export async function fetchSignedIn(path, init = {}) {
  if (currentAccessToken() === null && isSignedIn()) await renewSession();
  const sentWith = currentAccessToken();
  let response = await send(path, withToken(init, sentWith));
  if (response.status !== 401) return response;
  // Renewed by another call while this one was on its way: just send it again.
  const renewed = currentAccessToken() !== sentWith || (await renewSession());
  if (renewed) response = await send(path, withToken(init, currentAccessToken()));
  return response;
}

/** A fresh key for one intended action, kept across its retries. */
export function newIdempotencyKey() {
  if (window.isSecureContext && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function withToken(init, token) {
  const headers = { ...init.headers };
  if (token) headers.Authorization = `Bearer ${token}`;
  return { ...init, headers };
}

async function send(path, init) {
  try {
    return await fetch(path, { credentials: "omit", cache: "no-store", ...init });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { code: "network_error", detail: "The shop could not be reached" });
  }
}

async function readAnswer(response) {
  if (response.status === 204) return null;
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok) return body;
  throw new ApiError(response.status, body && typeof body === "object" ? body : {}, response.headers);
}
