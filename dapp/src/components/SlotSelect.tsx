"use client";
// Choosing a delivery slot: the market's order book, the city pool's clearings, an order form.
import { slotStart } from "@/lib/format";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";
import { Field, inputClass } from "./ui";

/** A labelled choice of a delivery slot among `slots`, each named by its number and its start
 * on the community's clock. The chosen `slot` is always offered, so that the box shows what is
 * chosen even when the list has moved on without it. */
export function SlotSelect({
  id,
  slots,
  slot,
  onChange,
}: {
  id: string;
  slots: readonly number[];
  slot: number | undefined;
  onChange: (slot: number) => void;
}) {
  const { t, f } = useI18n();
  const m = useRuntime().market;
  const offered = slot === undefined || slots.includes(slot) ? slots : [slot, ...slots];
  return (
    <Field label={t.market.deliverySlot} htmlFor={id}>
      <select id={id} className={inputClass} value={slot} onChange={(e) => onChange(Number(e.target.value))}>
        {offered.map((s) => (
          <option key={s} value={s}>
            {t.common.slotLabel(s, f.clock(slotStart(m, s)))}
          </option>
        ))}
      </select>
    </Field>
  );
}
