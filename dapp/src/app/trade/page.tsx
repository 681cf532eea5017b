"use client";
// Trade: vault deposit/withdraw (with the ERC-20 approval), place and cancel orders, claim the
// outcomes of cleared slots in one batch. In a sealed market orders are committed and revealed
// instead (./Sealed.tsx). Every write is signed in the wallet; every amount is
// parsed exactly in the user's locale and refused with a clear sentence before anything is sent.
import { useMemo, useState, type FormEvent } from "react";
import { energyMarketAbi, paymentTokenAbi } from "@/generated/abis";
import { unwrap, type Order } from "@/lib/api";
import { useAmountInputs } from "@/lib/amounts";
import { buyEscrow, cancelCutoff, gateClosure, openSlots, priceOfTick, tickAtOrBelow } from "@/lib/format";
import { useApi, useChainRead, useStatus, useTransact, type ContractCall, type Transact } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";
import { AccountPage } from "@/components/AccountPage";
import { OrderFields, useOrderFields } from "./OrderFields";
import { RevealWarnings, SealedOrderForm, SealedOrders } from "./Sealed";
import {
  Empty,
  Loading,
  Section,
  TxStatus,
  buttonClass,
  tdClass,
  DataTable,
  RowAction,
  TextField,
  SubmitButton,
  GridForm,
} from "@/components/ui";

/** An amount of money and its button (deposit, withdraw). What was typed is checked first (or
 * `tx` says why not); `send` gets the amount and a `clear` for the field once it went through. */
function MoneyForm({
  id,
  label,
  hint,
  button,
  secondary,
  tx,
  send,
}: {
  id: string;
  label: string;
  hint: string;
  button: string;
  secondary?: boolean;
  tx: Transact;
  send: (amount: bigint, clear: () => void) => Promise<unknown>;
}) {
  const inputs = useAmountInputs();
  const [text, setText] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const amount = inputs.money(label, text);
    if (!amount.ok) return tx.fail(amount.error);
    void send(amount.value, () => setText(""));
  };
  return (
    <form noValidate onSubmit={submit} className="flex flex-col gap-2">
      <TextField id={id} label={label} hint={hint} kind="decimal" value={text} onChange={setText} />
      <SubmitButton busy={tx.state.busy} secondary={secondary}>
        {button}
      </SubmitButton>
    </form>
  );
}

function Vault({ account }: { account: `0x${string}` }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const { market, paymentToken } = cfg.addresses;
  const tx = useTransact();
  const balances = useChainRead(["vault", account], async (client) => {
    const [wallet, allowance, vault] = await Promise.all([
      client.readContract({ address: paymentToken, abi: paymentTokenAbi, functionName: "balanceOf", args: [account] }),
      client.readContract({ address: paymentToken, abi: paymentTokenAbi, functionName: "allowance", args: [account, market] }),
      client.readContract({ address: market, abi: energyMarketAbi, functionName: "balanceOf", args: [account] }),
    ]);
    return { wallet, allowance, vault };
  });
  const symbol = cfg.token.symbol;

  const deposit = (amount: bigint, clear: () => void) => {
    const calls: ContractCall[] = [];
    if ((balances.data?.allowance ?? 0n) < amount) {
      calls.push({ address: paymentToken, abi: paymentTokenAbi, functionName: "approve", args: [market, amount] });
    }
    calls.push({ address: market, abi: energyMarketAbi, functionName: "deposit", args: [amount] });
    return tx.run(t.trade.depositButton, calls, clear);
  };
  const withdraw = (amount: bigint, clear: () => void) =>
    tx.run(t.trade.withdrawButton, [{ address: market, abi: energyMarketAbi, functionName: "withdraw", args: [amount] }], clear);

  return (
    <Section title={t.trade.vault} id="vault">
      {balances.data ? (
        <dl className="mb-3 grid grid-cols-1 gap-2 text-sm sm:grid-cols-3">
          <div>
            <dt className="text-slate-500">{t.trade.inWallet}</dt>
            <dd data-testid="wallet-balance" className="break-all">{f.money(balances.data.wallet)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t.trade.inVault}</dt>
            <dd data-testid="vault-balance" className="break-all">{f.money(balances.data.vault)}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t.trade.approved}</dt>
            <dd className="break-all">{f.money(balances.data.allowance)}</dd>
          </div>
        </dl>
      ) : (
        <Loading what={t.trade.balances} />
      )}
      <div className="grid gap-4 md:grid-cols-2">
        <MoneyForm id="deposit-amount" label={t.trade.deposit(symbol)} hint={t.trade.depositHint} button={t.trade.depositButton} tx={tx} send={deposit} />
        <MoneyForm id="withdraw-amount" label={t.trade.withdraw(symbol)} hint={t.trade.withdrawHint} button={t.trade.withdrawButton} secondary tx={tx} send={withdraw} />
      </div>
      <TxStatus state={tx.state} />
    </Section>
  );
}

function PlaceOrder({ account, slots }: { account: `0x${string}`; slots: number[] }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const inputs = useAmountInputs();
  const tx = useTransact();
  const { slot, side, priceLabel, priceText, qtyText, clearQuantity, fields } = useOrderFields(slots);
  const m = cfg.market;

  const price = priceText === "" ? null : inputs.money(priceLabel, priceText);
  const tick = price?.ok ? tickAtOrBelow(m, price.value) : null;
  const qty = qtyText === "" ? null : inputs.integer(t.trade.quantity, qtyText);
  const escrow = tick !== null && qty?.ok ? buyEscrow(qty.value, priceOfTick(m, tick)) : null;

  const submit = async () => {
    const checkedPrice = inputs.money(priceLabel, priceText);
    const checkedQty = inputs.integer(t.trade.quantity, qtyText);
    if (!checkedPrice.ok || !checkedQty.ok) {
      tx.fail(!checkedPrice.ok ? checkedPrice.error : (checkedQty as { error: string }).error);
      return;
    }
    if (slot === undefined) return;
    const orderTick = tickAtOrBelow(m, checkedPrice.value);
    await tx.run(
      side === "buy" ? t.trade.buyOrder : t.trade.sellOrder,
      [
        {
          address: cfg.addresses.market,
          abi: energyMarketAbi,
          functionName: "placeOrder",
          args: [account, BigInt(slot), side === "buy", orderTick, checkedQty.value],
        },
      ],
      clearQuantity,
    );
  };

  return (
    <Section title={t.trade.placeOrder} id="place-order">
      {slots.length === 0 ? (
        <Empty>{t.trade.noSlot}</Empty>
      ) : (
        <GridForm columns={2} onSubmit={submit} busy={tx.state.busy} submit={t.trade.place(side)}>
          <OrderFields
            {...fields(tick, t.trade.qtyHint(f.wh(m.minOrderWh), escrow !== null && side === "buy" ? f.money(escrow) : ""))}
          />
        </GridForm>
      )}
      <TxStatus state={tx.state} />
    </Section>
  );
}

function MyOrders({ account, now }: { account: `0x${string}`; now: number | undefined }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const tx = useTransact();
  const orders = useApi(
    ["orders", account, "open"],
    (api) => unwrap(api.GET("/v1/accounts/{address}/orders", { params: { path: { address: account }, query: { status: "open", limit: 200 } } })),
    4_000,
  );
  const cleared = useApi(["slots", "cleared", 200], (api) => unwrap(api.GET("/v1/slots", { params: { query: { status: "cleared", limit: 200 } } })));
  const clearedSlots = useMemo(() => new Set(cleared.data?.items.map((s) => s.slot) ?? []), [cleared.data]);
  const open = orders.data?.items ?? [];
  const claimable = open.filter((o) => clearedSlots.has(o.slot));
  const resting = open.filter((o) => !clearedSlots.has(o.slot));

  const claimAll = () =>
    tx.run(t.trade.claimLabel(claimable.length), [
      {
        address: cfg.addresses.market,
        abi: energyMarketAbi,
        functionName: "claimBatch",
        args: [claimable.map((o) => BigInt(o.order_id))],
      },
    ]);
  const cancel = (order: Order) =>
    tx.run(t.trade.cancelLabel(order.nonce), [
      { address: cfg.addresses.market, abi: energyMarketAbi, functionName: "cancelOrder", args: [BigInt(order.order_id)] },
    ]);

  return (
    <Section title={t.trade.myOrders} id="my-orders">
      {orders.isPending ? <Loading what={t.trade.yourOrders} /> : null}
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <button type="button" className={buttonClass} disabled={tx.state.busy || claimable.length === 0} onClick={() => void claimAll()}>
          {t.trade.claimAll(claimable.length)}
        </button>
        <span className="text-sm text-slate-600">{t.trade.claimHint}</span>
      </div>
      {open.length === 0 && !orders.isPending ? (
        <Empty>{t.trade.noOrders}</Empty>
      ) : (
        <DataTable
          columns={[t.trade.order, t.common.slot, t.trade.side, t.trade.limitPerKwh, t.trade.qty, t.trade.state]}
          actions={t.common.actions}
          testId="my-orders"
        >
          {[...claimable, ...resting].map((o) => {
            const isCleared = clearedSlots.has(o.slot);
            const canCancel = !isCleared && now !== undefined && now < cancelCutoff(cfg.market, o.slot);
            const isFirm = !isCleared && !canCancel && now !== undefined && now < gateClosure(cfg.market, o.slot);
            return (
              <tr key={o.order_id} data-testid="order-row">
                <td className={tdClass}>#{o.nonce}</td>
                <td className={tdClass}>{o.slot}</td>
                <td className={tdClass}>{o.side === "buy" ? t.common.buy : t.common.sell}</td>
                <td className={tdClass}>{f.money(o.price)}</td>
                <td className={tdClass}>{f.wh(o.qty_wh)}</td>
                <td className={tdClass}>{isCleared ? t.trade.stateClaim : canCancel ? t.trade.stateResting : isFirm ? t.trade.stateFirm : t.trade.stateAwaiting}</td>
                <RowAction label={t.trade.cancelLabel(o.nonce)} busy={tx.state.busy} onClick={() => void cancel(o)} available={canCancel}>
                  {t.trade.cancel}
                </RowAction>
              </tr>
            );
          })}
        </DataTable>
      )}
      <TxStatus state={tx.state} />
    </Section>
  );
}

export default function TradePage() {
  const cfg = useRuntime();
  const { t } = useI18n();
  const status = useStatus();
  const now = status.data?.checkpoint_time;
  const slots = useMemo(() => (now === undefined ? [] : openSlots(cfg.market, now, 12)), [cfg.market, now]);
  return (
    <AccountPage title={t.trade.title}>
      {(account) => (
        <>
          {cfg.market.mode === "sealed" ? <RevealWarnings account={account} now={now} /> : null}
          <Vault account={account} />
          {cfg.market.mode === "sealed" ? (
            <>
              <SealedOrderForm account={account} slots={slots} />
              <SealedOrders account={account} now={now} />
            </>
          ) : (
            <PlaceOrder account={account} slots={slots} />
          )}
          <MyOrders account={account} now={now} />
        </>
      )}
    </AccountPage>
  );
}
