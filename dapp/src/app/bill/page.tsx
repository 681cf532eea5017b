"use client";
// My bill: the signed-in household's month (the community's time zone) from the billing API:
// energy bought and sold locally, paid, received, fees, savings against the grid tariff, the
// metered totals, bonds forfeited by commitments never revealed (sealed market; shown only when
// there are any), and a chart and a table per day. Only one's own bill (Sign-In with Ethereum).
import { useEffect, useState } from "react";
import { ApiError, bearer, unwrap, type BillAmounts, type HouseholdBill } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { isMonth, monthIn } from "@/lib/months";
import { useRuntime } from "@/lib/runtime";
import { useSession } from "@/lib/session";
import { BillChart } from "@/components/charts";
import { AccountPage } from "@/components/AccountPage";
import { SignInPrompt } from "@/components/Header";
import { ErrorLine, Field, Figure, Loading, Section, inputClass, tdClass, DataTable } from "@/components/ui";

function Summary({ bill }: { bill: HouseholdBill }) {
  const { t, f } = useI18n();
  const a: BillAmounts = bill.total;
  return (
    <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
      <Figure label={t.bill.bought} value={f.wh(a.bought_wh)} testId="bill-bought" />
      <Figure label={t.bill.paid} value={f.money(a.paid)} testId="bill-paid" />
      <Figure label={t.bill.sold} value={f.wh(a.sold_wh)} testId="bill-sold" />
      <Figure label={t.bill.received} value={f.money(a.received)} testId="bill-received" />
      <Figure label={t.bill.fees} value={f.money(a.fees)} testId="bill-fees" />
      {a.forfeited_commitments > 0 ? (
        <Figure
          label={t.bill.forfeited}
          value={f.money(a.forfeited_bonds)}
          hint={t.bill.forfeitedHint(a.forfeited_commitments)}
          testId="bill-forfeited"
        />
      ) : null}
      <Figure
        label={t.bill.savings}
        value={f.money(a.savings)}
        hint={t.bill.savingsHint(f.price(bill.retail_tariff), f.price(bill.feed_in_tariff))}
        testId="bill-savings"
      />
      <Figure label={t.bill.imported} value={f.wh(a.import_wh)} />
      <Figure label={t.bill.exported} value={f.wh(a.export_wh)} />
      <Figure label={t.bill.gridImport} value={`${f.wh(a.grid_import_wh)} · ${f.money(a.grid_import_cost)}`} />
      <Figure label={t.bill.gridExport} value={`${f.wh(a.grid_export_wh)} · ${f.money(a.grid_export_revenue)}`} />
      <Figure label={t.bill.net} value={f.money(a.net)} testId="bill-net" />
    </dl>
  );
}

function Days({ bill }: { bill: HouseholdBill }) {
  const { t, f } = useI18n();
  const active = bill.days.filter((d) => d.bought_wh !== "0" || d.sold_wh !== "0" || d.import_wh !== "0" || d.export_wh !== "0");
  return (
    <>
      <BillChart
        label={t.bill.chartLabel(f.month(bill.month))}
        days={bill.days.map((d) => ({ date: d.date, bought: BigInt(d.bought_wh), sold: BigInt(d.sold_wh) }))}
      />
      <DataTable
        columns={[t.bill.day, t.bill.bought, t.bill.paid, t.bill.sold, t.bill.received, t.bill.savings]}
        testId="bill-days"
        className="mt-3 overflow-x-auto"
      >
        {active.map((d) => (
          <tr key={d.date} data-testid="bill-day">
            <td className={tdClass}>{f.calendarDay(d.date)}</td>
            <td className={tdClass}>{f.wh(d.bought_wh)}</td>
            <td className={tdClass}>{f.money(d.paid)}</td>
            <td className={tdClass}>{f.wh(d.sold_wh)}</td>
            <td className={tdClass}>{f.money(d.received)}</td>
            <td className={tdClass}>{f.money(d.savings)}</td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

function Bill({ account, token }: { account: `0x${string}`; token: string }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const { expire } = useSession();
  const [month, setMonth] = useState(() => monthIn(cfg.timeZone));
  const valid = isMonth(month);
  const bill = useApi(
    valid ? ["bill", account, month, token] : null,
    (api) =>
      unwrap(
        api.GET("/v1/accounts/{address}/bill", {
          params: { path: { address: account }, query: { month } },
          headers: bearer(token),
        }),
      ),
    false,
  );
  const error = bill.error;
  useEffect(() => {
    if (error instanceof ApiError && error.status === 401) expire();
  }, [error, expire]);

  return (
    <>
      <Section title={t.bill.summary} id="bill-summary">
        <p className="mb-3 text-sm text-slate-600">{t.bill.intro(cfg.timeZone)}</p>
        <div className="mb-4 max-w-xs">
          <Field label={t.bill.month} htmlFor="bill-month">
            <input
              id="bill-month"
              type="month"
              className={inputClass}
              value={month}
              onChange={(e) => setMonth(e.target.value)}
            />
          </Field>
        </div>
        {!valid ? null : bill.isPending ? (
          <Loading what={t.bill.what} />
        ) : error ? (
          <ErrorLine error={error} />
        ) : bill.data && !bill.data.has_data ? (
          <p role="alert" data-testid="bill-empty" className="rounded bg-slate-100 p-3 text-sm text-slate-700">
            {t.bill.noData(f.month(month))}
          </p>
        ) : bill.data ? (
          <>
            <Summary bill={bill.data} />
            {bill.data.unclaimed_orders > 0 ? (
              <p className="mt-3 text-sm text-slate-600">{t.bill.unclaimed(bill.data.unclaimed_orders)}</p>
            ) : null}
            {!bill.data.reconciles ? <p className="mt-3 text-sm text-amber-800">{t.bill.notReconciled}</p> : null}
          </>
        ) : null}
      </Section>
      {bill.data?.has_data ? (
        <Section title={t.bill.perDay} id="bill-per-day">
          <Days bill={bill.data} />
        </Section>
      ) : null}
    </>
  );
}

/** The account's bill once its household signed in with this account, else the prompt to. */
function SignedInBill({ account }: { account: `0x${string}` }) {
  const { session } = useSession();
  if (session === null || session.address.toLowerCase() !== account.toLowerCase()) return <SignInPrompt />;
  return <Bill account={account} token={session.token} />;
}

export default function BillPage() {
  const { t } = useI18n();
  return <AccountPage title={t.bill.title}>{(account) => <SignedInBill account={account} />}</AccountPage>;
}
