// The signed-in session: tokens, and their quiet renewal.
//
// The access token lives in memory only. The refresh token is kept in
// sessionStorage: it survives a reload in this tab (a shopper who reloads mid-
// payment stays signed in) but not the tab itself, and no other tab reads it.

const REFRESH_KEY = "shop.refresh_token";
// Renew this long before the access token expires, so no request meets a 401.
const RENEW_MARGIN_SECONDS = 60;

let accessToken = null;
let renewTimer = null;
let renewing = null;
const listeners = new Set();

export function currentAccessToken() {
  return accessToken;
}

export function isSignedIn() {
  return accessToken !== null || storedRefreshToken() !== null;
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

/** Keep a fresh token pair from `/login/` or `/token/refresh/`. */
export function startSession(pair) {
  const wasSignedIn = isSignedIn();
  accessToken = pair.access_token;
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  scheduleRenewal(pair.expires_in);
  if (!wasSignedIn) notify("signed-in");
}

/** Trade the refresh token for a new pair; false when the session is over. */
export function renewSession() {
  // Concurrent 401s share one renewal: a refresh token works once.
  renewing ??= spendRefreshToken().finally(() => { renewing = null; });
  return renewing;
}

/** Revoke the session on the server, then forget it here whatever the answer. */
export async function signOut() {
  const refreshToken = storedRefreshToken();
  endSession("signed-out");
  if (refreshToken === null) return;
  try {
    await post("/logout/", { refresh_token: refreshToken });
  } catch {
    // Offline: the token is forgotten here and expires on its own.
  }
}

/** Forget the tokens; `reason` tells the listeners why. */
export function endSession(reason) {
  const wasSignedIn = isSignedIn();
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  clearTimeout(renewTimer);
  if (wasSignedIn) notify(reason);
}

function storedRefreshToken() {
  return sessionStorage.getItem(REFRESH_KEY);
}

function scheduleRenewal(expiresIn) {
  clearTimeout(renewTimer);
  const seconds = Math.max(expiresIn - RENEW_MARGIN_SECONDS, expiresIn / 2);
  renewTimer = setTimeout(() => { renewSession(); }, seconds * 1000);
}

async function spendRefreshToken() {
  const refreshToken = storedRefreshToken();
  if (refreshToken === null) return false;
  let response;
  try {
    response = await post("/token/refresh/", { refresh_token: refreshToken });
  } catch {
    return false; // Offline: keep the session; the next request tries again.
  }
  if (response.status === 401) {
    endSession("expired");
    return false;
  }
  if (!response.ok) return false;
  startSession(await response.json());
  return true;
}

function post(path, body) {
  return fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
}

function notify(reason) {
  for (const listener of listeners) listener(reason);
}
