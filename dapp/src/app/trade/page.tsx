"use client";
// Trade: vault deposit/withdraw (with the ERC-20 approval), place and cancel orders, claim the
// outcomes of cleared slots in one batch. Every write is signed in the wallet.
import { useMemo, useState, type FormEvent } from "react";
import { energyMarketAbi, paymentTokenAbi } from "@/generated/abis";
import { paths, type Order, type Page, type Slot } from "@/lib/api";
import {
  formatMoney,
  formatWh,
  gateClosure,
  openSlots,
  parseMoney,
  priceOfTick,
  slotLabel,
  tickOfPrice,
} from "@/lib/format";
import { useAccount, useApi, useChainRead, useStatus, useTransact, type ContractCall } from "@/lib/hooks";
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

function Vault({ account }: { account: `0x${string}` }) {
  const cfg = useRuntime();
  const { market, paymentToken } = cfg.addresses;
  const tx = useTransact();
  const [depositText, setDepositText] = useState("");
  const [withdrawText, setWithdrawText] = useState("");
  const balances = useChainRead(["vault", account], async (client) => {
    const [wallet, allowance, vault] = await Promise.all([
      client.readContract({ address: paymentToken, abi: paymentTokenAbi, functionName: "balanceOf", args: [account] }),
      client.readContract({ address: paymentToken, abi: paymentTokenAbi, functionName: "allowance", args: [account, market] }),
      client.readContract({ address: market, abi: energyMarketAbi, functionName: "balanceOf", args: [account] }),
    ]);
    return { wallet, allowance, vault };
  });

  const submit = async (event: FormEvent, kind: "deposit" | "withdraw") => {
    event.preventDefault();
    let amount: bigint;
    try {
      amount = parseMoney(cfg, kind === "deposit" ? depositText : withdrawText);
    } catch (error) {
      tx.fail(error instanceof Error ? error.message : String(error));
      return;
    }
    if (kind === "withdraw") {
      const done = await tx.run("Withdraw", [
        { address: market, abi: energyMarketAbi, functionName: "withdraw", args: [amount] },
      ]);
      if (done) setWithdrawText("");
      return;
    }
    const calls: ContractCall[] = [];
    if ((balances.data?.allowance ?? 0n) < amount) {
      calls.push({ address: paymentToken, abi: paymentTokenAbi, functionName: "approve", args: [market, amount] });
    }
    calls.push({ address: market, abi: energyMarketAbi, functionName: "deposit", args: [amount] });
    const done = await tx.run("Deposit", calls);
    if (done) setDepositText("");
  };

  return (
    <Section title="Vault">
      {balances.data ? (
        <dl className="mb-3 grid grid-cols-2 gap-2 text-sm md:grid-cols-3">
          <div>
            <dt className="text-slate-500">In your wallet</dt>
            <dd data-testid="wallet-balance">{formatMoney(cfg, balances.data.wallet)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">In the market vault (free)</dt>
            <dd data-testid="vault-balance">{formatMoney(cfg, balances.data.vault)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Approved for the market</dt>
            <dd>{formatMoney(cfg, balances.data.allowance)}</dd>
          </div>
        </dl>
      ) : (
        <Loading what="balances" />
      )}
      <div className="grid gap-4 md:grid-cols-2">
        <form onSubmit={(e) => void submit(e, "deposit")} className="flex flex-col gap-2">
          <Field label={`Deposit (${cfg.token.symbol})`} htmlFor="deposit-amount" hint="Approves the market first when needed.">
            <input
              id="deposit-amount"
              inputMode="decimal"
              required
              pattern="\d+(\.\d+)?"
              className={inputClass}
              value={depositText}
              onChange={(e) => setDepositText(e.target.value)}
            />
          </Field>
          <button type="submit" className={buttonClass} disabled={tx.state.busy}>
            Deposit
          </button>
        </form>
        <form onSubmit={(e) => void submit(e, "withdraw")} className="flex flex-col gap-2">
          <Field label={`Withdraw (${cfg.token.symbol})`} htmlFor="withdraw-amount" hint="Back to your wallet.">
            <input
              id="withdraw-amount"
              inputMode="decimal"
              required
              pattern="\d+(\.\d+)?"
              className={inputClass}
              value={withdrawText}
              onChange={(e) => setWithdrawText(e.target.value)}
            />
          </Field>
          <button type="submit" className={secondaryButtonClass} disabled={tx.state.busy}>
            Withdraw
          </button>
        </form>
      </div>
      <TxStatus state={tx.state} />
    </Section>
  );
}

function PlaceOrder({ account, slots }: { account: `0x${string}`; slots: number[] }) {
  const cfg = useRuntime();
  const tx = useTransact();
  const [slotText, setSlotText] = useState("");
  const [side, setSide] = useState<"buy" | "sell">("buy");
  const [priceText, setPriceText] = useState("");
  const [qtyText, setQtyText] = useState("");
  const slot = slotText === "" ? slots[0] : Number(slotText);

  let tick: number | null = null;
  try {
    tick = priceText === "" ? null : tickOfPrice(cfg.market, Number(parseMoney(cfg, priceText)));
  } catch {
    tick = null;
  }
  const qty = /^\d+$/.test(qtyText) ? Number(qtyText) : null;
  const escrow =
    tick !== null && qty !== null ? Math.ceil((qty * priceOfTick(cfg.market, tick)) / 1000) : null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (slot === undefined || tick === null || qty === null) return;
    const done = await tx.run(side === "buy" ? "Buy order" : "Sell order", [
      {
        address: cfg.addresses.market,
        abi: energyMarketAbi,
        functionName: "placeOrder",
        args: [account, BigInt(slot), side === "buy", tick, BigInt(qty)],
      },
    ]);
    if (done) setQtyText("");
  };

  return (
    <Section title="Place an order">
      {slots.length === 0 ? (
        <Empty>No slot is open for orders right now.</Empty>
      ) : (
        <form onSubmit={(e) => void submit(e)} className="grid gap-3 md:grid-cols-2">
          <Field label="Delivery slot" htmlFor="order-slot">
            <select id="order-slot" className={inputClass} value={slot} onChange={(e) => setSlotText(e.target.value)}>
              {slots.map((s) => (
                <option key={s} value={s}>
                  {slotLabel(cfg.market, s)}
                </option>
              ))}
            </select>
          </Field>
          <fieldset className="flex flex-col gap-1">
            <legend className="text-sm font-medium text-slate-700">Side</legend>
            <div className="flex gap-4 text-sm">
              {(["buy", "sell"] as const).map((s) => (
                <label key={s} className="flex items-center gap-1">
                  <input type="radio" name="side" value={s} checked={side === s} onChange={() => setSide(s)} />
                  {s === "buy" ? "Buy energy" : "Sell energy"}
                </label>
              ))}
            </div>
          </fieldset>
          <Field
            label={`Limit price (${cfg.token.symbol} per kWh)`}
            htmlFor="order-price"
            hint={`From ${formatMoney(cfg, priceOfTick(cfg.market, 0))} to ${formatMoney(cfg, priceOfTick(cfg.market, cfg.market.max_tick))}, in steps of ${formatMoney(cfg, cfg.market.tick_size)}${tick !== null ? `; tick ${tick} = ${formatMoney(cfg, priceOfTick(cfg.market, tick))}` : ""}.`}
          >
            <input
              id="order-price"
              inputMode="decimal"
              required
              className={inputClass}
              value={priceText}
              onChange={(e) => setPriceText(e.target.value)}
            />
          </Field>
          <Field
            label="Quantity (Wh)"
            htmlFor="order-qty"
            hint={`Minimum ${formatWh(cfg.market.min_order_wh)}${escrow !== null && side === "buy" ? `; locks ${formatMoney(cfg, escrow)}` : ""}.`}
          >
            <input
              id="order-qty"
              inputMode="numeric"
              required
              pattern="\d+"
              className={inputClass}
              value={qtyText}
              onChange={(e) => setQtyText(e.target.value)}
            />
          </Field>
          <div className="md:col-span-2">
            <button type="submit" className={buttonClass} disabled={tx.state.busy || tick === null || qty === null}>
              Place {side} order
            </button>
          </div>
        </form>
      )}
      <TxStatus state={tx.state} />
    </Section>
  );
}

function MyOrders({ account, now }: { account: `0x${string}`; now: number | undefined }) {
  const cfg = useRuntime();
  const tx = useTransact();
  const orders = useApi<Page<Order>>(paths.orders(account, "open"), 4_000);
  const cleared = useApi<Page<Slot>>(paths.slots("cleared", 200), 5_000);
  const clearedSlots = useMemo(() => new Set(cleared.data?.items.map((s) => s.slot) ?? []), [cleared.data]);
  const open = orders.data?.items ?? [];
  const claimable = open.filter((o) => clearedSlots.has(o.slot));
  const resting = open.filter((o) => !clearedSlots.has(o.slot));

  const claimAll = () =>
    tx.run(`Claim ${claimable.length} order${claimable.length === 1 ? "" : "s"}`, [
      {
        address: cfg.addresses.market,
        abi: energyMarketAbi,
        functionName: "claimBatch",
        args: [claimable.map((o) => BigInt(o.order_id))],
      },
    ]);
  const cancel = (order: Order) =>
    tx.run(`Cancel order ${order.nonce}`, [
      { address: cfg.addresses.market, abi: energyMarketAbi, functionName: "cancelOrder", args: [BigInt(order.order_id)] },
    ]);

  return (
    <Section title="My orders">
      {orders.isPending ? <Loading what="your orders" /> : null}
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <button
          type="button"
          className={buttonClass}
          disabled={tx.state.busy || claimable.length === 0}
          onClick={() => void claimAll()}
        >
          Claim all ({claimable.length})
        </button>
        <span className="text-sm text-slate-600">
          Claiming settles orders of cleared slots into your vault: energy bought, money received, refunds.
        </span>
      </div>
      {open.length === 0 && !orders.isPending ? (
        <Empty>You have no open orders.</Empty>
      ) : (
        <div className="overflow-x-auto">
          <table className={tableClass} data-testid="my-orders">
            <thead>
              <tr>
                <th scope="col" className={thClass}>Order</th>
                <th scope="col" className={thClass}>Slot</th>
                <th scope="col" className={thClass}>Side</th>
                <th scope="col" className={thClass}>Limit per kWh</th>
                <th scope="col" className={thClass}>Quantity</th>
                <th scope="col" className={thClass}>State</th>
                <th scope="col" className={thClass}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {[...claimable, ...resting].map((o) => {
                const isCleared = clearedSlots.has(o.slot);
                const canCancel = !isCleared && now !== undefined && now < gateClosure(cfg.market, o.slot);
                return (
                  <tr key={o.order_id} data-testid="order-row">
                    <td className={tdClass}>#{o.nonce}</td>
                    <td className={tdClass}>{o.slot}</td>
                    <td className={tdClass}>{o.side}</td>
                    <td className={tdClass}>{formatMoney(cfg, o.price)}</td>
                    <td className={tdClass}>{formatWh(o.qty_wh)}</td>
                    <td className={tdClass}>{isCleared ? "cleared: claim" : canCancel ? "resting" : "awaiting clearing"}</td>
                    <td className={tdClass}>
                      {canCancel ? (
                        <button
                          type="button"
                          className={secondaryButtonClass}
                          disabled={tx.state.busy}
                          onClick={() => void cancel(o)}
                          aria-label={`Cancel order ${o.nonce}`}
                        >
                          Cancel
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <TxStatus state={tx.state} />
    </Section>
  );
}

export default function TradePage() {
  const cfg = useRuntime();
  const { address, wrongChain } = useAccount();
  const status = useStatus();
  const now = status.data?.checkpoint_time;
  const slots = useMemo(() => (now === undefined ? [] : openSlots(cfg.market, now, 12)), [cfg.market, now]);
  return (
    <>
      <h1 className="text-2xl font-bold">Trade</h1>
      {address === null ? (
        <ConnectPrompt wrongChain={wrongChain} />
      ) : (
        <>
          <Vault account={address} />
          <PlaceOrder account={address} slots={slots} />
          <MyOrders account={address} now={now} />
        </>
      )}
    </>
  );
}
