"use client";
// The market's state for its operator (enerwise operator status / pause / unpause / clear-due):
// paused flags, slots with open orders, slots due for clearing, the solvency check, and the
// actions, each checked first as the CLI checks it (role held on chain, state already reached).
import { useState } from "react";
import { energyMarketAbi, energyTokenAbi, meterRegistryAbi, paymentTokenAbi } from "@/generated/abis";
import { unwrap } from "@/lib/api";
import { useAccount, useApi, useChainRead, usePublicClient, useTransact, type ContractCall } from "@/lib/hooks";
import { shortAddress } from "@/lib/format";
import { useI18n } from "@/lib/i18n";
import { requireRole, type Contract } from "@/lib/operatorChecks";
import { useRuntime } from "@/lib/runtime";
import { Loading, Section, TxStatus, buttonClass, inputClass, secondaryButtonClass } from "@/components/ui";

type Target = "both" | "market" | "registry";

function useSolvency() {
  const cfg = useRuntime();
  const { market, paymentToken, energyToken, registry } = cfg.addresses;
  return useChainRead(["operator", "status"], async (client) => {
    const from = cfg.deploymentBlock;
    const on = { address: market, abi: energyMarketAbi, fromBlock: from } as const;
    const [marketPaused, registryPaused, admin, pending, deposited, withdrawn, energyIn, energyOut, held] = await Promise.all([
      client.readContract({ address: market, abi: energyMarketAbi, functionName: "paused" }),
      client.readContract({ address: registry, abi: meterRegistryAbi, functionName: "paused" }),
      client.readContract({ address: registry, abi: meterRegistryAbi, functionName: "defaultAdmin" }),
      client.readContract({ address: registry, abi: meterRegistryAbi, functionName: "pendingDefaultAdmin" }),
      client.getContractEvents({ ...on, eventName: "Deposited" }),
      client.getContractEvents({ ...on, eventName: "Withdrawn" }),
      client.getContractEvents({ ...on, eventName: "EnergyDeposited" }),
      client.getContractEvents({ ...on, eventName: "EnergyWithdrawn" }),
      client.readContract({ address: paymentToken, abi: paymentTokenAbi, functionName: "balanceOf", args: [market] }),
    ]);
    const paymentVault =
      deposited.reduce((sum, log) => sum + (log.args.amount ?? 0n), 0n) -
      withdrawn.reduce((sum, log) => sum + (log.args.amount ?? 0n), 0n);
    const energyVault = new Map<bigint, bigint>();
    for (const [logs, sign] of [
      [energyIn, 1n],
      [energyOut, -1n],
    ] as const) {
      for (const log of logs) {
        const slot = log.args.slot ?? 0n;
        energyVault.set(slot, (energyVault.get(slot) ?? 0n) + sign * (log.args.amountWh ?? 0n));
      }
    }
    const energyShort: { slot: bigint; held: bigint; owed: bigint }[] = [];
    await Promise.all(
      [...energyVault.entries()].map(async ([slot, owed]) => {
        const energyHeld = await client.readContract({
          address: energyToken,
          abi: energyTokenAbi,
          functionName: "balanceOf",
          args: [market, slot],
        });
        if (energyHeld < owed) energyShort.push({ slot, held: energyHeld, owed });
      }),
    );
    // The two-step handover (audit item 7): a pending new admin is visible until accepted or cancelled.
    const [newAdmin, schedule] = pending;
    const handover = schedule === 0 ? null : { to: newAdmin, from: Number(schedule) };
    return { marketPaused, registryPaused, admin, handover, paymentVault, paymentHeld: held, energyShort };
  });
}

/** Slots past gate closure, with orders, not cleared: what `clear-due` clears. */
function useDueSlots() {
  return useApi(
    ["operator", "due"],
    async (api) => {
      const closed = await unwrap(api.GET("/v1/slots", { params: { query: { status: "closed", limit: 500 } } }));
      const details = await Promise.all(
        closed.items.map((s) => unwrap(api.GET("/v1/slots/{slot}", { params: { path: { slot: s.slot } } }))),
      );
      return details.filter((d) => d.stats.order_count > 0 && d.clearing === null).map((d) => d.slot).sort((a, b) => a - b);
    },
    5_000,
  );
}

export function MarketControl({ roles }: { roles: string[] }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const { address } = useAccount();
  const client = usePublicClient();
  const status = useSolvency();
  const open = useApi(["slots", "open"], (api) => unwrap(api.GET("/v1/slots", { params: { query: { status: "open", limit: 50 } } })));
  const kpis = useApi(["kpis"], (api) => unwrap(api.GET("/v1/kpis")), 10_000);
  const due = useDueSlots();
  const pauseTx = useTransact();
  const clearTx = useTransact();
  const [target, setTarget] = useState<Target>("both");

  const setPaused = async (paused: boolean) => {
    if (!address) return;
    const names: Contract[] = target === "both" ? ["market", "registry"] : [target];
    for (const name of names) {
      const missing = await requireRole(client, cfg, t, name, "PAUSER_ROLE", address);
      if (missing) {
        pauseTx.fail(missing);
        return;
      }
    }
    const calls: ContractCall[] = [];
    const { market, registry } = cfg.addresses;
    if (names.includes("market")) {
      const now = await client.readContract({ address: market, abi: energyMarketAbi, functionName: "paused" });
      if (now !== paused) calls.push({ address: market, abi: energyMarketAbi, functionName: paused ? "pause" : "unpause", args: [] });
    }
    if (names.includes("registry")) {
      const now = await client.readContract({ address: registry, abi: meterRegistryAbi, functionName: "paused" });
      if (now !== paused) calls.push({ address: registry, abi: meterRegistryAbi, functionName: paused ? "pause" : "unpause", args: [] });
    }
    if (calls.length === 0) {
      pauseTx.fail(t.operator.alreadyState(paused));
      return;
    }
    await pauseTx.run(paused ? t.operator.pause : t.operator.unpause, calls);
  };

  const clearDue = async () => {
    const slots = due.data ?? [];
    const calls: ContractCall[] = [];
    for (const slot of slots) {
      const record = await client.readContract({ address: cfg.addresses.market, abi: energyMarketAbi, functionName: "clearing", args: [BigInt(slot)] });
      if (record.cleared) continue; // someone cleared it meanwhile
      calls.push({ address: cfg.addresses.market, abi: energyMarketAbi, functionName: "clear", args: [BigInt(slot)] });
    }
    if (calls.length === 0) {
      clearTx.fail(t.operator.nothingDue);
      return;
    }
    await clearTx.run(t.operator.clearDue(calls.length), calls);
  };

  const s = status.data;
  const problems: string[] = [];
  if (s && s.paymentHeld < s.paymentVault) problems.push(t.operator.holdsOwes(f.money(s.paymentHeld), f.money(s.paymentVault)));
  for (const short of s?.energyShort ?? []) problems.push(t.operator.energyShort(Number(short.slot), f.wh(short.held), f.wh(short.owed)));
  const dueSlots = due.data ?? [];
  const canPause = roles.includes("pauser") || roles.includes("admin");

  return (
    <Section title={t.operator.status} id="market-status">
      {!s ? (
        <Loading what={t.operator.what.market} />
      ) : (
        <dl className="mb-3 grid grid-cols-1 gap-2 text-sm sm:grid-cols-2 lg:grid-cols-3" data-testid="market-status">
          <div>
            <dt className="text-slate-500">{t.operator.marketPaused}</dt>
            <dd data-testid="market-paused">{s.marketPaused ? t.operator.paused : t.operator.running}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t.operator.registryPaused}</dt>
            <dd data-testid="registry-paused">{s.registryPaused ? t.operator.paused : t.operator.running}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t.operator.openSlots}</dt>
            <dd>{open.data ? open.data.items.map((x) => x.slot).join(", ") || t.common.none : "…"}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t.operator.dueSlots}</dt>
            <dd data-testid="due-slots">{due.data ? dueSlots.join(", ") || t.common.none : "…"}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t.operator.clearedSlots}</dt>
            <dd>{kpis.data ? f.integer(kpis.data.slots_cleared) : "…"}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t.operator.admin}</dt>
            <dd data-testid="admin">
              <span className="font-mono">{shortAddress(s.admin)}</span>
              <span className={s.handover ? "block text-amber-700" : "block text-slate-500"} data-testid="admin-handover">
                {s.handover ? t.operator.pendingHandover(shortAddress(s.handover.to), f.time(s.handover.from)) : t.operator.noHandover}
              </span>
            </dd>
          </div>
          <div>
            <dt className="text-slate-500">{t.operator.solvency}</dt>
            <dd data-testid="solvency" className={problems.length ? "text-red-700" : "text-emerald-800"}>
              {problems.length ? t.operator.insolvent(problems.join("; ")) : t.operator.solvent}
            </dd>
          </div>
        </dl>
      )}
      {canPause ? (
        <div className="mb-4 flex flex-col gap-2">
          <p className="text-sm text-slate-600">{t.operator.pauseHelp}</p>
          <div className="flex flex-wrap items-end gap-2">
            <label className="flex flex-col text-sm">
              <span className="font-medium text-slate-700">{t.operator.target}</span>
              <select className={inputClass} value={target} onChange={(e) => setTarget(e.target.value as Target)}>
                <option value="both">{t.operator.both}</option>
                <option value="market">{t.operator.marketOnly}</option>
                <option value="registry">{t.operator.registryOnly}</option>
              </select>
            </label>
            <button type="button" className={buttonClass} disabled={pauseTx.state.busy} onClick={() => void setPaused(true)}>
              {t.operator.pause}
            </button>
            <button type="button" className={secondaryButtonClass} disabled={pauseTx.state.busy} onClick={() => void setPaused(false)}>
              {t.operator.unpause}
            </button>
          </div>
          <TxStatus state={pauseTx.state} />
        </div>
      ) : null}
      <div className="flex flex-col gap-2">
        <p className="text-sm text-slate-600">{t.operator.clearDueHelp}</p>
        <div>
          <button type="button" className={buttonClass} disabled={clearTx.state.busy || dueSlots.length === 0} onClick={() => void clearDue()}>
            {t.operator.clearDue(dueSlots.length)}
          </button>
        </div>
        <TxStatus state={clearTx.state} />
      </div>
    </Section>
  );
}
