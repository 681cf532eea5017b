"use client";
// Market: live order-book depth of the open slots, clearing-price chart, recent clearings.
import { useMemo, useState } from "react";
import { paths, type Depth, type Page, type PricePoint, type Slot } from "@/lib/api";
import { formatMoney, formatTime, formatWh, openSlots, slotLabel } from "@/lib/format";
import { useApi, useStatus } from "@/lib/hooks";
import { useLive, useRuntime } from "@/lib/runtime";
import { DepthBars, PriceChart } from "@/components/charts";
import { Empty, ErrorLine, Loading, Section, inputClass, tableClass, tdClass, thClass } from "@/components/ui";

function DepthView({ slot }: { slot: number }) {
  const cfg = useRuntime();
  const depth = useApi<Depth>(paths.depth(slot), 4_000);
  if (depth.isPending) return <Loading what="the order book" />;
  if (depth.error) return <ErrorLine error={depth.error} />;
  const d = depth.data;
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="depth">
      <table className={tableClass}>
        <caption className="mb-1 text-left text-sm text-slate-600">
          Order book of slot {slot} ({d.status}): {formatWh(d.total_buy_wh)} bid, {formatWh(d.total_sell_wh)} offered
        </caption>
        <thead>
          <tr>
            <th scope="col" className={thClass}>Price per kWh</th>
            <th scope="col" className={thClass}>Buy</th>
            <th scope="col" className={thClass}>Sell</th>
          </tr>
        </thead>
        <tbody>
          {[...d.levels]
            .sort((a, b) => b.tick - a.tick)
            .map((level) => (
              <tr key={level.tick} data-testid="depth-level" data-tick={level.tick}>
                <td className={tdClass}>{formatMoney(cfg, level.price)}</td>
                <td className={tdClass}>{level.buy_wh ? formatWh(level.buy_wh) : "–"}</td>
                <td className={tdClass}>{level.sell_wh ? formatWh(level.sell_wh) : "–"}</td>
              </tr>
            ))}
        </tbody>
      </table>
      {d.levels.length > 0 ? <DepthBars levels={d.levels} cfg={cfg} /> : <Empty>The book is empty.</Empty>}
    </div>
  );
}

function LiveEvents() {
  const live = useLive();
  return (
    <div>
      <p className="mb-2 text-sm">
        <span
          aria-hidden="true"
          className={`mr-2 inline-block h-2 w-2 rounded-full ${live.connected ? "bg-emerald-500" : "bg-slate-400"}`}
        />
        <span data-testid="live-state">{live.connected ? "Live feed connected" : "Live feed not connected"}</span>
      </p>
      {live.events.length === 0 ? (
        <Empty>No events since you opened the page.</Empty>
      ) : (
        <ul aria-live="polite" className="flex flex-col gap-1 text-xs">
          {live.events.map((e) => (
            <li key={`${e.tx_hash}-${e.log_index}`} className="font-mono">
              block {e.block_number}: {e.name}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export default function MarketPage() {
  const cfg = useRuntime();
  const status = useStatus();
  const open = useApi<Page<Slot>>(paths.slots("open"), 5_000);
  const cleared = useApi<Page<Slot>>(paths.slots("cleared", 20), 10_000);
  const prices = useApi<Page<PricePoint>>(paths.prices(), 10_000);
  const [chosen, setChosen] = useState<number | null>(null);

  const slots = useMemo(() => {
    const now = status.data?.checkpoint_time;
    const fromClock = now === undefined ? [] : openSlots(cfg.market, now, 12);
    const active = open.data?.items.map((s) => s.slot) ?? [];
    return [...new Set([...active, ...fromClock])].sort((a, b) => a - b);
  }, [cfg.market, status.data, open.data]);
  const activeSlots = open.data?.items.map((s) => s.slot) ?? [];
  const withOrders = activeSlots.length > 0 ? Math.min(...activeSlots) : undefined;
  const slot = chosen ?? withOrders ?? slots[0] ?? null;

  return (
    <>
      <h1 className="text-2xl font-bold">Market</h1>
      <Section title="Order book">
        {status.error ? <ErrorLine error={status.error} /> : null}
        {slot === null ? (
          <Loading what="open slots" />
        ) : (
          <div className="flex flex-col gap-3">
            <div className="max-w-xs">
              <label htmlFor="depth-slot" className="text-sm font-medium text-slate-700">
                Delivery slot
              </label>
              <select
                id="depth-slot"
                className={inputClass}
                value={slot}
                onChange={(e) => setChosen(Number(e.target.value))}
              >
                {(slots.includes(slot) ? slots : [slot, ...slots]).map((s) => (
                  <option key={s} value={s}>
                    {slotLabel(cfg.market, s)}
                  </option>
                ))}
              </select>
            </div>
            {activeSlots.includes(slot) ? (
              <DepthView slot={slot} />
            ) : (
              <Empty>No orders for slot {slot} yet.</Empty>
            )}
          </div>
        )}
      </Section>
      <div className="grid gap-4 md:grid-cols-2">
        <Section title="Clearing prices">
          {prices.isPending ? (
            <Loading what="prices" />
          ) : prices.data && prices.data.items.length > 0 ? (
            <PriceChart points={prices.data.items} cfg={cfg} />
          ) : (
            <Empty>No slot has cleared with trades yet.</Empty>
          )}
        </Section>
        <Section title="Live events">
          <LiveEvents />
        </Section>
      </div>
      <Section title="Recent clearings">
        {cleared.isPending ? (
          <Loading what="clearings" />
        ) : !cleared.data || cleared.data.items.length === 0 ? (
          <Empty>No slot cleared yet.</Empty>
        ) : (
          <div className="overflow-x-auto">
            <table className={tableClass} data-testid="clearings">
              <thead>
                <tr>
                  <th scope="col" className={thClass}>Slot</th>
                  <th scope="col" className={thClass}>Delivery</th>
                  <th scope="col" className={thClass}>Price per kWh</th>
                  <th scope="col" className={thClass}>Volume</th>
                </tr>
              </thead>
              <tbody>
                {cleared.data.items.map((s) => (
                  <tr key={s.slot}>
                    <td className={tdClass}>{s.slot}</td>
                    <td className={tdClass}>{formatTime(s.start_time)}</td>
                    <td className={tdClass}>
                      {s.clearing && s.clearing.volume_wh > 0 ? formatMoney(cfg, s.clearing.price) : "no trade"}
                    </td>
                    <td className={tdClass}>{formatWh(s.clearing?.volume_wh ?? 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}
