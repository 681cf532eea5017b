"use client";
// The fields every order form asks for, in an open market (place) and a sealed one (commit):
// delivery slot, side, limit price, quantity. The forms own the state and the checks; the hints
// differ (an open buy shows its escrow, a sealed order its collateral elsewhere).
import { Field, inputClass } from "@/components/ui";
import { priceOfTick, slotStart } from "@/lib/format";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";

export type Side = "buy" | "sell";

export interface OrderFieldsProps {
  slots: number[];
  slot: number | undefined;
  onSlot: (text: string) => void;
  side: Side;
  onSide: (side: Side) => void;
  priceLabel: string;
  priceText: string;
  onPrice: (text: string) => void;
  /** The tick the typed price falls on (null: none yet), shown in the price's hint. */
  tick: number | null;
  quantityHint: string;
  quantityText: string;
  onQuantity: (text: string) => void;
}

export function OrderFields(props: OrderFieldsProps) {
  const { t, f } = useI18n();
  const m = useRuntime().market;
  const { slots, slot, side, tick } = props;
  return (
    <>
      <Field label={t.market.deliverySlot} htmlFor="order-slot">
        <select id="order-slot" className={inputClass} value={slot} onChange={(e) => props.onSlot(e.target.value)}>
          {slots.map((s) => (
            <option key={s} value={s}>
              {t.common.slotLabel(s, f.clock(slotStart(m, s)))}
            </option>
          ))}
        </select>
      </Field>
      <fieldset className="flex flex-col gap-1">
        <legend className="text-sm font-medium text-slate-700">{t.trade.side}</legend>
        <div className="flex gap-4 text-sm">
          {(["buy", "sell"] as const).map((s) => (
            <label key={s} className="flex items-center gap-1">
              <input type="radio" name="side" value={s} checked={side === s} onChange={() => props.onSide(s)} />
              {s === "buy" ? t.trade.buyEnergy : t.trade.sellEnergy}
            </label>
          ))}
        </div>
      </fieldset>
      <Field
        label={props.priceLabel}
        htmlFor="order-price"
        hint={t.trade.priceHint(
          f.money(priceOfTick(m, 0)),
          f.money(priceOfTick(m, m.maxTick)),
          f.money(m.tickSize),
          tick !== null ? t.trade.tickIs(tick, f.money(priceOfTick(m, tick))) : "",
        )}
      >
        <input
          id="order-price"
          inputMode="decimal"
          autoComplete="off"
          className={inputClass}
          value={props.priceText}
          onChange={(e) => props.onPrice(e.target.value)}
        />
      </Field>
      <Field label={t.trade.quantity} htmlFor="order-qty" hint={props.quantityHint}>
        <input
          id="order-qty"
          inputMode="numeric"
          autoComplete="off"
          className={inputClass}
          value={props.quantityText}
          onChange={(e) => props.onQuantity(e.target.value)}
        />
      </Field>
    </>
  );
}
