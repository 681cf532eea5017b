"use client";
// Trade in a sealed market (issue 15): the order form commits (a hash of the order and a secret
// salt, with collateral locked from the vault) instead of placing; the salt is made here with
// crypto.getRandomValues and written to this browser's journal (lib/sealed.ts) before the wallet
// is asked to send. The list of this browser's sealed orders reads their state from the chain,
// reveals a slot's commitments with one click in its reveal window, warns before the window
// closes, and reclaims a commitment left unrevealed (its bond goes to the treasury). A backup of
// the secrets can be downloaded and imported (the JSON of the Python commitment journal).
import { useEffect, useMemo, useRef, useState, type ChangeEvent } from "react";
import { parseEventLogs, zeroAddress, type Hex, type TransactionReceipt } from "viem";
import { sealedEnergyMarketAbi } from "@/generated/abis";
import { useAmountInputs } from "@/lib/amounts";
import { explainError } from "@/lib/errors";
import { gateClosure, priceOfTick, tickAtOrBelow } from "@/lib/format";
import { useChainRead, usePublicClient, useTransact } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";
import { OrderFields, useOrderFields } from "./OrderFields";
import {
  commitIdOf,
  commitmentOf,
  exportBackup,
  importBackup,
  minimumCollateral,
  newSalt,
  recordIntent,
  COMMIT_ID_HASH_MASK,
  updateEntry,
  useJournal,
  type JournalEntry,
  type JournalError,
  type SealedOrder,
} from "@/lib/sealed";
import {
  Empty,
  Section,
  TxStatus,
  buttonClass,
  secondaryButtonClass,
  tdClass,
  DataTable,
  RowAction,
  TextField,
  GridForm,
} from "@/components/ui";

/** The reveal warning shows when a slot's reveal window closes within this many seconds and one
 * of its commitments is not revealed yet. */
export const REVEAL_WARNING_SECONDS = 5 * 60;
const UINT64_MAX = (1n << 64n) - 1n;
const MAX_LOCKED_MONEY = (1n << 88n) - 1n;

function useSealedMarket() {
  const cfg = useRuntime();
  const m = cfg.market;
  return {
    cfg,
    market: m,
    address: cfg.addresses.market,
    bond: m.bondAmount ?? 0n,
    revealSeconds: m.revealSeconds ?? 0,
    revealEnds: (slot: number) => gateClosure(m, slot) + (m.revealSeconds ?? 0),
  };
}

export function SealedOrderForm({ account, slots }: { account: `0x${string}`; slots: number[] }) {
  const { cfg, market: m, address, bond, revealSeconds } = useSealedMarket();
  const i18n = useI18n();
  const { t, f } = i18n;
  const inputs = useAmountInputs();
  const tx = useTransact();
  const client = usePublicClient();
  const { slot, side, priceLabel, priceText, qtyText, clearQuantity, fields } = useOrderFields(slots);
  const [lockMoneyText, setLockMoneyText] = useState("");
  const [lockWhText, setLockWhText] = useState("");
  const lockMoneyLabel = t.sealed.lockMoney(cfg.token.symbol);
  const top = priceOfTick(m, m.maxTick);
  const floor = m.priceFloor;

  const price = priceText === "" ? null : inputs.money(priceLabel, priceText);
  const tick = price?.ok && price.value >= floor && price.value <= top ? tickAtOrBelow(m, price.value) : null;
  const qty = qtyText === "" ? null : inputs.integer(t.trade.quantity, qtyText, UINT64_MAX);
  const least =
    tick !== null && qty?.ok && qty.value > 0n ? minimumCollateral({ isBuy: side === "buy", tick, qtyWh: qty.value }, m, bond) : null;

  const submit = async () => {
    if (slot === undefined) return;
    // Everything the reveal will check is checked here: a commitment hides its order from the
    // contract too, so a bad order would be found only at the reveal, and cost the bond.
    const checkedPrice = inputs.money(priceLabel, priceText);
    if (!checkedPrice.ok) return tx.fail(checkedPrice.error);
    if (checkedPrice.value > top) return tx.fail(t.input.field(priceLabel, t.sealed.priceAboveTop(f.money(top))));
    if (checkedPrice.value < floor) return tx.fail(t.input.field(priceLabel, t.sealed.priceBelowFloor(f.money(floor))));
    const checkedQty = inputs.integer(t.trade.quantity, qtyText, UINT64_MAX);
    if (!checkedQty.ok) return tx.fail(checkedQty.error);
    if (checkedQty.value < m.minOrderWh) {
      return tx.fail(t.input.field(t.trade.quantity, t.sealed.qtyBelowMin(f.wh(m.minOrderWh))));
    }
    const orderTick = tickAtOrBelow(m, checkedPrice.value);
    const isBuy = side === "buy";
    const minimum = minimumCollateral({ isBuy, tick: orderTick, qtyWh: checkedQty.value }, m, bond);
    let lockedMoney = minimum.money;
    if (lockMoneyText.trim() !== "") {
      const typed = inputs.money(lockMoneyLabel, lockMoneyText, MAX_LOCKED_MONEY);
      if (!typed.ok) return tx.fail(typed.error);
      if (typed.value < minimum.money) {
        return tx.fail(t.input.field(lockMoneyLabel, t.sealed.lockBelowMin(f.money(minimum.money))));
      }
      lockedMoney = typed.value;
    }
    let lockedWh = minimum.energyWh;
    if (lockWhText.trim() !== "") {
      const typed = inputs.integer(t.sealed.lockWh, lockWhText, UINT64_MAX);
      if (!typed.ok) return tx.fail(typed.error);
      if (typed.value < minimum.energyWh) return tx.fail(t.input.field(t.sealed.lockWh, t.sealed.lockBelowMin(f.wh(minimum.energyWh))));
      lockedWh = typed.value;
    }

    // The id the commitment will get depends on the fee in force (it may have changed since
    // the deployment): read it; the mined id is taken from the receipt anyway.
    let feeBps: number;
    try {
      const params = await client.readContract({ address, abi: sealedEnergyMarketAbi, functionName: "params" });
      feeBps = params.feeBps;
    } catch (error) {
      return tx.fail(explainError(error, i18n));
    }
    const order: SealedOrder = { slot, owner: account, isBuy, tick: orderTick, qtyWh: checkedQty.value, salt: newSalt() };
    const commitment = commitmentOf(order, cfg.chainId, address);
    const entry: JournalEntry = {
      commitment,
      chainId: cfg.chainId,
      market: address.toLowerCase(),
      order,
      collateral: { money: lockedMoney, energyWh: lockedWh },
      status: "intent",
      commitId: commitIdOf(commitment, account, slot, feeBps),
      orderId: null,
      tx: null,
      reason: null,
    };
    const sent: { hash: Hex | null; recorded: boolean } = { hash: null, recorded: false };
    const receipts = await tx.run(isBuy ? t.sealed.buyOrder : t.sealed.sellOrder, [
      {
        address,
        abi: sealedEnergyMarketAbi,
        functionName: "commitOrder",
        args: [account, BigInt(slot), commitment, lockedMoney, lockedWh],
        // The durable-intent rule: the order and its salt are in the journal (written and read
        // back) before the wallet is asked; if they cannot be kept, nothing is sent.
        beforeSend: () => {
          recordIntent(entry);
          sent.recorded = true;
        },
        onSent: (hash) => {
          sent.hash = hash;
          try {
            updateEntry(commitment, { tx: hash });
          } catch {
            // the hash is a convenience; the entry and its salt are kept already
          }
        },
      },
    ], (mined) => {
      // before "done" shows: the journal says committed and the form is empty by then
      clearQuantity();
      setLockMoneyText("");
      setLockWhText("");
      const [committed] = parseEventLogs({ abi: sealedEnergyMarketAbi, logs: mined[0]?.logs ?? [], eventName: "OrderCommitted" });
      updateEntry(commitment, { status: "committed", commitId: committed?.args.commitId ?? entry.commitId });
    });
    if (receipts !== null) return;
    if (!sent.recorded) return; // refused before the journal was written: nothing to keep
    if (sent.hash === null) {
      updateEntry(commitment, { status: "failed", reason: "not sent" });
      return;
    }
    const receipt = await client.getTransactionReceipt({ hash: sent.hash }).catch(() => null);
    if (receipt?.status === "reverted") updateEntry(commitment, { status: "failed", reason: "reverted" });
    // else the commitment may still be mined: it stays an intent until the chain tells
  };

  const revealMinutes = Math.round(revealSeconds / 60);
  return (
    <Section title={t.sealed.commitOrder} id="place-order">
      <p className="mb-3 text-sm text-slate-700" data-testid="sealed-explain">
        {t.sealed.explain(revealMinutes, f.money(bond))}
      </p>
      {slots.length === 0 ? (
        <Empty>{t.trade.noSlot}</Empty>
      ) : (
        <GridForm columns={2} onSubmit={submit} busy={tx.state.busy} submit={t.sealed.commit(side)}>
          <OrderFields {...fields(tick, t.trade.qtyHint(f.wh(m.minOrderWh), ""))} />
          <details className="md:col-span-2 rounded border border-slate-200 p-2">
            <summary className="cursor-pointer text-sm font-medium text-slate-700">{t.sealed.hide}</summary>
            <p className="my-2 text-xs text-slate-600">{t.sealed.hideHint}</p>
            <div className="grid gap-3 md:grid-cols-2">
              <TextField
                id="lock-money"
                label={lockMoneyLabel}
                hint={least ? t.sealed.atLeast(f.money(least.money)) : undefined}
                kind="decimal"
                value={lockMoneyText}
                onChange={setLockMoneyText}
              />
              <TextField
                id="lock-wh"
                label={t.sealed.lockWh}
                hint={least ? t.sealed.atLeast(f.wh(least.energyWh)) : undefined}
                kind="numeric"
                value={lockWhText}
                onChange={setLockWhText}
              />
            </div>
          </details>
          {least ? (
            <p className="md:col-span-2 text-sm text-slate-700" data-testid="sealed-locks">
              {t.sealed.locks(f.money(least.money), least.energyWh > 0n ? f.wh(least.energyWh) : "")}
            </p>
          ) : null}
          <p className="md:col-span-2 text-xs text-slate-600">{t.sealed.kept}</p>
        </GridForm>
      )}
      <TxStatus state={tx.state} />
    </Section>
  );
}

/** What the chain says of a commitment: waiting to be revealed, revealed, forfeited, not there
 * yet, or not there at a block past its slot's gate closure (so it never will be). */
type ChainState = "committed" | "revealed" | "forfeited" | "absent" | "never";
/** What the list shows: the chain's state, or `intent` while a commitment is on its way. */
type ShownState = "intent" | "committed" | "revealed" | "forfeited";

interface Row {
  entry: JournalEntry;
  id: bigint;
  state: ShownState;
}

/** This browser's sealed orders of the connected account on this market, with their state on
 * chain (refreshed with every block the page polls and after every transaction). */
function useSealedRows(account: `0x${string}`): { rows: Row[]; journalError: JournalError | null } {
  const { cfg, market: m, address } = useSealedMarket();
  const journal = useJournal();
  const mine = useMemo(
    () =>
      journal.entries
        .filter(
          (e) =>
            e.chainId === cfg.chainId &&
            e.market === address.toLowerCase() &&
            e.order.owner.toLowerCase() === account.toLowerCase() &&
            e.status !== "failed",
        )
        .sort((a, b) => b.order.slot - a.order.slot),
    [journal.entries, cfg.chainId, address, account],
  );
  const chain = useChainRead(
    ["sealed", account, mine.map((e) => e.commitment).join(",")],
    async (client) => {
      // Every read at one block, so that "not there at a block past gate closure" is final.
      const block = await client.getBlock();
      const at = { blockNumber: block.number };
      const range = { fromBlock: cfg.deploymentBlock, toBlock: block.number };
      // An entry without its id (an intent imported from a backup) is found among the owner's
      // commitments by the id's hash bits, which do not depend on the fee in force.
      const mined = new Map<bigint, bigint>();
      if (mine.some((e) => e.commitId === null)) {
        const logs = await client.getContractEvents({
          address,
          abi: sealedEnergyMarketAbi,
          eventName: "OrderCommitted",
          args: { owner: account },
          ...range,
        });
        for (const log of logs) if (log.args.commitId !== undefined) mined.set(log.args.commitId & COMMIT_ID_HASH_MASK, log.args.commitId);
      }
      const ids = mine.map(
        (e) => e.commitId ?? mined.get(commitIdOf(e.commitment, e.order.owner, e.order.slot, 0) & COMMIT_ID_HASH_MASK) ?? null,
      );
      const known = ids.filter((id): id is bigint => id !== null);
      const [stored, revealed, forfeited] = await Promise.all([
        Promise.all(
          known.map((id) => client.readContract({ address, abi: sealedEnergyMarketAbi, functionName: "commitment", args: [id], ...at })),
        ),
        known.length === 0
          ? []
          : client.getContractEvents({ address, abi: sealedEnergyMarketAbi, eventName: "OrderRevealed", args: { commitId: known }, ...range }),
        known.length === 0
          ? []
          : client.getContractEvents({ address, abi: sealedEnergyMarketAbi, eventName: "CommitmentForfeited", args: { commitId: known }, ...range }),
      ]);
      const committed = new Set(known.filter((_, i) => stored[i] !== undefined && stored[i].owner !== zeroAddress));
      const revealedIds = new Set(revealed.map((log) => log.args.commitId));
      const forfeitedIds = new Set(forfeited.map((log) => log.args.commitId));
      const states = mine.map((e, i): ChainState => {
        const id = ids[i] ?? null;
        if (id !== null && committed.has(id)) return "committed";
        if (id !== null && revealedIds.has(id)) return "revealed";
        if (id !== null && forfeitedIds.has(id)) return "forfeited";
        // a commit is accepted only before gate closure: absent after it, it never will be
        return Number(block.timestamp) >= gateClosure(m, e.order.slot) ? "never" : "absent";
      });
      return { ids, states };
    },
    mine.length > 0,
  );

  // The journal follows the chain: an intent the chain shows committed (its receipt was lost),
  // a commitment revealed by another client (a keeper, the CLI), one reclaimed by anyone, an
  // intent that never reached the chain.
  const data = chain.data;
  useEffect(() => {
    if (!data || data.ids.length !== mine.length) return;
    mine.forEach((e, i) => {
      const state = data.states[i];
      const id = data.ids[i] ?? undefined;
      const open = e.status === "intent" || e.status === "committed";
      try {
        if (state === "committed" && e.status === "intent") updateEntry(e.commitment, { status: "committed", commitId: id });
        if (state === "revealed" && open) updateEntry(e.commitment, { status: "revealed", commitId: id, orderId: id });
        if (state === "forfeited" && open) {
          updateEntry(e.commitment, { status: "reclaimed", commitId: id, reason: "not revealed in time" });
        }
        if (state === "never" && e.status === "intent") {
          updateEntry(e.commitment, { status: "failed", reason: "not on chain at gate closure" });
        }
      } catch {
        // the journal could not be written: the list still shows the chain's state
      }
    });
  }, [data, mine]);

  const rows = mine.map((entry, i): Row => {
    const state = data && data.ids.length === mine.length ? data.states[i] : undefined;
    const id = data?.ids[i] ?? entry.commitId ?? 0n;
    const fallback: ShownState =
      entry.status === "revealed" ? "revealed" : entry.status === "reclaimed" ? "forfeited" : entry.status === "committed" ? "committed" : "intent";
    return { entry, id, state: state === undefined || state === "absent" || state === "never" ? fallback : state };
  });
  return { rows, journalError: journal.error };
}

/** The slots of the commitments waiting for a reveal, each with those commitments. */
function waitingSlots(rows: Row[]): Map<number, Row[]> {
  const slots = new Map<number, Row[]>();
  for (const row of rows) {
    if (row.state !== "committed") continue;
    slots.set(row.entry.order.slot, [...(slots.get(row.entry.order.slot) ?? []), row]);
  }
  return slots;
}

type Phase = "sealed" | "reveal" | "over";

function phaseAt(gate: number, ends: number, now: number): Phase {
  return now <= gate ? "sealed" : now <= ends ? "reveal" : "over";
}

/** At the top of the Trade page: a warning for every slot whose reveal window closes within
 * {@link REVEAL_WARNING_SECONDS} while a commitment of it is not revealed. */
export function RevealWarnings({ account, now }: { account: `0x${string}`; now: number | undefined }) {
  const { market: m, bond, revealEnds } = useSealedMarket();
  const { t, f } = useI18n();
  const { rows } = useSealedRows(account);
  if (now === undefined) return null;
  const closing = [...waitingSlots(rows).keys()].filter(
    (slot) => phaseAt(gateClosure(m, slot), revealEnds(slot), now) === "reveal" && revealEnds(slot) - now <= REVEAL_WARNING_SECONDS,
  );
  if (closing.length === 0) return null;
  return (
    <div className="flex flex-col gap-2">
      {closing.map((slot) => (
        <p key={slot} role="alert" data-testid="reveal-warning" data-slot={slot} className="rounded border border-amber-400 bg-amber-50 p-3 text-sm text-amber-900">
          {t.sealed.warning(slot, f.clock(revealEnds(slot)), Math.max(1, Math.ceil((revealEnds(slot) - now) / 60)), f.money(bond))}
        </p>
      ))}
    </div>
  );
}

/** This browser's sealed orders: state from the chain, one-click reveal per slot in its reveal
 * window, reclaim after it, and the backup of the secrets (download and import). */
export function SealedOrders({ account, now }: { account: `0x${string}`; now: number | undefined }) {
  const { market: m, address, bond, revealEnds } = useSealedMarket();
  const i18n = useI18n();
  const { t, f } = i18n;
  const tx = useTransact();
  const { rows, journalError } = useSealedRows(account);
  const fileInput = useRef<HTMLInputElement>(null);
  const [backupMessage, setBackupMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const waiting = waitingSlots(rows);

  const markRevealed = (receipts: TransactionReceipt[], reveal: Row[]) => {
    const logs = receipts.flatMap((r) => parseEventLogs({ abi: sealedEnergyMarketAbi, logs: r.logs, eventName: "OrderRevealed" }));
    const opened = new Map(logs.map((log) => [log.args.commitId, log.args.orderId]));
    for (const row of reveal) {
      const orderId = opened.get(row.id);
      if (orderId === undefined) continue;
      try {
        updateEntry(row.entry.commitment, { status: "revealed", commitId: row.id, orderId });
      } catch {
        // the chain has it; the journal catches up from the chain
      }
    }
  };

  const revealSlot = async (slot: number, reveal: Row[]) => {
    await tx.run(t.sealed.revealLabel(slot, reveal.length), [
      {
        address,
        abi: sealedEnergyMarketAbi,
        functionName: "revealOrders",
        args: [
          reveal.map((row) => ({
            commitId: row.id,
            isBuy: row.entry.order.isBuy,
            tick: row.entry.order.tick,
            qtyWh: row.entry.order.qtyWh,
            salt: row.entry.order.salt,
          })),
        ],
      },
    ], (mined) => markRevealed(mined, reveal));
  };

  const reclaim = async (row: Row) => {
    await tx.run(
      t.sealed.reclaimLabel(row.entry.order.slot),
      [{ address, abi: sealedEnergyMarketAbi, functionName: "reclaimCommitment", args: [row.id] }],
      () => updateEntry(row.entry.commitment, { status: "reclaimed", reason: "not revealed in time" }),
    );
  };

  const download = () => {
    try {
      const blob = new Blob([exportBackup()], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = "enerwise-sealed-secrets.json";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1_000);
      setBackupMessage(null);
    } catch (error) {
      setBackupMessage({ ok: false, text: explainError(error, i18n) });
    }
  };

  const importFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    try {
      const { added, known } = importBackup(await file.text());
      setBackupMessage({ ok: true, text: t.sealed.imported(added, known) });
    } catch (error) {
      setBackupMessage({ ok: false, text: explainError(error, i18n) });
    } finally {
      if (fileInput.current) fileInput.current.value = "";
    }
  };

  return (
    <Section title={t.sealed.mine} id="sealed-orders">
      {journalError ? (
        <p role="alert" className="mb-3 rounded bg-red-50 p-2 text-sm text-red-800">
          {explainError(journalError, i18n)}
        </p>
      ) : null}
      <div className="mb-3 flex flex-col gap-2" data-testid="reveal-slots">
        {now === undefined
          ? null
          : [...waiting.entries()].map(([slot, slotRows]) => {
              const gate = gateClosure(m, slot);
              const ends = revealEnds(slot);
              const phase = phaseAt(gate, ends, now);
              if (phase === "sealed") {
                return (
                  <p key={slot} className="text-sm text-slate-700" data-testid="reveal-upcoming">
                    {t.sealed.upcoming(slot, f.time(gate), f.time(ends))}
                  </p>
                );
              }
              if (phase === "over") {
                return (
                  <p key={slot} className="text-sm text-slate-700" data-testid="reclaim-hint">
                    {t.sealed.reclaimHint(f.money(bond))}
                  </p>
                );
              }
              return (
                <div key={slot} className="flex flex-wrap items-center gap-3">
                  <button
                    type="button"
                    className={buttonClass}
                    disabled={tx.state.busy}
                    onClick={() => void revealSlot(slot, slotRows)}
                  >
                    {t.sealed.reveal(slot, slotRows.length)}
                  </button>
                  <span className="text-sm text-slate-600">{t.sealed.window(f.clock(gate), f.clock(ends))}</span>
                </div>
              );
            })}
      </div>
      {rows.length === 0 ? (
        <Empty>{t.sealed.none}</Empty>
      ) : (
        <DataTable
          columns={[t.common.slot, t.trade.side, t.trade.limitPerKwh, t.trade.qty, t.sealed.locked, t.sealed.status, t.sealed.revealWindow]}
          actions={t.common.actions}
          testId="sealed-orders"
        >
          {rows.map((row) => {
            const { order, collateral } = row.entry;
            const gate = gateClosure(m, order.slot);
            const ends = revealEnds(order.slot);
            const canReclaim = row.state === "committed" && now !== undefined && phaseAt(gate, ends, now) === "over";
            return (
              <tr
                key={row.entry.commitment}
                data-testid="commitment-row"
                data-commitment={row.entry.commitment}
                data-slot={order.slot}
                data-status={row.state}
              >
                <td className={tdClass}>{order.slot}</td>
                <td className={tdClass}>{order.isBuy ? t.common.buy : t.common.sell}</td>
                <td className={tdClass} data-tick={order.tick}>
                  {f.money(priceOfTick(m, order.tick))}
                </td>
                <td className={tdClass}>{f.wh(order.qtyWh)}</td>
                <td className={tdClass}>
                  {f.money(collateral.money)}
                  {collateral.energyWh > 0n ? ` + ${f.wh(collateral.energyWh)}` : ""}
                </td>
                <td className={tdClass} data-testid="commitment-status">
                  {t.sealed.states[row.state] ?? row.state}
                </td>
                <td className={tdClass}>{t.sealed.window(f.clock(gate), f.clock(ends))}</td>
                <RowAction
                  label={t.sealed.reclaimLabel(order.slot)}
                  busy={tx.state.busy}
                  onClick={() => void reclaim(row)}
                  available={canReclaim}
                >
                  {t.sealed.reclaim}
                </RowAction>
              </tr>
            );
          })}
        </DataTable>
      )}
      <TxStatus state={tx.state} />
      <div className="mt-3 flex flex-col gap-2 border-t border-slate-100 pt-3">
        <div className="flex flex-wrap items-center gap-3">
          <button type="button" className={secondaryButtonClass} onClick={download}>
            {t.sealed.download}
          </button>
          <label htmlFor="sealed-import" className="text-sm font-medium text-slate-700">
            {t.sealed.importLabel}
          </label>
          <input
            id="sealed-import"
            ref={fileInput}
            type="file"
            accept="application/json,.json"
            className="max-w-full text-sm"
            onChange={(e) => void importFile(e)}
          />
        </div>
        <p className="text-xs text-slate-600">{t.sealed.downloadHint}</p>
        {backupMessage ? (
          <p
            role={backupMessage.ok ? "status" : "alert"}
            data-testid="backup-message"
            className={backupMessage.ok ? "text-sm text-slate-700" : "rounded bg-red-50 p-2 text-sm text-red-800"}
          >
            {backupMessage.text}
          </p>
        ) : null}
      </div>
    </Section>
  );
}
