// Money arrives as integer minor units; it is shown without ever becoming a float.

const formatters = new Map();

function formatter(currency) {
  if (!formatters.has(currency)) {
    formatters.set(currency, new Intl.NumberFormat(undefined, { style: "currency", currency }));
  }
  return formatters.get(currency);
}

/** `formatMoney(2799, "USD")` is "$27.99": the decimal point is placed as text. */
export function formatMoney(minorUnits, currency) {
  const format = formatter(currency);
  const digits = format.resolvedOptions().maximumFractionDigits;
  const sign = minorUnits < 0 ? "-" : "";
  const plain = String(Math.abs(minorUnits)).padStart(digits + 1, "0");
  const decimal = digits ? `${plain.slice(0, -digits)}.${plain.slice(-digits)}` : plain;
  // Intl formats a decimal string exactly, with no binary rounding on the way.
  return format.format(`${sign}${decimal}`);
}
