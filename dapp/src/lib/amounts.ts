"use client";
// Amount fields: what the user typed, in their locale, to exact bigint units, or one clear
// sentence naming the field (nothing is sent then).
import { useMemo } from "react";
import { parseDecimalInput, parseIntegerInput, parseUnitsInput, type Parsed } from "./decimal";
import { useI18n } from "./i18n";
import { useRuntime } from "./runtime";

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export interface AmountInputs {
  /** Money of the payment token (its decimals), as base units. */
  money: (label: string, text: string, max?: bigint) => Checked<bigint>;
  /** A whole number: Wh, W, basis points. */
  integer: (label: string, text: string, max?: bigint) => Checked<bigint>;
  /** A decimal with at most `decimals` places, as a plain decimal string. */
  decimal: (label: string, text: string, decimals: number) => Checked<string>;
}

export function useAmountInputs(): AmountInputs {
  const cfg = useRuntime();
  const { t, f, locale } = useI18n();
  return useMemo(() => {
    const check = <T,>(label: string, parsed: Parsed<T>): Checked<T> =>
      parsed.ok ? parsed : { ok: false, error: t.input.field(label, t.input.problem(parsed.problem, f)) };
    return {
      money: (label, text, max) => check(label, parseUnitsInput(text, locale, cfg.token.decimals, max)),
      integer: (label, text, max) => check(label, parseIntegerInput(text, locale, max)),
      decimal: (label, text, decimals) => check(label, parseDecimalInput(text, locale, decimals)),
    };
  }, [cfg, t, f, locale]);
}
