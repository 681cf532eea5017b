"use client";
// The city pool's clearing of a slot beside this community's own (issue 17): the community
// market's clearing price and volume, and the pool's, with what this community paid and was paid
// for energy across its boundary (`price(p* + fee)`, `price(p* - fee)`) and how much it imported
// and exported, and whether the pool settled the slot (/v1/pool/clearings). Shown only when the configuration names a city pool; an API
// answering 404 `pool_not_indexed` all the same is the same empty state, not an error.
import { useState } from "react";
import { ApiError, unwrap } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";
import { Empty, ErrorLine, Figure, Loading, Section } from "@/components/ui";
import { SlotSelect } from "./SlotSelect";

function noPool(error: unknown): boolean {
  return error instanceof ApiError && error.code === "pool_not_indexed";
}

function SlotPair({ slot, communityId }: { slot: number; communityId: number | null }) {
  const { t, f } = useI18n();
  const detail = useApi(["pool", "clearing", slot], (api) =>
    unwrap(api.GET("/v1/pool/clearings/{slot}", { params: { path: { slot } } })),
    30_000,
  );
  if (detail.isPending) return <Loading what={t.market.what.pool} />;
  if (detail.error) return <ErrorLine error={detail.error} />;
  const d = detail.data;
  const ours = communityId === null ? undefined : d.communities.find((c) => c.community_id === communityId);
  const local = ours?.local ?? null;
  const crossed = d.volume_wh !== "0";
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="pool-clearing" data-slot={slot}>
      <div>
        <h3 className="mb-2 text-sm font-semibold text-slate-700">{t.market.poolCommunitySide}</h3>
        {local === null ? (
          <Empty>{t.market.poolNoLocal}</Empty>
        ) : (
          <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2">
            <Figure
              label={t.market.pricePerKwh}
              value={local.price === null ? t.market.noTrade : f.money(local.price)}
              testId="pool-local-price"
            />
            <Figure label={t.market.volume} value={f.wh(local.volume_wh)} testId="pool-local-volume" />
          </dl>
        )}
      </div>
      <div>
        <h3 className="mb-2 text-sm font-semibold text-slate-700">{t.market.poolSide}</h3>
        <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2">
          <Figure
            label={t.market.poolPrice}
            value={crossed ? f.money(d.price) : t.market.noTrade}
            hint={t.market.poolVolume(f.wh(d.volume_wh))}
            testId="pool-price"
          />
          <Figure
            label={t.market.poolSettlement}
            value={d.settlement === null ? t.market.poolNotSettled : t.market.poolSettled}
            hint={
              d.settlement === null
                ? t.market.poolNotSettledHint
                : t.market.poolSettledHint(f.money(d.settlement.fees_paid))
            }
            testId="pool-settlement"
          />
          {ours === undefined ? null : (
            <>
              <Figure
                label={t.market.poolBuyPrice}
                value={ours.buy_price === null ? t.common.none : f.money(ours.buy_price)}
                hint={t.market.poolFee(ours.fee_ticks ?? 0)}
                testId="pool-buy-price"
              />
              <Figure
                label={t.market.poolSellPrice}
                value={ours.sell_price === null ? t.common.none : f.money(ours.sell_price)}
                testId="pool-sell-price"
              />
              <Figure label={t.market.poolImport} value={f.wh(ours.import_wh)} testId="pool-import" />
              <Figure label={t.market.poolExport} value={f.wh(ours.export_wh)} testId="pool-export" />
              {ours.settled === null ? null : (
                <Figure label={t.market.poolPaid} value={f.money(ours.settled.paid_to_pool)} testId="pool-paid" />
              )}
            </>
          )}
        </dl>
      </div>
    </div>
  );
}

export function PoolClearing() {
  const cfg = useRuntime();
  const { t } = useI18n();
  const configured = cfg.addresses.cityPool !== null;
  const pool = useApi(configured ? ["pool"] : null, (api) => unwrap(api.GET("/v1/pool")), 15_000);
  const clearings = useApi(
    pool.data !== undefined ? ["pool", "clearings", 20] : null,
    (api) => unwrap(api.GET("/v1/pool/clearings", { params: { query: { limit: 20 } } })),
    10_000,
  );
  const [chosen, setChosen] = useState<number | null>(null);
  if (!configured) return null;
  const items = clearings.data?.items ?? [];
  const slot = chosen ?? items[0]?.slot ?? null;
  return (
    <Section title={t.market.poolTitle} id="pool-clearing">
      <p className="mb-3 text-sm text-slate-600">{t.market.poolHelp}</p>
      {noPool(pool.error) ? (
        <Empty>{t.operator.noPool}</Empty>
      ) : pool.error ? (
        <ErrorLine error={pool.error} />
      ) : clearings.error ? (
        <ErrorLine error={clearings.error} />
      ) : !clearings.data ? (
        <Loading what={t.market.what.pool} />
      ) : slot === null ? (
        <Empty>{t.market.noPoolClearings}</Empty>
      ) : (
        <div className="flex flex-col gap-3">
          <div className="max-w-xs">
            <SlotSelect id="pool-slot" slots={items.map((c) => c.slot)} slot={slot} onChange={setChosen} />
          </div>
          <SlotPair slot={slot} communityId={pool.data?.market_community_id ?? null} />
        </div>
      )}
    </Section>
  );
}
