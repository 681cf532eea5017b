"use client";
// Grid limits (issue 17): the city pool the indexer follows, its communities (and which the city
// admin paused: left out of the pool's clearings), the grid fee, and
// the transfer limits the grid operator published for the next slots (/v1/pool*). Public: no
// sign-in. Without a pool in the configuration's addresses (`city_pool`) nothing is asked and the
// panel says so; should the API answer 404 `pool_not_indexed` all the same, that is the same
// empty state, not an error.
import { ApiError, unwrap } from "@/lib/api";
import { shortAddress, slotStart } from "@/lib/format";
import { useApi } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";
import { DataTable, Empty, ErrorLine, Figure, Loading, Section, tdClass } from "@/components/ui";

/** How many slots from the one now running the panel shows. */
const SLOTS = 4;

function noPool(error: unknown): boolean {
  return error instanceof ApiError && error.code === "pool_not_indexed";
}

export function GridLimits() {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const configured = cfg.addresses.cityPool !== null;
  const pool = useApi(configured ? ["pool"] : null, (api) => unwrap(api.GET("/v1/pool")), 15_000);
  const enabled = pool.data !== undefined;
  const communities = useApi(enabled ? ["pool", "communities"] : null, (api) => unwrap(api.GET("/v1/pool/communities")), 15_000);
  const limits = useApi(
    enabled ? ["pool", "limits", SLOTS] : null,
    (api) => unwrap(api.GET("/v1/pool/limits", { params: { query: { slots: SLOTS } } })),
    10_000,
  );
  const p = pool.data;
  return (
    <Section title={t.operator.gridLimits} id="grid-limits">
      <p className="mb-3 text-sm text-slate-600">{t.operator.gridLimitsHelp}</p>
      {!configured || noPool(pool.error) ? (
        <Empty>{t.operator.noPool}</Empty>
      ) : pool.error ? (
        <ErrorLine error={pool.error} />
      ) : !p ? (
        <Loading what={t.operator.what.pool} />
      ) : (
        <div className="space-y-4" data-testid="grid-limits">
          <dl className="grid grid-cols-1 gap-3 sm:grid-cols-3">
            <Figure label={t.operator.poolAddress} value={shortAddress(p.address)} testId="pool-address" />
            <Figure label={t.operator.poolCommunities} value={f.integer(p.community_count)} testId="pool-communities" />
            <Figure
              label={t.operator.poolGridFee}
              value={f.price(p.grid_fee.fee_per_level)}
              hint={p.grid_fee.recipient === null ? t.operator.poolFeeNotSet : t.operator.poolFeeTicks(p.grid_fee.fee_ticks_per_level)}
            />
          </dl>
          {communities.error ? <ErrorLine error={communities.error} /> : null}
          {(communities.data?.items.length ?? 0) === 0 ? (
            <Empty>{t.operator.poolNoCommunities}</Empty>
          ) : (
            <DataTable
              columns={[t.operator.poolCommunity, t.operator.poolMarket, t.operator.poolLevels, t.operator.poolState]}
              testId="pool-community-table"
            >
              {communities.data?.items.map((c) => (
                <tr key={c.community_id} data-testid="pool-community" data-paused={c.paused}>
                  <td className={tdClass}>
                    {c.community_id}
                    {c.community_id === p.market_community_id ? ` (${t.operator.poolThisMarket})` : ""}
                  </td>
                  <td className={`${tdClass} font-mono text-xs`} title={c.market}>{shortAddress(c.market)}</td>
                  <td className={tdClass}>{c.levels}</td>
                  <td className={tdClass}>
                    {c.paused && c.paused_block_number !== null ? (
                      <span className="font-medium text-amber-700">{t.operator.poolPausedSince(c.paused_block_number)}</span>
                    ) : (
                      t.operator.poolActive
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
          {limits.error ? <ErrorLine error={limits.error} /> : null}
          {!limits.data ? (
            <Loading what={t.operator.what.limits} />
          ) : (
            <DataTable
              columns={[t.operator.poolSlot, t.operator.poolCommunity, t.operator.poolImport, t.operator.poolExport, t.operator.poolPublication]}
              testId="pool-limits"
            >
              {limits.data.items.flatMap((s) =>
                s.communities.map((c) => (
                  <tr key={`${s.slot}-${c.community_id}`} data-testid="pool-limit" data-slot={s.slot} data-published={c.published}>
                    <td className={tdClass}>{`${s.slot} · ${f.clock(slotStart(cfg.market, s.slot))}`}</td>
                    <td className={tdClass}>{c.community_id}</td>
                    <td className={tdClass}>{c.published ? f.wh(c.import_wh) : "–"}</td>
                    <td className={tdClass}>{c.published ? f.wh(c.export_wh) : "–"}</td>
                    <td className={tdClass}>{c.published ? t.operator.poolRevision(s.revisions) : t.operator.poolNotPublished}</td>
                  </tr>
                )),
              )}
            </DataTable>
          )}
        </div>
      )}
    </Section>
  );
}
