// Following a payment until it is final: live over Server-Sent Events, or by
// polling when the stream is unavailable.
//
// EventSource cannot send an Authorization header, so the stream is read with
// fetch() and a ReadableStream reader, signed in like every other call.

import { api, fetchSignedIn } from "./api.js";

const FINAL = new Set(["succeeded", "failed"]);
const STREAM_RECONNECTS = 3;
const POLL_START_MS = 1000;
const POLL_MAX_MS = 5000;

class StreamUnavailable extends Error {}

/**
 * Call `onPayment` with each state of the payment; resolve with the final one.
 * `onConnection("live" | "reconnecting" | "polling")` says how it is followed.
 * A stream that fails before its first event is unavailable: polling takes over.
 */
export async function followPayment(paymentId, { onPayment, onConnection = () => {}, signal }) {
  for (let attempt = 0; attempt <= STREAM_RECONNECTS; attempt += 1) {
    const seen = { events: 0 };
    try {
      const last = await streamPayment(paymentId, { onPayment, onConnection, signal, seen });
      if (last && FINAL.has(last.status)) return last;
    } catch (error) {
      if (signal.aborted) throw error;
      if (seen.events === 0) break;
    }
    // The stream ended early (a proxy's time limit, a lost connection): resume.
    onConnection("reconnecting");
    await pause(POLL_START_MS, signal);
  }
  onConnection("polling");
  return pollPayment(paymentId, onPayment, signal);
}

async function streamPayment(paymentId, { onPayment, onConnection, signal, seen }) {
  const response = await fetchSignedIn(`/payments/${paymentId}/events/`, {
    headers: { Accept: "text/event-stream" }, signal,
  });
  const type = response.headers.get("Content-Type") ?? "";
  if (!response.ok || !type.startsWith("text/event-stream") || !response.body) {
    throw new StreamUnavailable(`the stream answered ${response.status}`);
  }
  onConnection("live");
  let last = null;
  for await (const event of serverSentEvents(response.body)) {
    if (event.type !== "payment") continue;
    seen.events += 1;
    last = JSON.parse(event.data);
    onPayment(last);
    if (FINAL.has(last.status)) break;
  }
  return last;
}

/** The events of a `text/event-stream` body, as `{ type, data }`. */
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let type = "message";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\n|\r/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === "") {
          if (data.length) yield { type, data: data.join("\n") };
          type = "message";
          data = [];
        } else if (!line.startsWith(":")) {
          const [field, value] = splitField(line);
          if (field === "event") type = value;
          if (field === "data") data.push(value);
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function splitField(line) {
  const colon = line.indexOf(":");
  if (colon < 0) return [line, ""];
  const value = line.slice(colon + 1);
  return [line.slice(0, colon), value.startsWith(" ") ? value.slice(1) : value];
}

async function pollPayment(paymentId, onPayment, signal) {
  let wait = POLL_START_MS;
  for (;;) {
    try {
      const payment = await api(`/payments/${paymentId}/`, { auth: true, signal });
      onPayment(payment);
      if (FINAL.has(payment.status)) return payment;
    } catch (error) {
      if (signal.aborted || !error.isNetworkError) throw error;
    }
    await pause(wait, signal);
    wait = Math.min(wait * 1.5, POLL_MAX_MS);
  }
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
