"use client";
// Grid limits (issue 17): the city pool the indexer follows, its communities (and which the city
// admin paused: left out of the pool's clearings), the grid fee, and
// the transfer limits the grid operator published for the next slots (/v1/pool*). Public: no
// sign-in. Without a pool in the configuration's addresses (`city_pool`) nothing is asked and the
// panel says so; should the API answer 404 `pool_not_indexed` all the same, that is the same
// empty state, not an error.
// A connected wallet that holds the pool's DEFAULT_ADMIN_ROLE (read with hasRole) gets a pause or
// resume button per community; any other wallet sees them disabled, with the reason. A click is
// checked as `enerwise operator` checks (role held, state not reached yet), then simulated and
// sent through the wallet (useTransact); the column follows from the indexer's `pool` stream.
import { cityPoolAbi } from "@/generated/abis";
import { ApiError, unwrap } from "@/lib/api";
import { shortAddress, slotStart } from "@/lib/format";
import { useAccount, useApi, useChainRead, usePublicClient, useTransact } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { hasRole, requireRole } from "@/lib/operatorChecks";
import { useRuntime } from "@/lib/runtime";
import {
  DataTable,
  Empty,
  ErrorLine,
  Figure,
  Loading,
  Section,
  TxStatus,
  secondaryButtonClass,
  tdClass,
} from "@/components/ui";

/** How many slots from the one now running the panel shows. */
const SLOTS = 4;

function noPool(error: unknown): boolean {
  return error instanceof ApiError && error.code === "pool_not_indexed";
}

/** Whether the connected wallet holds the pool's admin role (undefined: no wallet, or reading). */
function usePoolAdmin(address: `0x${string}` | null, enabled: boolean) {
  const cfg = useRuntime();
  return useChainRead(
    ["pool", "admin", address],
    (client) => (address === null ? Promise.resolve(false) : hasRole(client, cfg, "pool", "DEFAULT_ADMIN_ROLE", address)),
    enabled && address !== null,
  );
}

export function GridLimits() {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const { address } = useAccount();
  const client = usePublicClient();
  const pauseTx = useTransact();
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
  const admin = usePoolAdmin(address, enabled);
  const isAdmin = admin.data === true;
  const refusal = address === null ? null : admin.data === false ? t.operator.poolNotAdmin(address) : admin.data === undefined ? t.operator.poolCheckingAdmin : null;

  const setPaused = async (communityId: number, paused: boolean) => {
    const poolAddress = cfg.addresses.cityPool;
    if (address === null || poolAddress === null) return;
    const missing = await requireRole(client, cfg, t, "pool", "DEFAULT_ADMIN_ROLE", address);
    if (missing) {
      pauseTx.fail(missing);
      return;
    }
    const now = await client.readContract({ address: poolAddress, abi: cityPoolAbi, functionName: "isPaused", args: [communityId] });
    if (now === paused) {
      pauseTx.fail(t.operator.alreadyState(paused));
      return;
    }
    await pauseTx.run(paused ? t.operator.poolPauseCommunity(communityId) : t.operator.poolResumeCommunity(communityId), [
      { address: poolAddress, abi: cityPoolAbi, functionName: paused ? "pauseCommunity" : "resumeCommunity", args: [communityId] },
    ]);
  };

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
              columns={[
                t.operator.poolCommunity,
                t.operator.poolMarket,
                t.operator.poolLevels,
                t.operator.poolState,
                ...(address !== null ? [t.operator.poolAction] : []),
              ]}
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
                  {address !== null ? (
                    <td className={tdClass}>
                      <button
                        type="button"
                        className={secondaryButtonClass}
                        data-testid="pool-pause-toggle"
                        disabled={!isAdmin || pauseTx.state.busy}
                        title={refusal ?? undefined}
                        onClick={() => void setPaused(c.community_id, !c.paused)}
                      >
                        {c.paused ? t.operator.poolResume : t.operator.poolPause}
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </DataTable>
          )}
          {address !== null ? (
            <div data-testid="pool-admin">
              <p className={refusal ? "text-sm text-amber-700" : "text-sm text-slate-600"} data-testid="pool-admin-note">
                {refusal ?? t.operator.poolAdminHelp}
              </p>
              <TxStatus state={pauseTx.state} />
            </div>
          ) : null}
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
