"use client";
// Sealed orders in the browser (issue 15), the TypeScript mirror of energychain/commitments.py
// and energychain/commitment_journal.py:
// - the commitment keccak256(abi.encode(chainId, market, slot, owner, isBuy, tick, qtyWh, salt)),
//   the commit id slot << 192 | feeBps << 64 | 176 bits of keccak256(abi.encode(commitment,
//   owner)), and the least collateral a commitment must lock;
// - the journal of this browser's sealed orders in localStorage. The salt is the one secret of a
//   sealed order: without it the order cannot be revealed and the commitment forfeits its bond.
//   So an order and its salt are written (and read back) BEFORE the wallet is asked to send the
//   commitment (the durable-intent rule), and the entry follows the commitment to its end:
//       intent -> committed -> revealed | reclaimed;  intent -> failed (nothing on chain).
//   A backup file holds the open entries in the JSON of CommitmentJournal.export (same fields,
//   same names), so a backup made here can be read by the Python tools and the other way round.
import { useMemo, useSyncExternalStore } from "react";
import { encodeAbiParameters, getAddress, isAddress, keccak256, toHex, type Address, type Hex } from "viem";
import type { MarketParams } from "./config";
import { buyEscrow, priceOfTick } from "./format";
import { storageSubscribers } from "./storage";

export const SALT_BYTES = 32;
const COMMITMENT_TYPES = [
  { type: "uint256" },
  { type: "address" },
  { type: "uint64" },
  { type: "address" },
  { type: "bool" },
  { type: "uint16" },
  { type: "uint64" },
  { type: "bytes32" },
] as const;
const ID_TYPES = [{ type: "bytes32" }, { type: "address" }] as const;
/** The bits of a commit id taken from the commitment: all but the slot (192..255) and fee (64..79). */
export const COMMIT_ID_HASH_MASK = ((1n << 192n) - 1n) ^ (0xffffn << 64n);
const UINT64_MAX = (1n << 64n) - 1n;

/** An order as a commitment binds it. */
export interface SealedOrder {
  slot: number;
  owner: Address;
  isBuy: boolean;
  tick: number;
  qtyWh: bigint;
  salt: Hex;
}

/** What a commitment locks in the vault: payment base units and Wh of the order's slot. */
export interface Collateral {
  money: bigint;
  energyWh: bigint;
}

/** 32 bytes from the browser's cryptographic random source. */
export function newSalt(): Hex {
  const bytes = new Uint8Array(SALT_BYTES);
  crypto.getRandomValues(bytes);
  return toHex(bytes);
}

/** The hash the market stores and checks the reveal against (its `commitmentOf`). */
export function commitmentOf(order: SealedOrder, chainId: number, market: Address): Hex {
  return keccak256(
    encodeAbiParameters(COMMITMENT_TYPES, [
      BigInt(chainId),
      getAddress(market),
      BigInt(order.slot),
      getAddress(order.owner),
      order.isBuy,
      order.tick,
      order.qtyWh,
      order.salt,
    ]),
  );
}

/** The id `commitOrder` gives the commitment when it is mined under fee `feeBps`; the revealed
 * order keeps it. */
export function commitIdOf(commitment: Hex, owner: Address, slot: number, feeBps: number): bigint {
  const hashed = BigInt(keccak256(encodeAbiParameters(ID_TYPES, [commitment, getAddress(owner)]))) & COMMIT_ID_HASH_MASK;
  return (BigInt(slot) << 192n) | (BigInt(feeBps) << 64n) | hashed;
}

/** The least a commitment must lock: the bond in money (forfeited if the order is never
 * revealed), a buy's escrow at its limit, a sell's Wh. */
export function minimumCollateral(
  order: Pick<SealedOrder, "isBuy" | "tick" | "qtyWh">,
  market: MarketParams,
  bond: bigint,
): Collateral {
  if (order.isBuy) {
    const escrow = buyEscrow(order.qtyWh, priceOfTick(market, order.tick));
    return { money: escrow > bond ? escrow : bond, energyWh: 0n };
  }
  return { money: bond, energyWh: order.qtyWh };
}

// ---------------------------------------------------------------------------------- journal

export const JOURNAL_STATUSES = ["intent", "committed", "revealed", "failed", "reclaimed"] as const;
export type JournalStatus = (typeof JOURNAL_STATUSES)[number];
/** Entries whose salt may still be needed (a reveal or a reconciliation). */
export const OPEN_STATUSES: readonly JournalStatus[] = ["intent", "committed"];

export interface JournalEntry {
  commitment: Hex;
  chainId: number;
  /** The market's address, lower case (as the Python journal keeps it). */
  market: string;
  order: SealedOrder;
  collateral: Collateral;
  status: JournalStatus;
  commitId: bigint | null;
  orderId: bigint | null;
  /** The commit's transaction, once the wallet returned it. */
  tx: Hex | null;
  /** Why an entry failed or was reclaimed. */
  reason: string | null;
}

/** What went wrong with the journal; `kind` picks the user's sentence, `detail` the entry. */
export class JournalError extends Error {
  constructor(
    readonly kind: "storage" | "corrupt" | "duplicate" | "file",
    readonly detail: FileProblem | null = null,
  ) {
    super(`sealed-order journal: ${kind}${detail ? ` (${JSON.stringify(detail)})` : ""}`);
    this.name = "JournalError";
  }
}

/** Why a backup file (or the stored journal) cannot be read: the whole file, or one entry's
 * field, or one entry whose commitment does not match its order and salt. */
export type FileProblem =
  | { kind: "json" }
  | { kind: "field"; entry: number; field: string }
  | { kind: "mismatch"; entry: number };

const STORAGE_KEY = "enerwise-sealed-journal";
const journalSubscribers = storageSubscribers();

type Json = Record<string, unknown>;

function intField(raw: Json, field: string, entry: number, max: bigint): bigint {
  const value = raw[field];
  let parsed: bigint | null = null;
  if (typeof value === "number" && Number.isSafeInteger(value)) parsed = BigInt(value);
  if (typeof value === "string" && /^[0-9]{1,78}$/.test(value)) parsed = BigInt(value);
  if (parsed === null || parsed < 0n || parsed > max) throw new JournalError("file", { kind: "field", entry, field });
  return parsed;
}

function hex32(raw: Json, field: string, entry: number): Hex {
  const value = raw[field];
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) throw new JournalError("file", { kind: "field", entry, field });
  return value.toLowerCase() as Hex;
}

function address(raw: Json, field: string, entry: number): Address {
  const value = raw[field];
  if (typeof value !== "string" || !isAddress(value, { strict: false })) throw new JournalError("file", { kind: "field", entry, field });
  return getAddress(value);
}

function optionalId(raw: Json, field: string, entry: number): bigint | null {
  return raw[field] === null || raw[field] === undefined ? null : intField(raw, field, entry, (1n << 256n) - 1n);
}

/** One entry of a backup file or of the stored journal, checked field by field; its commitment
 * must be the hash of its order and salt. */
export function entryFromJson(value: unknown, entry: number): JournalEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new JournalError("file", { kind: "json" });
  const raw = value as Json;
  const side = raw["side"];
  if (side !== "buy" && side !== "sell") throw new JournalError("file", { kind: "field", entry, field: "side" });
  const status = raw["status"];
  if (!JOURNAL_STATUSES.includes(status as JournalStatus)) throw new JournalError("file", { kind: "field", entry, field: "status" });
  const chainId = Number(intField(raw, "chain_id", entry, BigInt(Number.MAX_SAFE_INTEGER)));
  const market = address(raw, "market", entry);
  const qtyWh = intField(raw, "qty_wh", entry, UINT64_MAX);
  if (qtyWh === 0n) throw new JournalError("file", { kind: "field", entry, field: "qty_wh" });
  const order: SealedOrder = {
    slot: Number(intField(raw, "slot", entry, BigInt(Number.MAX_SAFE_INTEGER))),
    owner: address(raw, "owner", entry),
    isBuy: side === "buy",
    tick: Number(intField(raw, "tick", entry, 0xffffn)),
    qtyWh,
    salt: hex32(raw, "salt", entry),
  };
  const commitment = hex32(raw, "commitment", entry);
  if (commitmentOf(order, chainId, market) !== commitment) throw new JournalError("file", { kind: "mismatch", entry });
  const tx = raw["tx"];
  const reason = raw["reason"];
  return {
    commitment,
    chainId,
    market: market.toLowerCase(),
    order,
    collateral: {
      money: intField(raw, "locked_money", entry, (1n << 96n) - 1n),
      energyWh: intField(raw, "locked_wh", entry, UINT64_MAX),
    },
    status: status as JournalStatus,
    commitId: optionalId(raw, "commit_id", entry),
    orderId: optionalId(raw, "order_id", entry),
    tx: typeof tx === "string" && /^0x[0-9a-fA-F]{64}$/.test(tx) ? (tx as Hex) : null,
    reason: typeof reason === "string" ? reason : null,
  };
}

/** A whole number as the Python journal writes it: a JSON number (a string beyond 2^53). */
function jsonInt(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** The entry as a backup file holds it: exactly the fields of JournalEntry.to_json (Python). */
export function entryToJson(e: JournalEntry): Json {
  return {
    commitment: e.commitment,
    chain_id: e.chainId,
    market: e.market,
    owner: e.order.owner,
    slot: e.order.slot,
    side: e.order.isBuy ? "buy" : "sell",
    tick: e.order.tick,
    qty_wh: jsonInt(e.order.qtyWh),
    salt: e.order.salt,
    locked_money: e.collateral.money.toString(),
    locked_wh: jsonInt(e.collateral.energyWh),
    status: e.status,
    commit_id: e.commitId === null ? null : e.commitId.toString(),
    order_id: e.orderId === null ? null : e.orderId.toString(),
  };
}

function stored(): string | null {
  return window.localStorage.getItem(STORAGE_KEY);
}

/** The journal's entries in `text` (the stored document or a backup file). */
export function parseJournal(text: string | null): JournalEntry[] {
  if (text === null || text === "") return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new JournalError("file", { kind: "json" });
  }
  const entries = (doc as { commitments?: unknown } | null)?.commitments;
  if ((doc as { version?: unknown } | null)?.version !== 1 || !Array.isArray(entries)) {
    throw new JournalError("file", { kind: "json" });
  }
  return entries.map((e, i) => entryFromJson(e, i + 1));
}

function readAll(): JournalEntry[] {
  try {
    return parseJournal(stored());
  } catch {
    // Never written over: the salts in it may be the only copy.
    throw new JournalError("corrupt");
  }
}

function writeAll(entries: JournalEntry[]): void {
  const text = JSON.stringify({
    version: 1,
    commitments: entries.map((e) => ({ ...entryToJson(e), tx: e.tx, reason: e.reason })),
  });
  try {
    window.localStorage.setItem(STORAGE_KEY, text);
  } catch {
    throw new JournalError("storage");
  }
  if (stored() !== text) throw new JournalError("storage");
  journalSubscribers.notify();
}

/** Writes a new sealed order and its salt, status `intent`, and reads it back; throws a
 * {@link JournalError} (nothing may be sent then). */
export function recordIntent(entry: JournalEntry): void {
  const entries = readAll();
  if (entries.some((e) => e.commitment === entry.commitment)) throw new JournalError("duplicate");
  writeAll([...entries, { ...entry, status: "intent" }]);
}

/** Moves the entry of `commitment` on (a status already reached is kept: idempotent). */
export function updateEntry(
  commitment: Hex,
  change: Partial<Pick<JournalEntry, "status" | "commitId" | "orderId" | "tx" | "reason">>,
): void {
  const entries = readAll();
  const index = entries.findIndex((e) => e.commitment === commitment);
  const current = entries[index];
  if (current === undefined) return;
  entries[index] = { ...current, ...change };
  writeAll(entries);
}

/** The backup: every open entry (all chains, markets and owners), salts included. */
export function exportBackup(): string {
  const open = readAll().filter((e) => OPEN_STATUSES.includes(e.status));
  return JSON.stringify({ version: 1, commitments: open.map(entryToJson) }, null, 2);
}

/** Adds the entries of a backup file that this browser does not know (all or none); returns
 * how many were added and how many were known already. */
export function importBackup(text: string): { added: number; known: number } {
  const incoming = parseJournal(text);
  const entries = readAll();
  const have = new Set(entries.map((e) => e.commitment));
  const fresh: JournalEntry[] = [];
  for (const e of incoming) {
    if (have.has(e.commitment)) continue;
    have.add(e.commitment);
    fresh.push(e);
  }
  if (fresh.length > 0) writeAll([...entries, ...fresh]);
  return { added: fresh.length, known: incoming.length - fresh.length };
}

/** The journal's entries (re-rendered on every change, in this tab or another), or the error
 * that keeps them from being read. */
export function useJournal(): { entries: JournalEntry[]; error: JournalError | null } {
  const text = useSyncExternalStore(journalSubscribers.subscribe, stored, () => null);
  return useMemo(() => {
    try {
      return { entries: parseJournal(text), error: null };
    } catch {
      return { entries: [], error: new JournalError("corrupt") };
    }
  }, [text]);
}
