"use client";
// My energy: my meters and their readings (with the archive CID of each batch), my energy
// tokens per slot (wallet and market vault), redeem against metered import, move to/from vault.
import { useState, type FormEvent } from "react";
import { energyMarketAbi, energyTokenAbi } from "@/generated/abis";
import { unwrap } from "@/lib/api";
import { useAmountInputs } from "@/lib/amounts";
import { shortAddress } from "@/lib/format";
import { useApi, useChainRead, useTransact } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";
import { AccountPage } from "@/components/AccountPage";
import {
  Empty,
  Loading,
  Section,
  TxStatus,
  inputClass,
  secondaryButtonClass,
  tdClass,
  DataTable,
  SubmitButton,
} from "@/components/ui";

function Readings({ meterId }: { meterId: string }) {
  const { t, f } = useI18n();
  const readings = useApi(
    ["readings", meterId],
    (api) => unwrap(api.GET("/v1/meters/{meter_id}/readings", { params: { path: { meter_id: meterId }, query: { limit: 50 } } })),
    10_000,
  );
  if (readings.isPending) return <Loading what={t.energy.what.readings} />;
  const items = readings.data?.items ?? [];
  if (items.length === 0) return <Empty>{t.energy.noReadings}</Empty>;
  return (
    <DataTable
      columns={[t.energy.seq, t.energy.time, t.common.slot, t.energy.import, t.energy.export, t.energy.archive]}
      caption={<caption className="sr-only">{t.energy.readingsOf(meterId)}</caption>}
    >
      {items.map((r) => (
        <tr key={r.seq}>
          <td className={tdClass}>{r.seq}</td>
          <td className={tdClass}>{f.time(r.reading_time)}</td>
          <td className={tdClass}>{r.slot ?? t.common.none}</td>
          <td className={tdClass}>{f.wh(r.import_delta_wh)}</td>
          <td className={tdClass}>{f.wh(r.export_delta_wh)}</td>
          <td className={`${tdClass} break-all font-mono text-xs`}>{r.archive_cid ?? t.common.none}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function Meters({ account }: { account: string }) {
  const { t, f } = useI18n();
  const meters = useApi(["meters", account], (api) => unwrap(api.GET("/v1/meters", { params: { query: { owner: account } } })), 10_000);
  if (meters.isPending) return <Loading what={t.energy.what.meters} />;
  const items = meters.data?.items ?? [];
  if (items.length === 0) return <Empty>{t.energy.noMeters}</Empty>;
  return (
    <ul className="flex flex-col gap-4">
      {items.map((m) => (
        <li key={m.meter_id} className="rounded border border-slate-200 p-3">
          <p className="text-sm">
            <span className="font-mono" title={m.meter_id}>
              {shortAddress(m.meter_id)}
            </span>{" "}
            · {t.energy.meterLine(m.active, f.wh(m.capacity_wh_per_slot), shortAddress(m.signer), m.reading_count)}
          </p>
          <Readings meterId={m.meter_id} />
        </li>
      ))}
    </ul>
  );
}

function SlotRow({ account, slot, walletWh, vaultWh }: { account: `0x${string}`; slot: number; walletWh: string; vaultWh: string }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const inputs = useAmountInputs();
  const tx = useTransact();
  const [amountText, setAmountText] = useState("");
  const redeemable = useChainRead(["redeemable", account, slot], async (client) => {
    const args = [account, BigInt(slot)] as const;
    const [imported, redeemed] = await Promise.all([
      client.readContract({ address: cfg.addresses.energyToken, abi: energyTokenAbi, functionName: "importedWh", args }),
      client.readContract({ address: cfg.addresses.energyToken, abi: energyTokenAbi, functionName: "redeemedWh", args }),
    ]);
    return imported - redeemed;
  });
  const act = (event: FormEvent, action: "redeem" | "toVault" | "fromVault") => {
    event.preventDefault();
    const checked = inputs.integer(t.energy.amountOf(slot), amountText);
    if (!checked.ok) {
      tx.fail(checked.error);
      return;
    }
    const amount = checked.value;
    const token = cfg.addresses.energyToken;
    const market = cfg.addresses.market;
    const calls = {
      redeem: { label: t.energy.redeemLabel(slot), call: { address: token, abi: energyTokenAbi, functionName: "redeem", args: [BigInt(slot), amount] } },
      toVault: {
        label: t.energy.toVaultLabel(slot),
        call: { address: token, abi: energyTokenAbi, functionName: "safeTransferFrom", args: [account, market, BigInt(slot), amount, "0x"] },
      },
      fromVault: {
        label: t.energy.fromVaultLabel(slot),
        call: { address: market, abi: energyMarketAbi, functionName: "withdrawEnergy", args: [BigInt(slot), amount] },
      },
    } as const;
    const chosen = calls[action];
    void tx.run(chosen.label, [chosen.call]);
  };
  const inputId = `energy-amount-${slot}`;
  return (
    <tr data-testid="energy-row">
      <td className={tdClass}>{slot}</td>
      <td className={tdClass}>{f.wh(walletWh)}</td>
      <td className={tdClass}>{f.wh(vaultWh)}</td>
      <td className={tdClass}>{redeemable.data !== undefined ? f.wh(redeemable.data) : "…"}</td>
      <td className={tdClass}>
        <form noValidate className="flex flex-wrap items-center gap-1" onSubmit={(e) => act(e, "redeem")}>
          <label htmlFor={inputId} className="sr-only">
            {t.energy.amountOf(slot)}
          </label>
          <input
            id={inputId}
            inputMode="numeric"
            placeholder="Wh"
            className={`${inputClass} w-24`}
            value={amountText}
            onChange={(e) => setAmountText(e.target.value)}
          />
          <SubmitButton busy={tx.state.busy} secondary>{t.energy.redeem}</SubmitButton>
          <button type="button" className={secondaryButtonClass} disabled={tx.state.busy} onClick={(e) => act(e, "toVault")}>
            {t.energy.toVault}
          </button>
          <button type="button" className={secondaryButtonClass} disabled={tx.state.busy} onClick={(e) => act(e, "fromVault")}>
            {t.energy.fromVault}
          </button>
        </form>
        <TxStatus state={tx.state} />
      </td>
    </tr>
  );
}

function Tokens({ account }: { account: `0x${string}` }) {
  const { t } = useI18n();
  const balances = useApi(["balances", account], (api) => unwrap(api.GET("/v1/accounts/{address}/balances", { params: { path: { address: account } } })), 5_000);
  if (balances.isPending) return <Loading what={t.energy.what.tokens} />;
  const energy = balances.data?.energy.filter((e) => e.wallet_wh !== "0" || e.vault_wh !== "0") ?? [];
  if (energy.length === 0) return <Empty>{t.energy.noTokens}</Empty>;
  return (
    <DataTable
      columns={[t.common.slot, t.energy.inWallet, t.energy.inVault, t.energy.redeemable, t.common.actions]}
      caption={<caption className="mb-1 text-left text-sm text-slate-600">{t.energy.caption}</caption>}
    >
      {energy.map((e) => (
        <SlotRow key={e.slot} account={account} slot={e.slot} walletWh={e.wallet_wh} vaultWh={e.vault_wh} />
      ))}
    </DataTable>
  );
}

export default function EnergyPage() {
  const { t } = useI18n();
  return (
    <AccountPage title={t.energy.title}>
      {(account) => (
        <>
          <Section title={t.energy.tokens} id="tokens">
            <Tokens account={account} />
          </Section>
          <Section title={t.energy.meters} id="meters">
            <Meters account={account} />
          </Section>
        </>
      )}
    </AccountPage>
  );
}
