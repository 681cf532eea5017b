"use client";
// My energy: my meters and their readings (with the archive CID of each batch), my energy
// tokens per slot (wallet and market vault), redeem against metered import, move to/from vault.
import { useState, type FormEvent } from "react";
import { energyMarketAbi, energyTokenAbi } from "@/generated/abis";
import { paths, type Balances, type Meter, type Page, type Reading } from "@/lib/api";
import { formatTime, formatWh, shortAddress } from "@/lib/format";
import { useAccount, useApi, useChainRead, useTransact } from "@/lib/hooks";
import { useRuntime } from "@/lib/runtime";
import { ConnectPrompt } from "@/components/Header";
import {
  Empty,
  Loading,
  Section,
  TxStatus,
  inputClass,
  secondaryButtonClass,
  tableClass,
  tdClass,
  thClass,
} from "@/components/ui";

function Readings({ meterId }: { meterId: string }) {
  const readings = useApi<Page<Reading>>(paths.readings(meterId), 10_000);
  if (readings.isPending) return <Loading what="readings" />;
  const items = readings.data?.items ?? [];
  if (items.length === 0) return <Empty>No readings yet.</Empty>;
  return (
    <div className="overflow-x-auto">
      <table className={tableClass}>
        <caption className="sr-only">Readings of meter {meterId}</caption>
        <thead>
          <tr>
            <th scope="col" className={thClass}>Seq</th>
            <th scope="col" className={thClass}>Time</th>
            <th scope="col" className={thClass}>Slot</th>
            <th scope="col" className={thClass}>Import</th>
            <th scope="col" className={thClass}>Export</th>
            <th scope="col" className={thClass}>Archive CID</th>
          </tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.seq}>
              <td className={tdClass}>{r.seq}</td>
              <td className={tdClass}>{formatTime(r.reading_time)}</td>
              <td className={tdClass}>{r.slot ?? "–"}</td>
              <td className={tdClass}>{formatWh(r.import_delta_wh)}</td>
              <td className={tdClass}>{formatWh(r.export_delta_wh)}</td>
              <td className={`${tdClass} break-all font-mono text-xs`}>{r.archive_cid ?? "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Meters({ account }: { account: string }) {
  const meters = useApi<Page<Meter>>(paths.meters(account), 10_000);
  if (meters.isPending) return <Loading what="your meters" />;
  const items = meters.data?.items ?? [];
  if (items.length === 0) return <Empty>No meter is registered to this account.</Empty>;
  return (
    <ul className="flex flex-col gap-4">
      {items.map((m) => (
        <li key={m.meter_id} className="rounded border border-slate-200 p-3">
          <p className="text-sm">
            <span className="font-mono" title={m.meter_id}>
              {shortAddress(m.meter_id)}
            </span>{" "}
            · {m.active ? "active" : "deactivated"} · capacity {formatWh(m.capacity_wh_per_slot)} per slot · signer{" "}
            <span className="font-mono">{shortAddress(m.signer)}</span> · {m.reading_count} readings
          </p>
          <Readings meterId={m.meter_id} />
        </li>
      ))}
    </ul>
  );
}

function SlotRow({ account, slot, walletWh, vaultWh }: { account: `0x${string}`; slot: number; walletWh: number; vaultWh: number }) {
  const cfg = useRuntime();
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
  const amount = /^\d+$/.test(amountText) ? BigInt(amountText) : null;
  const act = (event: FormEvent, action: "redeem" | "toVault" | "fromVault") => {
    event.preventDefault();
    if (amount === null) {
      tx.fail("Enter a whole number of Wh.");
      return;
    }
    const token = cfg.addresses.energyToken;
    const market = cfg.addresses.market;
    const calls = {
      redeem: { label: "Redeem", call: { address: token, abi: energyTokenAbi, functionName: "redeem", args: [BigInt(slot), amount] } },
      toVault: {
        label: "Move to vault",
        call: { address: token, abi: energyTokenAbi, functionName: "safeTransferFrom", args: [account, market, BigInt(slot), amount, "0x"] },
      },
      fromVault: {
        label: "Withdraw from vault",
        call: { address: market, abi: energyMarketAbi, functionName: "withdrawEnergy", args: [BigInt(slot), amount] },
      },
    } as const;
    const chosen = calls[action];
    void tx.run(`${chosen.label} (slot ${slot})`, [chosen.call]);
  };
  const inputId = `energy-amount-${slot}`;
  return (
    <tr data-testid="energy-row">
      <td className={tdClass}>{slot}</td>
      <td className={tdClass}>{formatWh(walletWh)}</td>
      <td className={tdClass}>{formatWh(vaultWh)}</td>
      <td className={tdClass}>{redeemable.data !== undefined ? formatWh(redeemable.data) : "…"}</td>
      <td className={tdClass}>
        <form className="flex flex-wrap items-center gap-1" onSubmit={(e) => act(e, "redeem")}>
          <label htmlFor={inputId} className="sr-only">
            Wh of slot {slot}
          </label>
          <input
            id={inputId}
            inputMode="numeric"
            placeholder="Wh"
            className={`${inputClass} w-24`}
            value={amountText}
            onChange={(e) => setAmountText(e.target.value)}
          />
          <button type="submit" className={secondaryButtonClass} disabled={tx.state.busy}>
            Redeem
          </button>
          <button type="button" className={secondaryButtonClass} disabled={tx.state.busy} onClick={(e) => act(e, "toVault")}>
            To vault
          </button>
          <button type="button" className={secondaryButtonClass} disabled={tx.state.busy} onClick={(e) => act(e, "fromVault")}>
            From vault
          </button>
        </form>
        <TxStatus state={tx.state} />
      </td>
    </tr>
  );
}

function Tokens({ account }: { account: `0x${string}` }) {
  const balances = useApi<Balances>(paths.balances(account), 5_000);
  if (balances.isPending) return <Loading what="your energy tokens" />;
  const energy = balances.data?.energy.filter((e) => e.wallet_wh > 0 || e.vault_wh > 0) ?? [];
  if (energy.length === 0) return <Empty>You hold no energy tokens.</Empty>;
  return (
    <div className="overflow-x-auto">
      <table className={tableClass}>
        <caption className="mb-1 text-left text-sm text-slate-600">
          One token = 1 Wh exported in that slot. Redeem burns tokens against energy your meters imported in the same slot;
          sell orders need the tokens in the market vault.
        </caption>
        <thead>
          <tr>
            <th scope="col" className={thClass}>Slot</th>
            <th scope="col" className={thClass}>In wallet</th>
            <th scope="col" className={thClass}>In vault</th>
            <th scope="col" className={thClass}>Redeemable</th>
            <th scope="col" className={thClass}>Actions</th>
          </tr>
        </thead>
        <tbody>
          {energy.map((e) => (
            <SlotRow key={e.slot} account={account} slot={e.slot} walletWh={e.wallet_wh} vaultWh={e.vault_wh} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function EnergyPage() {
  const { address, wrongChain } = useAccount();
  return (
    <>
      <h1 className="text-2xl font-bold">My energy</h1>
      {address === null ? (
        <ConnectPrompt wrongChain={wrongChain} />
      ) : (
        <>
          <Section title="Energy tokens per slot">
            <Tokens account={address} />
          </Section>
          <Section title="My meters and readings">
            <Meters account={address} />
          </Section>
        </>
      )}
    </>
  );
}
