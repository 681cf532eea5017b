"use client";
// History: every movement of the account's vault money and energy and of its wallet's energy
// tokens, newest first, each with its transaction (a link to the chain's explorer when the
// deployment names one).
import { useInfiniteQuery } from "@tanstack/react-query";
import { unwrap, type HistoryItem } from "@/lib/api";
import { useI18n } from "@/lib/i18n";
import { useApiClient } from "@/lib/runtime";
import { AccountPage } from "@/components/AccountPage";
import { Empty, ErrorLine, Loading, Section, TxLink, secondaryButtonClass, tdClass, DataTable } from "@/components/ui";

function Amount({ item }: { item: HistoryItem }) {
  const { f } = useI18n();
  const value = BigInt(item.amount);
  const text = item.asset === "money" ? f.money(value) : f.wh(value);
  const sign = value > 0n ? "+" : "";
  return <span className={value < 0n ? "text-slate-900" : "text-emerald-800"}>{`${sign}${text}`}</span>;
}

function Movements({ account }: { account: `0x${string}` }) {
  const { t, f } = useI18n();
  const api = useApiClient();
  const history = useInfiniteQuery({
    queryKey: ["api", "history", account],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/v1/accounts/{address}/history", {
          params: { path: { address: account }, query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
    refetchInterval: 10_000,
  });
  if (history.isPending) return <Loading what={t.history.loading} />;
  if (history.error) return <ErrorLine error={history.error} />;
  const items = history.data.pages.flatMap((p) => p.items);
  if (items.length === 0) return <Empty>{t.history.none}</Empty>;
  return (
    <>
      <DataTable columns={[t.history.when, t.history.what, t.history.amount, t.history.transaction]} testId="history">
        {items.map((item) => (
          <tr key={`${item.tx_hash}-${item.log_index}-${item.kind}-${item.asset}`} data-testid="history-row" data-kind={item.kind}>
            <td className={`${tdClass} whitespace-nowrap`}>{f.time(item.block_time)}</td>
            <td className={tdClass}>
              {t.history.kinds[item.kind] ?? item.kind}
              {item.slot !== null && item.slot !== undefined ? (
                <span className="text-slate-500">{` · ${t.history.slotOf(item.slot)}`}</span>
              ) : null}
            </td>
            <td className={`${tdClass} whitespace-nowrap`}>
              <Amount item={item} />
            </td>
            <td className={tdClass}>
              <TxLink hash={item.tx_hash} />
            </td>
          </tr>
        ))}
      </DataTable>
      {history.hasNextPage ? (
        <button
          type="button"
          className={`${secondaryButtonClass} mt-3`}
          disabled={history.isFetchingNextPage}
          onClick={() => void history.fetchNextPage()}
        >
          {t.history.more}
        </button>
      ) : null}
    </>
  );
}

export default function HistoryPage() {
  const { t } = useI18n();
  return (
    <AccountPage title={t.history.title}>
      {(account) => (
        <Section title={t.history.title} id="history">
          <p className="mb-3 text-sm text-slate-600">{t.history.intro}</p>
          <Movements account={account} />
        </Section>
      )}
    </AccountPage>
  );
}
