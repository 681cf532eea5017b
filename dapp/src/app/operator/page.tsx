"use client";
// Operator: after Sign-In with Ethereum with an operator role (admin, meter admin, pauser):
// market status with pause and clear-due, the fee, meters with their health, billing and
// exports; every write checked as `enerwise operator` checks it, then simulated and signed in the
// wallet. Below, for everyone: community KPIs, indexer health, the city pool's grid limits and
// the market's parameters.
import { unwrap } from "@/lib/api";
import { priceOfTick } from "@/lib/format";
import { useAccount, useApi, useStatus } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";
import { OPERATOR_ROLES, useSession } from "@/lib/session";
import { ConnectPrompt, SignInPrompt } from "@/components/Header";
import { Billing } from "@/components/operator/Billing";
import { FeeForm } from "@/components/operator/FeeForm";
import { GridLimits } from "@/components/operator/GridLimits";
import { MarketControl } from "@/components/operator/MarketControl";
import { Meters } from "@/components/operator/Meters";
import { ErrorLine, Figure, Loading, Section } from "@/components/ui";

function OperatorActions() {
  const { t } = useI18n();
  const { address, wrongChain } = useAccount();
  const { session } = useSession();
  if (address === null) return <ConnectPrompt wrongChain={wrongChain} />;
  if (session === null || session.address.toLowerCase() !== address.toLowerCase()) {
    return <SignInPrompt text={t.operator.signInFor} />;
  }
  const roles = session.roles.filter((r) => (OPERATOR_ROLES as readonly string[]).includes(r));
  if (roles.length === 0) return <SignInPrompt text={t.operator.noRole} />;
  const billingRole = roles.includes("admin") || roles.includes("meter_admin");
  return (
    <>
      <MarketControl roles={roles} />
      {roles.includes("admin") ? <FeeForm /> : null}
      {roles.includes("meter_admin") || roles.includes("admin") ? <Meters /> : null}
      {billingRole ? <Billing token={session.token} /> : null}
    </>
  );
}

export default function OperatorPage() {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const kpis = useApi(["kpis"], (api) => unwrap(api.GET("/v1/kpis")), 10_000);
  const status = useStatus();
  const k = kpis.data;
  const m = cfg.market;
  return (
    <>
      <h1 className="text-2xl font-bold">{t.operator.title}</h1>
      <OperatorActions />
      <Section title={t.operator.kpis} id="kpis">
        {kpis.error ? <ErrorLine error={kpis.error} /> : null}
        {!k ? (
          <Loading what={t.operator.what.kpis} />
        ) : (
          <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <Figure label={t.operator.slotsCleared} value={f.integer(k.slots_cleared)} testId="kpi-slots-cleared" />
            <Figure label={t.operator.traded} value={f.wh(k.traded_wh)} testId="kpi-traded" />
            <Figure label={t.operator.valueTraded} value={f.money(k.traded_value)} />
            <Figure label={t.operator.averagePrice} value={k.average_price === null || k.average_price === undefined ? t.common.none : f.price(k.average_price)} />
            <Figure label={t.operator.generation} value={f.wh(k.local_generation_wh)} />
            <Figure label={t.operator.consumption} value={f.wh(k.local_consumption_wh)} />
            <Figure
              label={t.operator.coverage}
              value={k.local_coverage_share === null || k.local_coverage_share === undefined ? t.common.none : f.percent(k.local_coverage_share)}
            />
            <Figure label={t.operator.communitySavings} value={f.money(k.community_savings)} />
            <Figure label={t.operator.buyerSavings} value={f.money(k.buyer_savings)} />
            <Figure label={t.operator.sellerGain} value={f.money(k.seller_gain)} />
            <Figure label={t.operator.retail} value={f.price(k.retail_tariff)} />
            <Figure label={t.operator.feedIn} value={f.price(k.feed_in_tariff)} />
          </dl>
        )}
      </Section>
      <Section title={t.operator.indexer} id="indexer">
        {!status.data ? (
          <Loading what={t.operator.what.status} />
        ) : (
          <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <Figure label={t.operator.indexedBlock} value={f.integer(status.data.checkpoint_block)} />
            <Figure label={t.operator.head} value={f.integer(status.data.head_block)} />
            <Figure label={t.operator.chainTime} value={f.time(status.data.checkpoint_time)} />
            <Figure label={t.operator.currentSlot} value={f.integer(status.data.current_slot)} />
          </dl>
        )}
      </Section>
      <GridLimits />
      <Section title={t.operator.params} id="params">
        <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Figure label={t.operator.chain} value={String(cfg.chainId)} />
          <Figure label={t.operator.slotLength} value={t.operator.minutes(m.slotSeconds / 60)} />
          <Figure label={t.operator.priceRange} value={`${f.money(priceOfTick(m, 0))} – ${f.price(priceOfTick(m, m.maxTick))}`} />
          <Figure label={t.operator.priceStep} value={f.money(m.tickSize)} />
          <Figure label={t.operator.minOrder} value={f.wh(m.minOrderWh)} />
          <Figure label={t.operator.feeAtDeployment} value={f.percent(m.feeBps / 10_000, 2)} />
          <Figure label={t.operator.gateAfter} value={t.operator.minutes(m.settlementSeconds / 60)} />
          <Figure label={t.operator.openAhead} value={t.operator.hours(m.openAheadSeconds / 3600)} />
        </dl>
      </Section>
    </>
  );
}
