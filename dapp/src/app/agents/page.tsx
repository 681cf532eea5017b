"use client";
// Agents: grant an agent key bounded trading (daily budget, price bounds, expiry), revoke it,
// and see the orders it placed for you (orders from the API whose transaction it sent).
import { useState, type FormEvent } from "react";
import { getAddress, isAddress } from "viem";
import { energyMarketAbi } from "@/generated/abis";
import { paths, type Order, type Page } from "@/lib/api";
import { formatMoney, formatTime, formatWh, parseMoney, priceOfTick, shortAddress, tickOfPrice } from "@/lib/format";
import { useAccount, useApi, useChainRead, useStatus, useTransact } from "@/lib/hooks";
import { useRuntime } from "@/lib/runtime";
import { ConnectPrompt } from "@/components/Header";
import {
  Empty,
  Field,
  Loading,
  Section,
  TxStatus,
  buttonClass,
  inputClass,
  secondaryButtonClass,
  tableClass,
  tdClass,
  thClass,
} from "@/components/ui";

interface DelegationRow {
  agent: `0x${string}`;
  budgetPerDay: bigint;
  maxBuyTick: number;
  minSellTick: number;
  expiry: number;
  spentToday: bigint;
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
    const today = Number(block.timestamp / 86_400n);
    const rows = await Promise.all(
      agents.map(async (agent) => {
        const d = await client.readContract({
          address: cfg.addresses.market,
          abi: energyMarketAbi,
          functionName: "delegation",
          args: [account, agent],
        });
        return {
          agent,
          budgetPerDay: d.budgetPerDay,
          maxBuyTick: d.maxBuyTick,
          minSellTick: d.minSellTick,
          expiry: Number(d.expiry),
          spentToday: d.day === today ? d.spent : 0n,
        };
      }),
    );
    return rows.filter((r) => r.expiry !== 0);
  });
}

function Grant() {
  const cfg = useRuntime();
  const tx = useTransact();
  const status = useStatus();
  const [agent, setAgent] = useState("");
  const [budget, setBudget] = useState("");
  const [maxBuy, setMaxBuy] = useState("");
  const [minSell, setMinSell] = useState("");
  const [days, setDays] = useState("7");

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!isAddress(agent)) {
      tx.fail(`"${agent}" is not an Ethereum address.`);
      return;
    }
    let budgetUnits: bigint;
    let maxBuyTick: number;
    let minSellTick: number;
    try {
      budgetUnits = parseMoney(cfg, budget);
      maxBuyTick = tickOfPrice(cfg.market, Number(parseMoney(cfg, maxBuy)));
      minSellTick = Math.min(
        cfg.market.max_tick,
        Math.max(0, Math.ceil((Number(parseMoney(cfg, minSell)) - cfg.market.price_floor) / cfg.market.tick_size)),
      );
    } catch (error) {
      tx.fail(error instanceof Error ? error.message : String(error));
      return;
    }
    const now = status.data?.checkpoint_time ?? Math.floor(Date.now() / 1000);
    const expiry = BigInt(now + Math.round(Number(days) * 86_400));
    await tx.run("Authorize agent", [
      {
        address: cfg.addresses.market,
        abi: energyMarketAbi,
        functionName: "authorizeAgent",
        args: [getAddress(agent), budgetUnits, maxBuyTick, minSellTick, expiry],
      },
    ]);
  };

  return (
    <Section title="Grant an agent key">
      <p className="mb-3 text-sm text-slate-600">
        The agent may place, cancel and claim orders for you within these bounds. It can never withdraw.
        Granting again replaces the limits; today&apos;s spending still counts.
      </p>
      <form onSubmit={(e) => void submit(e)} className="grid gap-3 md:grid-cols-2">
        <Field label="Agent address" htmlFor="agent-address">
          <input id="agent-address" required className={`${inputClass} font-mono`} value={agent} onChange={(e) => setAgent(e.target.value)} />
        </Field>
        <Field label={`Budget per day (${cfg.token.symbol})`} htmlFor="agent-budget" hint="Buy escrow the agent may commit per UTC day.">
          <input id="agent-budget" required inputMode="decimal" className={inputClass} value={budget} onChange={(e) => setBudget(e.target.value)} />
        </Field>
        <Field label={`Highest buy price (${cfg.token.symbol}/kWh)`} htmlFor="agent-max-buy">
          <input id="agent-max-buy" required inputMode="decimal" className={inputClass} value={maxBuy} onChange={(e) => setMaxBuy(e.target.value)} />
        </Field>
        <Field label={`Lowest sell price (${cfg.token.symbol}/kWh)`} htmlFor="agent-min-sell">
          <input id="agent-min-sell" required inputMode="decimal" className={inputClass} value={minSell} onChange={(e) => setMinSell(e.target.value)} />
        </Field>
        <Field label="Valid for (days)" htmlFor="agent-days">
          <input id="agent-days" required inputMode="decimal" className={inputClass} value={days} onChange={(e) => setDays(e.target.value)} />
        </Field>
        <div className="flex items-end">
          <button type="submit" className={buttonClass} disabled={tx.state.busy}>
            Grant
          </button>
        </div>
      </form>
      <TxStatus state={tx.state} />
    </Section>
  );
}

function Delegations({ account }: { account: `0x${string}` }) {
  const cfg = useRuntime();
  const tx = useTransact();
  const delegations = useDelegations(account);
  const agents = delegations.data ?? [];
  return (
    <Section title="My agents">
      {delegations.isPending ? (
        <Loading what="your agents" />
      ) : agents.length === 0 ? (
        <Empty>No agent holds a delegation from you.</Empty>
      ) : (
        <div className="overflow-x-auto">
          <table className={tableClass} data-testid="agents">
            <thead>
              <tr>
                <th scope="col" className={thClass}>Agent</th>
                <th scope="col" className={thClass}>Budget per day</th>
                <th scope="col" className={thClass}>Spent today</th>
                <th scope="col" className={thClass}>Buys at most</th>
                <th scope="col" className={thClass}>Sells at least</th>
                <th scope="col" className={thClass}>Until</th>
                <th scope="col" className={thClass}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {agents.map((d) => (
                <tr key={d.agent}>
                  <td className={`${tdClass} font-mono`} title={d.agent}>
                    {shortAddress(d.agent)}
                  </td>
                  <td className={tdClass}>{formatMoney(cfg, d.budgetPerDay)}</td>
                  <td className={tdClass}>{formatMoney(cfg, d.spentToday)}</td>
                  <td className={tdClass}>{formatMoney(cfg, priceOfTick(cfg.market, d.maxBuyTick))}/kWh</td>
                  <td className={tdClass}>{formatMoney(cfg, priceOfTick(cfg.market, d.minSellTick))}/kWh</td>
                  <td className={tdClass}>{formatTime(d.expiry)}</td>
                  <td className={tdClass}>
                    <button
                      type="button"
                      className={secondaryButtonClass}
                      disabled={tx.state.busy}
                      aria-label={`Revoke agent ${d.agent}`}
                      onClick={() =>
                        void tx.run("Revoke agent", [
                          { address: cfg.addresses.market, abi: energyMarketAbi, functionName: "revokeAgent", args: [d.agent] },
                        ])
                      }
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <TxStatus state={tx.state} />
      <AgentActivity account={account} agents={agents.map((d) => d.agent)} />
    </Section>
  );
}

function AgentActivity({ account, agents }: { account: `0x${string}`; agents: `0x${string}`[] }) {
  const cfg = useRuntime();
  const orders = useApi<Page<Order>>(paths.orders(account), 10_000);
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
      <h3 className="mb-2 font-semibold">What agents did for me</h3>
      {done.length === 0 ? (
        <Empty>No order of yours was placed by an agent.</Empty>
      ) : (
        <ul className="flex flex-col gap-1 text-sm">
          {done.map((o) => {
            const from = senders.data?.[o.tx_hash.toLowerCase()] ?? "";
            return (
              <li key={o.order_id}>
                {formatTime(o.block_time)}: agent <span className="font-mono">{shortAddress(getAddress(from))}</span>
                {agentSet.has(from) ? "" : " (no longer authorized)"} placed a {o.side} order of {formatWh(o.qty_wh)} at{" "}
                {formatMoney(cfg, o.price)}/kWh for slot {o.slot} ({o.status})
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

export default function AgentsPage() {
  const { address, wrongChain } = useAccount();
  return (
    <>
      <h1 className="text-2xl font-bold">Agents</h1>
      {address === null ? (
        <ConnectPrompt wrongChain={wrongChain} />
      ) : (
        <>
          <Grant />
          <Delegations account={address} />
        </>
      )}
    </>
  );
}
