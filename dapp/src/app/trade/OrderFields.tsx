"use client";
// The fields every order form asks for, in an open market (place) and a sealed one (commit):
// delivery slot, side, limit price, quantity, and their state (useOrderFields). The forms own
// the checks; the hints differ (an open buy shows its escrow, a sealed order its collateral
// elsewhere).
import { useState } from "react";
import { SlotSelect } from "@/components/SlotSelect";
import { TextField } from "@/components/ui";
import { priceOfTick } from "@/lib/format";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";

export type Side = "buy" | "sell";

export interface OrderFieldsProps {
  slots: number[];
  slot: number | undefined;
  onSlot: (slot: number) => void;
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

/** What an order form has typed: the slot (the first open one until one is chosen), the side,
 * the limit price and the quantity as text; `fields(tick, quantityHint)` are the props of
 * <OrderFields> showing and editing them. */
export function useOrderFields(slots: number[]) {
  const { t } = useI18n();
  const symbol = useRuntime().token.symbol;
  const [chosenSlot, setChosenSlot] = useState<number | null>(null);
  const [side, setSide] = useState<Side>("buy");
  const [priceText, setPriceText] = useState("");
  const [qtyText, setQtyText] = useState("");
  const slot = chosenSlot ?? slots[0];
  const priceLabel = t.trade.limitPrice(symbol);
  const fields = (tick: number | null, quantityHint: string): OrderFieldsProps => ({
    slots,
    slot,
    onSlot: setChosenSlot,
    side,
    onSide: setSide,
    priceLabel,
    priceText,
    onPrice: setPriceText,
    tick,
    quantityHint,
    quantityText: qtyText,
    onQuantity: setQtyText,
  });
  return { slot, side, priceLabel, priceText, qtyText, clearQuantity: () => setQtyText(""), fields };
}

export function OrderFields(props: OrderFieldsProps) {
  const { t, f } = useI18n();
  const m = useRuntime().market;
  const { slots, slot, side, tick } = props;
  return (
    <>
      <SlotSelect id="order-slot" slots={slots} slot={slot} onChange={props.onSlot} />
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
      <TextField
        id="order-price"
        label={props.priceLabel}
        hint={t.trade.priceHint(
          f.money(priceOfTick(m, 0)),
          f.money(priceOfTick(m, m.maxTick)),
          f.money(m.tickSize),
          tick !== null ? t.trade.tickIs(tick, f.money(priceOfTick(m, tick))) : "",
        )}
        kind="decimal"
        value={props.priceText}
        onChange={props.onPrice}
      />
      <TextField
        id="order-qty"
        label={t.trade.quantity}
        hint={props.quantityHint}
        kind="numeric"
        value={props.quantityText}
        onChange={props.onQuantity}
      />
    </>
  );
}
