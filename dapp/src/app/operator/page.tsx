"use client";
// Operator: community KPIs, indexer health and the market's parameters (read-only).
import { paths, type Kpis } from "@/lib/api";
import { formatMoney, formatTime, formatWh, priceOfTick } from "@/lib/format";
import { useApi, useStatus } from "@/lib/hooks";
import { useRuntime } from "@/lib/runtime";
import { ErrorLine, Loading, Section } from "@/components/ui";

function Kpi({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="rounded border border-slate-200 p-3">
      <dt className="text-sm text-slate-500">{label}</dt>
      <dd className="text-lg font-semibold tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

export default function OperatorPage() {
  const cfg = useRuntime();
  const kpis = useApi<Kpis>(paths.kpis(), 10_000);
  const status = useStatus();
  const k = kpis.data;
  const m = cfg.market;
  return (
    <>
      <h1 className="text-2xl font-bold">Operator</h1>
      <Section title="Community KPIs">
        {kpis.error ? <ErrorLine error={kpis.error} /> : null}
        {!k ? (
          <Loading what="KPIs" />
        ) : (
          <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <Kpi label="Slots cleared" value={String(k.slots_cleared)} testId="kpi-slots-cleared" />
            <Kpi label="Energy traded" value={formatWh(k.traded_wh)} testId="kpi-traded" />
            <Kpi label="Value traded" value={formatMoney(cfg, k.traded_value)} />
            <Kpi label="Average P2P price" value={k.average_price === null ? "–" : `${formatMoney(cfg, k.average_price)}/kWh`} />
            <Kpi label="Local generation" value={formatWh(k.local_generation_wh)} />
            <Kpi label="Local consumption" value={formatWh(k.local_consumption_wh)} />
            <Kpi
              label="Local coverage"
              value={k.local_coverage_share === null ? "–" : `${(100 * k.local_coverage_share).toFixed(1)} %`}
            />
            <Kpi label="Community savings vs grid" value={formatMoney(cfg, k.community_savings)} />
            <Kpi label="Buyer savings" value={formatMoney(cfg, k.buyer_savings)} />
            <Kpi label="Seller gain" value={formatMoney(cfg, k.seller_gain)} />
            <Kpi label="Retail tariff" value={`${formatMoney(cfg, k.retail_tariff)}/kWh`} />
            <Kpi label="Feed-in tariff" value={`${formatMoney(cfg, k.feed_in_tariff)}/kWh`} />
          </dl>
        )}
      </Section>
      <Section title="Indexer">
        {!status.data ? (
          <Loading what="the indexer status" />
        ) : (
          <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <Kpi label="Indexed block" value={String(status.data.checkpoint_block)} />
            <Kpi label="Chain head" value={String(status.data.head_block)} />
            <Kpi label="Chain time" value={formatTime(status.data.checkpoint_time)} />
            <Kpi label="Current slot" value={String(status.data.current_slot)} />
          </dl>
        )}
      </Section>
      <Section title="Market parameters">
        <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Kpi label="Chain" value={String(cfg.chainId)} />
          <Kpi label="Slot length" value={`${m.slot_seconds / 60} min`} />
          <Kpi label="Price range" value={`${formatMoney(cfg, priceOfTick(m, 0))} – ${formatMoney(cfg, priceOfTick(m, m.max_tick))}/kWh`} />
          <Kpi label="Price step" value={formatMoney(cfg, m.tick_size, 6)} />
          <Kpi label="Minimum order" value={formatWh(m.min_order_wh)} />
          <Kpi label="Fee (at deployment)" value={`${m.fee_bps / 100} %`} />
          <Kpi label="Gate closure after slot end" value={`${m.settlement_seconds / 60} min`} />
          <Kpi label="Orders open ahead" value={`${m.open_ahead_seconds / 3600} h`} />
        </dl>
      </Section>
    </>
  );
}
