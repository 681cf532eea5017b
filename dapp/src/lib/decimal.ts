// Exact decimal numbers as text, in the browser's locale. Money and energy travel as bigint base
// units (payment-token units, Wh); nothing here goes through a JavaScript number, so an 18-decimal
// token displays and parses to the last unit.

/** A locale's separators and minus sign, as Intl formats numbers. */
export interface NumberSymbols {
  decimal: string;
  group: string;
  minus: string;
}

const symbolsCache = new Map<string, NumberSymbols>();

export function numberSymbols(locale: string): NumberSymbols {
  const cached = symbolsCache.get(locale);
  if (cached) return cached;
  const parts = new Intl.NumberFormat(locale, { useGrouping: true }).formatToParts(-12345.6);
  const symbols = {
    decimal: parts.find((p) => p.type === "decimal")?.value ?? ".",
    group: parts.find((p) => p.type === "group")?.value ?? ",",
    minus: parts.find((p) => p.type === "minusSign")?.value ?? "-",
  };
  symbolsCache.set(locale, symbols);
  return symbols;
}

/** `amount` / 10^`decimals` as a plain decimal string ("-12.5", "0.000000000000000001"). */
export function unitsToDecimal(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = decimals > 0 ? digits.slice(digits.length - decimals).replace(/0+$/, "") : "";
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/** A plain decimal string ("12.50") as bigint base units; the caller checked the precision. */
export function decimalToUnits(value: string, decimals: number): bigint {
  const negative = value.startsWith("-");
  const [whole = "0", fraction = ""] = (negative ? value.slice(1) : value).split(".");
  if (fraction.length > decimals) throw new Error(`${value} has more than ${decimals} decimals`);
  const units = BigInt(whole || "0") * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  return negative ? -units : units;
}

/** Round a plain decimal string half away from zero to `digits` fraction digits. */
function roundDecimal(value: string, digits: number): string {
  const negative = value.startsWith("-");
  const [whole = "0", fraction = ""] = (negative ? value.slice(1) : value).split(".");
  if (fraction.length <= digits) return value;
  let units = BigInt(whole + fraction.slice(0, digits).padEnd(digits, "0"));
  if (Number(fraction[digits]) >= 5) units += 1n;
  const rounded = unitsToDecimal(units, digits);
  return negative && units !== 0n ? `-${rounded}` : rounded;
}

export interface DecimalStyle {
  /** At least this many fraction digits (zeros added). */
  minFraction?: number;
  /** At most this many (rounded half away from zero); default: every digit, exactly. */
  maxFraction?: number;
}

/** A plain decimal string in `locale`: grouped whole part, the locale's decimal separator. */
export function formatDecimal(value: string, locale: string, style: DecimalStyle = {}): string {
  const rounded = style.maxFraction === undefined ? value : roundDecimal(value, style.maxFraction);
  const negative = rounded.startsWith("-");
  const [whole = "0", rawFraction = ""] = (negative ? rounded.slice(1) : rounded).split(".");
  const fraction = rawFraction.replace(/0+$/, "").padEnd(style.minFraction ?? 0, "0");
  const symbols = numberSymbols(locale);
  const grouped = new Intl.NumberFormat(locale, { useGrouping: true }).format(BigInt(whole));
  const zero = /^0*$/.test(whole) && /^0*$/.test(fraction);
  return `${negative && !zero ? symbols.minus : ""}${grouped}${fraction ? symbols.decimal + fraction : ""}`;
}

/** Why a typed number was refused (the UI words it in the user's language). */
export type InputProblem =
  | { kind: "empty" }
  | { kind: "invalid"; text: string }
  | { kind: "negative" }
  | { kind: "ambiguous"; text: string; asGrouped: string; asDecimal: string }
  | { kind: "too_precise"; decimals: number }
  | { kind: "not_integer" }
  | { kind: "too_large"; max: string };

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: InputProblem };

const SPACES = /[\s\u00a0\u202f'’]/g;
const WELL_GROUPED = /^[1-9]\d{0,2}(?:x\d{3})+$/;

/** Digits of `marked` ("1x234x567") when its groups are well formed, else null. */
function grouped(marked: string): string | null {
  return WELL_GROUPED.test(marked) ? marked.replaceAll("x", "") : null;
}

/** Whole and fraction digits of `body` read with `point` as decimal and `group` as grouping. */
function readNumber(body: string, point: string | null, group: string | null): [string, string] | null {
  let head = body;
  let tail = "";
  if (point !== null) {
    const parts = body.split(point);
    if (parts.length !== 2) return null;
    [head = "", tail = ""] = parts;
    if (!/^\d*$/.test(tail)) return null;
  }
  if (group !== null) head = head.replaceAll(group, "x");
  if (head.includes("x")) {
    const digits = grouped(head);
    if (digits === null) return null;
    head = digits;
  }
  if (!/^\d*$/.test(head) || (head === "" && tail === "")) return null;
  return [head, tail];
}

/**
 * A number typed in `locale` as a plain decimal string ("1234.5"), refusing what could be read
 * two ways. Accepted: the locale's decimal separator ("0,32" in German), grouping before it
 * ("1.234,5"), the other convention when its structure says which it is ("1,234.5"; "0.32" in
 * German, as the separator cannot be grouping there), spaces and apostrophes as grouping.
 * Refused as ambiguous: one separator of the other kind followed by exactly three digits
 * ("1.234" in German, "1,234" in English: a thousand or one point two?).
 */
export function parseDecimalInput(text: string, locale: string, maxDecimals: number): Parsed<string> {
  let s = text.trim();
  if (s === "") return { ok: false, problem: { kind: "empty" } };
  if (/^[-−]/.test(s)) return { ok: false, problem: { kind: "negative" } };
  if (s.startsWith("+")) s = s.slice(1);
  const invalid: Parsed<string> = { ok: false, problem: { kind: "invalid", text } };
  if (!/^[\d.,\s\u00a0\u202f'’]+$/.test(s) || !/\d/.test(s)) return invalid;
  const body = s.replace(SPACES, "x");
  const { decimal } = numberSymbols(locale);
  const dots = body.split(".").length - 1;
  const commas = body.split(",").length - 1;
  let read: [string, string] | null;
  if (dots > 0 && commas > 0) {
    const point = body.lastIndexOf(".") > body.lastIndexOf(",") ? "." : ",";
    read = readNumber(body, point, point === "." ? "," : ".");
  } else if (dots + commas === 0) {
    read = readNumber(body, null, null);
  } else {
    const sep = dots > 0 ? "." : ",";
    if (dots + commas > 1) {
      read = readNumber(body, null, sep);
    } else if (sep === decimal) {
      read = readNumber(body, sep, null);
    } else {
      const [head = "", tail = ""] = body.split(sep);
      const asGrouped = /^\d{3}$/.test(tail) ? grouped(`${head}x${tail}`) : null;
      if (asGrouped !== null) {
        const asDecimal = `${head.replaceAll("x", "")}.${tail}`;
        return { ok: false, problem: { kind: "ambiguous", text, asGrouped, asDecimal } };
      }
      read = readNumber(body, sep, null);
    }
  }
  if (read === null) return invalid;
  const [whole, fraction] = read;
  if (fraction.length > maxDecimals) {
    return {
      ok: false,
      problem: maxDecimals === 0 ? { kind: "not_integer" } : { kind: "too_precise", decimals: maxDecimals },
    };
  }
  const normalWhole = whole.replace(/^0+(?=\d)/, "") || "0";
  return { ok: true, value: fraction ? `${normalWhole}.${fraction}` : normalWhole };
}

/** An amount of a token with `decimals` decimals, typed in `locale`, as base units. */
export function parseUnitsInput(text: string, locale: string, decimals: number, max?: bigint): Parsed<bigint> {
  const parsed = parseDecimalInput(text, locale, decimals);
  if (!parsed.ok) return { ok: false, problem: parsed.problem };
  const units = decimalToUnits(parsed.value, decimals);
  if (max !== undefined && units > max) {
    return { ok: false, problem: { kind: "too_large", max: unitsToDecimal(max, decimals) } };
  }
  return { ok: true, value: units };
}

/** A whole number (Wh, W, basis points) typed in `locale`. */
export function parseIntegerInput(text: string, locale: string, max?: bigint): Parsed<bigint> {
  const parsed = parseDecimalInput(text, locale, 0);
  if (!parsed.ok) return { ok: false, problem: parsed.problem };
  const value = BigInt(parsed.value.split(".")[0] ?? "0");
  if (max !== undefined && value > max) return { ok: false, problem: { kind: "too_large", max: max.toString() } };
  return { ok: true, value };
}
