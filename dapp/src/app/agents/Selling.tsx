"use client";
// Set-and-forget selling (issue 16 item 6): the auto-sell switch and the standing orders.
// - Auto-sell is on chain: EnergyToken.setApprovalForAll(agent, on) lets the household's gateway
//   (its agent key) put each slot's minted export into the market's vault. It moves energy
//   tokens only, never money; switching off takes effect with the next slot.
// - Standing orders live in the API (GET public, PUT with the household's SIWE session): sell the
//   surplus at no less than X, buy up to Y below the grid tariff. The gateway reads them and
//   applies them within the agent's delegation (its price bounds stay the on-chain limit).
import { useEffect, useRef, useState } from "react";
import { energyTokenAbi } from "@/generated/abis";
import { ApiError, bearer, unwrap } from "@/lib/api";
import { useAmountInputs } from "@/lib/amounts";
import { shortAddress } from "@/lib/format";
import { useApi, useChainRead, useTransact } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useApiClient, useRuntime } from "@/lib/runtime";
import { useSession } from "@/lib/session";
import { SignInPrompt } from "@/components/Header";
import { Empty, Loading, Section, TxStatus, buttonClass, secondaryButtonClass, TextField, GridForm } from "@/components/ui";

export function AutoSell({ account, agents }: { account: `0x${string}`; agents: `0x${string}`[] }) {
  const cfg = useRuntime();
  const { t } = useI18n();
  const tx = useTransact();
  const approvals = useChainRead(
    ["auto-sell", account, agents.join(",")],
    async (client) =>
      Promise.all(
        agents.map((agent) =>
          client.readContract({
            address: cfg.addresses.energyToken,
            abi: energyTokenAbi,
            functionName: "isApprovedForAll",
            args: [account, agent],
          }),
        ),
      ),
    agents.length > 0,
  );
  return (
    <Section title={t.selling.autoTitle} id="auto-sell">
      <p className="mb-3 text-sm text-slate-600">{t.selling.autoHelp}</p>
      {agents.length === 0 ? (
        <Empty>{t.selling.noAgent}</Empty>
      ) : approvals.isPending ? (
        <Loading what={t.selling.what} />
      ) : (
        <ul className="flex flex-col gap-2" data-testid="auto-sell">
          {agents.map((agent, i) => {
            const on = approvals.data?.[i] === true;
            return (
              <li key={agent} className="flex flex-wrap items-center gap-3">
                <span className="font-mono text-sm" title={agent}>
                  {shortAddress(agent)}
                </span>
                <span className="text-sm" data-testid={`auto-sell-state-${agent}`}>
                  {on ? t.selling.on : t.selling.off}
                </span>
                <button
                  type="button"
                  role="switch"
                  aria-checked={on}
                  aria-label={t.selling.switchLabel(agent)}
                  className={on ? secondaryButtonClass : buttonClass}
                  disabled={tx.state.busy}
                  onClick={() =>
                    void tx.run(on ? t.selling.turnOffTx : t.selling.turnOnTx, [
                      {
                        address: cfg.addresses.energyToken,
                        abi: energyTokenAbi,
                        functionName: "setApprovalForAll",
                        args: [agent, !on],
                      },
                    ])
                  }
                >
                  {on ? t.selling.turnOff : t.selling.turnOn}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <TxStatus state={tx.state} />
    </Section>
  );
}

export function StandingOrders({ account }: { account: `0x${string}` }) {
  const { t, f } = useI18n();
  const cfg = useRuntime();
  const { session, expire } = useSession();
  const api = useApiClient();
  const inputs = useAmountInputs();
  const current = useApi(
    ["standing-orders", account],
    (client) => unwrap(client.GET("/v1/accounts/{address}/standing-orders", { params: { path: { address: account } } })),
    false,
  );
  const [sellMin, setSellMin] = useState("");
  const [buyBelow, setBuyBelow] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const loaded = current.data;
  // The fields are filled from the server once per answer and only while the user has not typed
  // in them: neither a re-render (a new formatter after signing in) nor an answer that arrives
  // after the user started typing may overwrite what they typed (both once did).
  const seeded = useRef<typeof loaded>(undefined);
  const edited = useRef(false);
  useEffect(() => {
    if (!loaded || seeded.current === loaded) return;
    seeded.current = loaded;
    if (edited.current) return;
    setSellMin(loaded.sell_min_price == null ? "" : f.amount(BigInt(loaded.sell_min_price)));
    setBuyBelow(loaded.buy_below_tariff == null ? "" : f.amount(BigInt(loaded.buy_below_tariff)));
  }, [loaded, f]);
  const mine = session !== null && session.address.toLowerCase() === account.toLowerCase();
  const symbol = cfg.token.symbol;
  /** A standing order's price limit (empty: off); typing in it keeps the server's answer out. */
  const limitField = (id: string, label: string, text: string, setText: (text: string) => void) => (
    <TextField
      id={id}
      label={label}
      hint={t.selling.emptyOff}
      kind="decimal"
      value={text}
      onChange={(typed) => {
        edited.current = true;
        setText(typed);
      }}
    />
  );

  const submit = async () => {
    setMessage(null);
    if (!mine || session === null) return;
    const sell = sellMin.trim() === "" ? null : inputs.money(t.selling.sellMin(symbol), sellMin);
    const buy = buyBelow.trim() === "" ? null : inputs.money(t.selling.buyBelow(symbol), buyBelow);
    for (const checked of [sell, buy]) {
      if (checked !== null && !checked.ok) {
        setMessage({ ok: false, text: checked.error });
        return;
      }
    }
    const body = {
      sell_min_price: sell !== null && sell.ok ? sell.value.toString() : null,
      buy_below_tariff: buy !== null && buy.ok ? buy.value.toString() : null,
    };
    setBusy(true);
    try {
      await unwrap(
        api.PUT("/v1/accounts/{address}/standing-orders", {
          params: { path: { address: account } },
          body,
          headers: bearer(session.token),
        }),
      );
      setMessage({ ok: true, text: t.selling.saved });
      edited.current = false;
      void current.refetch();
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 401) expire();
      setMessage({ ok: false, text: t.selling.failed(failure instanceof Error ? failure.message : String(failure)) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={t.selling.ordersTitle} id="standing-orders">
      <p className="mb-3 text-sm text-slate-600">{t.selling.ordersHelp}</p>
      {current.isPending ? (
        <Loading what={t.selling.what} />
      ) : (
        <p className="mb-3 text-sm" data-testid="standing-orders-now">
          {t.selling.now(
            loaded?.sell_min_price == null ? null : f.price(loaded.sell_min_price),
            loaded?.buy_below_tariff == null ? null : f.price(loaded.buy_below_tariff),
          )}
        </p>
      )}
      {!mine ? (
        <SignInPrompt text={t.selling.signIn} />
      ) : (
        <GridForm columns={3} onSubmit={submit} busy={busy} submit={t.selling.save}>
          {limitField("standing-sell-min", t.selling.sellMin(symbol), sellMin, setSellMin)}
          {limitField("standing-buy-below", t.selling.buyBelow(symbol), buyBelow, setBuyBelow)}
        </GridForm>
      )}
      {message ? (
        <p role={message.ok ? "status" : "alert"} className={`mt-2 text-sm ${message.ok ? "text-emerald-700" : "text-red-700"}`} data-testid="standing-orders-message">
          {message.text}
        </p>
      ) : null}
    </Section>
  );
}
