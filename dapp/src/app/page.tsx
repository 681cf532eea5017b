"use client";
// Market: live order-book depth of the open slots, clearing-price chart, recent clearings, and
// (with a city pool) a cleared slot's community clearing beside the pool's. In a
// sealed market a slot shows only its number of commitments until gate closure, and the book
// its reveals build after it.
import { useMemo, useState } from "react";
import { sealedEnergyMarketAbi } from "@/generated/abis";
import { unwrap } from "@/lib/api";
import { gateClosure, openSlots } from "@/lib/format";
import { useApi, useChainRead, useStatus } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useLive, useRuntime } from "@/lib/runtime";
import { DepthBars, PriceChart } from "@/components/charts";
import { PoolClearing } from "@/components/PoolClearing";
import { SlotSelect } from "@/components/SlotSelect";
import {
  Empty,
  ErrorLine,
  Loading,
  Section,
  tableClass,
  tdClass,
  TableHead,
  DataTable,
} from "@/components/ui";

function DepthView({ slot }: { slot: number }) {
  const { t, f } = useI18n();
  const depth = useApi(["depth", slot], (api) => unwrap(api.GET("/v1/slots/{slot}/depth", { params: { path: { slot } } })), 4_000);
  if (depth.isPending) return <Loading what={t.market.what.book} />;
  if (depth.error) return <ErrorLine error={depth.error} />;
  const d = depth.data;
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="depth">
      <table className={tableClass}>
        <caption className="mb-1 text-left text-sm text-slate-600">
          {t.market.bookCaption(slot, t.common.status[d.status] ?? d.status, f.wh(d.total_buy_wh), f.wh(d.total_sell_wh))}
        </caption>
        <TableHead columns={[t.market.pricePerKwh, t.market.buy, t.market.sell]} />
        <tbody>
          {[...d.levels]
            .sort((a, b) => b.tick - a.tick)
            .map((level) => (
              <tr key={level.tick} data-testid="depth-level" data-tick={level.tick}>
                <td className={tdClass}>{f.money(level.price)}</td>
                <td className={tdClass}>{level.buy_wh !== "0" ? f.wh(level.buy_wh) : t.common.none}</td>
                <td className={tdClass}>{level.sell_wh !== "0" ? f.wh(level.sell_wh) : t.common.none}</td>
              </tr>
            ))}
        </tbody>
      </table>
      {d.levels.length > 0 ? <DepthBars levels={d.levels} /> : <Empty>{t.market.emptyBook}</Empty>}
    </div>
  );
}

/** A sealed slot's commitments (OrderCommitted logs of the slot) and how many were revealed. */
function useCommitmentCounts(slot: number) {
  const cfg = useRuntime();
  const address = cfg.addresses.market;
  return useChainRead(["commitment-counts", slot], async (client) => {
    const committed = await client.getContractEvents({
      address,
      abi: sealedEnergyMarketAbi,
      eventName: "OrderCommitted",
      args: { slot: BigInt(slot) },
      fromBlock: cfg.deploymentBlock,
    });
    const ids = committed.map((log) => log.args.commitId).filter((id): id is bigint => id !== undefined);
    const revealed =
      ids.length === 0
        ? []
        : await client.getContractEvents({
            address,
            abi: sealedEnergyMarketAbi,
            eventName: "OrderRevealed",
            args: { commitId: ids },
            fromBlock: cfg.deploymentBlock,
          });
    return { commitments: ids.length, revealed: revealed.length };
  });
}

/** Before gate closure: the number of commitments (all that is known of a sealed slot). */
function SealedCount({ slot }: { slot: number }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const counts = useCommitmentCounts(slot);
  if (counts.isPending) return <Loading what={t.market.what.book} />;
  if (counts.error) return <ErrorLine error={counts.error} />;
  return (
    <p className="text-sm text-slate-700" data-testid="commitment-count" data-count={counts.data.commitments}>
      {t.sealed.commitments(counts.data.commitments, f.time(gateClosure(cfg.market, slot)))}
    </p>
  );
}

/** After gate closure: how many of the slot's commitments the revealed book holds. */
function RevealedLine({ slot }: { slot: number }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const counts = useCommitmentCounts(slot);
  if (!counts.data) return null;
  const ends = gateClosure(cfg.market, slot) + (cfg.market.revealSeconds ?? 0);
  return (
    <p className="text-sm text-slate-700" data-testid="revealed-count" data-revealed={counts.data.revealed}>
      {t.sealed.revealedBook(counts.data.revealed, counts.data.commitments, f.time(ends))}
    </p>
  );
}

function LiveEvents() {
  const { t } = useI18n();
  const live = useLive();
  return (
    <div>
      <p className="mb-2 text-sm">
        <span
          aria-hidden="true"
          className={`mr-2 inline-block h-2 w-2 rounded-full ${live.connected ? "bg-emerald-500" : "bg-slate-400"}`}
        />
        <span data-testid="live-state">{live.connected ? t.market.liveOn : t.market.liveOff}</span>
      </p>
      {live.events.length === 0 ? (
        <Empty>{t.market.noEvents}</Empty>
      ) : (
        <ul aria-live="polite" className="flex flex-col gap-1 text-xs">
          {live.events.map((e) => (
            <li key={`${e.tx_hash}-${e.log_index}`} className="font-mono">
              {t.market.eventLine(e.block_number, e.name)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export default function MarketPage() {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const status = useStatus();
  const open = useApi(["slots", "open"], (api) => unwrap(api.GET("/v1/slots", { params: { query: { status: "open", limit: 50 } } })), 5_000);
  const cleared = useApi(["slots", "cleared", 20], (api) => unwrap(api.GET("/v1/slots", { params: { query: { status: "cleared", limit: 20 } } })), 10_000);
  const prices = useApi(["prices"], (api) => unwrap(api.GET("/v1/prices", { params: { query: { limit: 200 } } })), 10_000);
  const [chosen, setChosen] = useState<number | null>(null);

  const sealed = cfg.market.mode === "sealed";
  // A sealed slot's book is built after gate closure: its closed slots that await clearing too.
  const closed = useApi(
    sealed ? ["slots", "closed", 20] : null,
    (api) => unwrap(api.GET("/v1/slots", { params: { query: { status: "closed", limit: 20 } } })),
    5_000,
  );
  const now = status.data?.checkpoint_time;

  const slots = useMemo(() => {
    const fromClock = now === undefined ? [] : openSlots(cfg.market, now, 12);
    const active = [...(open.data?.items ?? []), ...(closed.data?.items ?? [])].map((s) => s.slot);
    return [...new Set([...active, ...fromClock])].sort((a, b) => a - b);
  }, [cfg.market, now, open.data, closed.data]);
  const activeSlots = [...(open.data?.items ?? []), ...(closed.data?.items ?? [])].map((s) => s.slot);
  const withOrders = activeSlots.length > 0 ? Math.min(...activeSlots) : undefined;
  const slot = chosen ?? withOrders ?? slots[0] ?? null;

  return (
    <>
      <h1 className="text-2xl font-bold">{t.market.title}</h1>
      <Section title={t.market.orderBook} id="order-book">
        {status.error ? <ErrorLine error={status.error} /> : null}
        {slot === null ? (
          <Loading what={t.market.what.slots} />
        ) : (
          <div className="flex flex-col gap-3">
            <div className="max-w-xs">
              <SlotSelect id="depth-slot" slots={slots} slot={slot} onChange={setChosen} />
            </div>
            {sealed && now !== undefined && now < gateClosure(cfg.market, slot) ? (
              <SealedCount slot={slot} />
            ) : (
              <>
                {sealed ? <RevealedLine slot={slot} /> : null}
                {activeSlots.includes(slot) ? <DepthView slot={slot} /> : <Empty>{t.market.noOrders(slot)}</Empty>}
              </>
            )}
          </div>
        )}
      </Section>
      <div className="grid gap-4 md:grid-cols-2">
        <Section title={t.market.prices} id="prices">
          {prices.isPending ? (
            <Loading what={t.market.what.prices} />
          ) : prices.data && prices.data.items.length > 0 ? (
            <PriceChart points={prices.data.items} />
          ) : (
            <Empty>{t.market.noPrices}</Empty>
          )}
        </Section>
        <Section title={t.market.live} id="live">
          <LiveEvents />
        </Section>
      </div>
      <Section title={t.market.clearings} id="clearings">
        {cleared.isPending ? (
          <Loading what={t.market.what.clearings} />
        ) : !cleared.data || cleared.data.items.length === 0 ? (
          <Empty>{t.market.noClearings}</Empty>
        ) : (
          <DataTable
            columns={[t.common.slot, t.market.delivery, t.market.pricePerKwh, t.market.volume]}
            testId="clearings"
          >
            {cleared.data.items.map((s) => (
              <tr key={s.slot}>
                <td className={tdClass}>{s.slot}</td>
                <td className={tdClass}>{f.time(s.start_time)}</td>
                <td className={tdClass}>
                  {s.clearing && s.clearing.volume_wh !== "0" ? f.money(s.clearing.price) : t.market.noTrade}
                </td>
                <td className={tdClass}>{f.wh(s.clearing?.volume_wh ?? 0)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Section>
      <PoolClearing />
    </>
  );
}
