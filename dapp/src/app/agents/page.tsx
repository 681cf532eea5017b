"use client";
// Agents: grant an agent key bounded trading (rolling daily budget and sell limit, price bounds,
// expiry), revoke it,
// and see the orders it placed for you (orders from the API whose transaction it sent).
import { useState } from "react";
import { getAddress, isAddress } from "viem";
import { energyMarketAbi } from "@/generated/abis";
import { unwrap } from "@/lib/api";
import { useAmountInputs } from "@/lib/amounts";
import { decimalToUnits } from "@/lib/decimal";
import { priceOfTick, shortAddress, tickAtOrAbove, tickAtOrBelow } from "@/lib/format";
import { useApi, useChainRead, useStatus, useTransact } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";
import { AccountPage } from "@/components/AccountPage";
import { AutoSell, StandingOrders } from "./Selling";
import {
  Empty,
  Loading,
  Section,
  TxStatus,
  tdClass,
  DataTable,
  RowAction,
  TextField,
  GridForm,
} from "@/components/ui";

interface DelegationRow {
  agent: `0x${string}`;
  budgetPerDay: bigint;
  sellWhPerDay: bigint;
  maxBuyTick: number;
  minSellTick: number;
  expiry: number;
  spent: bigint;
  soldWh: bigint;
}

/** The contract's decay of an agent's use: one daily limit per 24 hours, rounded down, >= 0. */
function decayed(use: bigint, limitPerDay: bigint, elapsed: bigint): bigint {
  const left = use - (limitPerDay * elapsed) / 86_400n;
  return left > 0n ? left : 0n;
}

function useDelegations(account: `0x${string}`) {
  const cfg = useRuntime();
  return useChainRead(["delegations", account], async (client): Promise<DelegationRow[]> => {
    const logs = await client.getContractEvents({
      address: cfg.addresses.market,
      abi: energyMarketAbi,
      eventName: "AgentAuthorized",
      args: { owner: account },
      fromBlock: cfg.deploymentBlock,
    });
    const agents = [...new Set(logs.map((log) => log.args.agent).filter((a): a is `0x${string}` => a !== undefined))];
    const block = await client.getBlock();
    const rows = await Promise.all(
      agents.map(async (agent) => {
        const d = await client.readContract({
          address: cfg.addresses.market,
          abi: energyMarketAbi,
          functionName: "delegation",
          args: [account, agent],
        });
        const elapsed = block.timestamp > BigInt(d.updatedAt) ? block.timestamp - BigInt(d.updatedAt) : 0n;
        return {
          agent,
          budgetPerDay: d.budgetPerDay,
          sellWhPerDay: d.sellWhPerDay,
          maxBuyTick: d.maxBuyTick,
          minSellTick: d.minSellTick,
          expiry: Number(d.expiry),
          spent: decayed(d.spent, d.budgetPerDay, elapsed),
          soldWh: decayed(d.soldWh, d.sellWhPerDay, elapsed),
        };
      }),
    );
    return rows.filter((r) => r.expiry !== 0);
  });
}

function Grant() {
  const cfg = useRuntime();
  const { t } = useI18n();
  const inputs = useAmountInputs();
  const tx = useTransact();
  const status = useStatus();
  const [agent, setAgent] = useState("");
  const [budget, setBudget] = useState("");
  const [sellKwh, setSellKwh] = useState("0");
  const [maxBuy, setMaxBuy] = useState("");
  const [minSell, setMinSell] = useState("");
  const [days, setDays] = useState("7");
  const symbol = cfg.token.symbol;

  const submit = async () => {
    if (!isAddress(agent)) {
      tx.fail(t.agents.notAddress(agent));
      return;
    }
    const budgetUnits = inputs.money(t.agents.budget(symbol), budget, 2n ** 96n - 1n);
    const sellKwhValue = inputs.decimal(t.agents.sellLimit, sellKwh, 3);
    const maxBuyPrice = inputs.money(t.agents.maxBuy(symbol), maxBuy);
    const minSellPrice = inputs.money(t.agents.minSell(symbol), minSell);
    const validDays = inputs.decimal(t.agents.days, days, 4);
    for (const checked of [budgetUnits, sellKwhValue, maxBuyPrice, minSellPrice, validDays]) {
      if (!checked.ok) {
        tx.fail(checked.error);
        return;
      }
    }
    if (!budgetUnits.ok || !sellKwhValue.ok || !maxBuyPrice.ok || !minSellPrice.ok || !validDays.ok) return;
    const sellWh = decimalToUnits(sellKwhValue.value, 3);
    if (budgetUnits.value === 0n && sellWh === 0n) {
      tx.fail(t.agents.noLimits);
      return;
    }
    const now = status.data?.checkpoint_time ?? Math.floor(Date.now() / 1000);
    const seconds = (decimalToUnits(validDays.value, 4) * 86_400n) / 10_000n;
    await tx.run(t.agents.authorize, [
      {
        address: cfg.addresses.market,
        abi: energyMarketAbi,
        functionName: "authorizeAgent",
        args: [
          getAddress(agent),
          budgetUnits.value,
          sellWh,
          tickAtOrBelow(cfg.market, maxBuyPrice.value),
          tickAtOrAbove(cfg.market, minSellPrice.value),
          BigInt(now) + seconds,
        ],
      },
    ]);
  };

  return (
    <Section title={t.agents.grant} id="grant">
      <p className="mb-3 text-sm text-slate-600">{t.agents.grantHelp}</p>
      <GridForm columns={2} onSubmit={submit} busy={tx.state.busy} submit={t.agents.grantButton}>
        <TextField id="agent-address" label={t.agents.address} kind="address" value={agent} onChange={setAgent} />
        <TextField
          id="agent-budget"
          label={t.agents.budget(symbol)}
          hint={t.agents.budgetHint}
          kind="decimal"
          value={budget}
          onChange={setBudget}
        />
        <TextField
          id="agent-sell-limit"
          label={t.agents.sellLimit}
          hint={t.agents.sellLimitHint}
          kind="decimal"
          value={sellKwh}
          onChange={setSellKwh}
        />
        <TextField
          id="agent-max-buy"
          label={t.agents.maxBuy(symbol)}
          kind="decimal"
          value={maxBuy}
          onChange={setMaxBuy}
        />
        <TextField
          id="agent-min-sell"
          label={t.agents.minSell(symbol)}
          kind="decimal"
          value={minSell}
          onChange={setMinSell}
        />
        <TextField id="agent-days" label={t.agents.days} kind="decimal" value={days} onChange={setDays} />
      </GridForm>
      <TxStatus state={tx.state} />
    </Section>
  );
}

function Delegations({ account }: { account: `0x${string}` }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const tx = useTransact();
  const delegations = useDelegations(account);
  const agents = delegations.data ?? [];
  return (
    <Section title={t.agents.mine} id="my-agents">
      {delegations.isPending ? (
        <Loading what={t.agents.what} />
      ) : agents.length === 0 ? (
        <Empty>{t.agents.none}</Empty>
      ) : (
        <DataTable
          columns={[t.agents.agent, t.agents.budgetCol, t.agents.spent, t.agents.sellCol, t.agents.sold, t.agents.buysAtMost, t.agents.sellsAtLeast, t.agents.until]}
          actions={t.common.actions}
          testId="agents"
        >
          {agents.map((d) => (
            <tr key={d.agent}>
              <td className={`${tdClass} font-mono`} title={d.agent}>
                {shortAddress(d.agent)}
              </td>
              <td className={tdClass}>{f.money(d.budgetPerDay)}</td>
              <td className={tdClass}>{f.money(d.spent)}</td>
              <td className={tdClass}>{f.wh(d.sellWhPerDay)}</td>
              <td className={tdClass}>{f.wh(d.soldWh)}</td>
              <td className={tdClass}>{f.price(priceOfTick(cfg.market, d.maxBuyTick))}</td>
              <td className={tdClass}>{f.price(priceOfTick(cfg.market, d.minSellTick))}</td>
              <td className={tdClass}>{f.time(d.expiry)}</td>
              <RowAction
                label={t.agents.revokeLabel(d.agent)}
                busy={tx.state.busy}
                onClick={() =>
                  void tx.run(t.agents.revokeTx, [
                    { address: cfg.addresses.market, abi: energyMarketAbi, functionName: "revokeAgent", args: [d.agent] },
                  ])
                }
              >
                {t.agents.revoke}
              </RowAction>
            </tr>
          ))}
        </DataTable>
      )}
      <TxStatus state={tx.state} />
      <AgentActivity account={account} agents={agents.map((d) => d.agent)} />
    </Section>
  );
}

function AgentActivity({ account, agents }: { account: `0x${string}`; agents: `0x${string}`[] }) {
  const { t, f } = useI18n();
  const orders = useApi(
    ["orders", account, "all"],
    (api) => unwrap(api.GET("/v1/accounts/{address}/orders", { params: { path: { address: account }, query: { limit: 200 } } })),
    10_000,
  );
  const hashes = (orders.data?.items ?? []).slice(0, 50).map((o) => o.tx_hash);
  const senders = useChainRead(
    ["order-senders", account, hashes.join(",")],
    async (client) => {
      const unique = [...new Set(hashes)];
      const txs = await Promise.all(unique.map((hash) => client.getTransaction({ hash: hash as `0x${string}` })));
      return Object.fromEntries(txs.map((t) => [t.hash.toLowerCase(), t.from.toLowerCase()]));
    },
    hashes.length > 0,
  );
  const agentSet = new Set(agents.map((a) => a.toLowerCase()));
  const done = (orders.data?.items ?? []).filter((o) => {
    const from = senders.data?.[o.tx_hash.toLowerCase()];
    return from !== undefined && from !== account.toLowerCase();
  });
  return (
    <div className="mt-4">
      <h3 className="mb-2 font-semibold">{t.agents.did}</h3>
      {done.length === 0 ? (
        <Empty>{t.agents.didNothing}</Empty>
      ) : (
        <ul className="flex flex-col gap-1 text-sm">
          {done.map((o) => {
            const from = senders.data?.[o.tx_hash.toLowerCase()] ?? "";
            return (
              <li key={o.order_id}>
                {t.agents.didLine(
                  f.time(o.block_time),
                  shortAddress(getAddress(from)),
                  !agentSet.has(from),
                  o.side === "buy" ? t.common.buy : t.common.sell,
                  f.wh(o.qty_wh),
                  f.money(o.price),
                  o.slot,
                  t.agents.orderStatus[o.status] ?? o.status,
                )}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

function Selling({ account }: { account: `0x${string}` }) {
  const delegations = useDelegations(account);
  return (
    <>
      <AutoSell account={account} agents={(delegations.data ?? []).map((d) => d.agent)} />
      <StandingOrders account={account} />
    </>
  );
}

export default function AgentsPage() {
  const { t } = useI18n();
  return (
    <AccountPage title={t.agents.title}>
      {(account) => (
        <>
          <Grant />
          <Delegations account={account} />
          <Selling account={account} />
        </>
      )}
    </AccountPage>
  );
}
