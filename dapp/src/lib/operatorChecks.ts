// The checks `enerwise operator` makes before it sends anything (operations/ in Python), for the
// operator page: roles held on chain, addresses, meter ids and states, fee bounds. Each returns
// one sentence when a check fails (the page shows it and sends nothing).
import { getAddress, isAddress, keccak256, toBytes, zeroAddress, type PublicClient } from "viem";
import { cityPoolAbi, energyMarketAbi, meterRegistryAbi } from "@/generated/abis";
import type { RuntimeConfig } from "./config";
import type { Messages } from "./i18n";

export const MAX_FEE_BPS = 1000n;
/** The registry's MAX_CAPACITY_WH_PER_SLOT. */
export const MAX_CAPACITY_WH_PER_SLOT = 2n ** 40n;
/** Oracle health: a reading at most this many slots old is ok, up to SILENT_AFTER late. */
export const LATE_AFTER_SLOTS = 2;
export const SILENT_AFTER_SLOTS = 8;

export type Contract = "market" | "registry" | "pool";
export type Role = "DEFAULT_ADMIN_ROLE" | "METER_ADMIN_ROLE" | "PAUSER_ROLE";

const ROLE_IDS: Record<Role, `0x${string}`> = {
  DEFAULT_ADMIN_ROLE: `0x${"00".repeat(32)}`,
  METER_ADMIN_ROLE: keccak256(toBytes("METER_ADMIN_ROLE")),
  PAUSER_ROLE: keccak256(toBytes("PAUSER_ROLE")),
};

export type Check<T> = { ok: true; value: T } | { ok: false; error: string };

/** Whether `account` holds `role` on `contract` (read on chain; the city pool: false when the
 * configuration names none). */
export async function hasRole(
  client: PublicClient,
  cfg: RuntimeConfig,
  contract: Contract,
  role: Role,
  account: `0x${string}`,
): Promise<boolean> {
  const args = [ROLE_IDS[role], account] as const;
  if (contract === "pool") {
    const pool = cfg.addresses.cityPool;
    return pool !== null && (await client.readContract({ address: pool, abi: cityPoolAbi, functionName: "hasRole", args }));
  }
  const address = contract === "market" ? cfg.addresses.market : cfg.addresses.registry;
  const abi = contract === "market" ? energyMarketAbi : meterRegistryAbi;
  return client.readContract({ address, abi, functionName: "hasRole", args });
}

/** The role-missing sentence unless `account` holds `role` on `contract` (read on chain). */
export async function requireRole(
  client: PublicClient,
  cfg: RuntimeConfig,
  t: Messages,
  contract: Contract,
  role: Role,
  account: `0x${string}`,
): Promise<string | null> {
  const held = await hasRole(client, cfg, contract, role, account);
  return held ? null : t.operator.lacksRole(account, role, contract);
}

/** An address as `enerwise operator` accepts it: EIP-55 when mixed case, never zero. */
export function checkAddress(t: Messages, field: string, text: string): Check<`0x${string}`> {
  const value = text.trim();
  if (!isAddress(value, { strict: false })) return { ok: false, error: t.operator.notAddress(field, value) };
  const mixed = value.slice(2) !== value.slice(2).toLowerCase() && value.slice(2) !== value.slice(2).toUpperCase();
  if (mixed && !isAddress(value, { strict: true })) return { ok: false, error: t.operator.badChecksum(field, value) };
  if (BigInt(value) === 0n || value.toLowerCase() === zeroAddress) return { ok: false, error: t.operator.zeroAddress(field) };
  return { ok: true, value: getAddress(value) };
}

/** The meter id of a name: the name itself when it is 0x and 64 hex digits, else keccak256 of
 * its UTF-8 text (oracles.readings.meter_id_from_name). */
export function meterIdOf(t: Messages, name: string): Check<`0x${string}`> {
  const text = name.trim();
  if (text === "") return { ok: false, error: t.operator.emptyName };
  if (/^0x[0-9a-fA-F]{64}$/.test(text)) return { ok: true, value: text.toLowerCase() as `0x${string}` };
  return { ok: true, value: keccak256(toBytes(text)) };
}

/** Most Wh a meter of `watts` can move in one slot, rounded up (operations.meters). */
export function capacityWhPerSlot(watts: bigint, slotSeconds: number): bigint {
  const seconds = BigInt(slotSeconds);
  return (watts * seconds + 3599n) / 3600n;
}

export interface OnChainMeter {
  owner: `0x${string}`;
  signer: `0x${string}`;
  active: boolean;
}

export async function readMeter(client: PublicClient, cfg: RuntimeConfig, id: `0x${string}`): Promise<OnChainMeter> {
  const m = await client.readContract({ address: cfg.addresses.registry, abi: meterRegistryAbi, functionName: "meter", args: [id] });
  return { owner: m.owner, signer: m.signer, active: m.active };
}

/** ok / late / silent / inactive, as operations.health.classify. */
export function meterHealth(
  lastReadingTime: number | null | undefined,
  now: number,
  slotSeconds: number,
  active: boolean,
): "ok" | "late" | "silent" | "inactive" {
  if (!active) return "inactive";
  if (lastReadingTime === null || lastReadingTime === undefined || lastReadingTime <= 0) return "silent";
  const age = now - lastReadingTime;
  if (age <= LATE_AFTER_SLOTS * slotSeconds) return "ok";
  if (age <= SILENT_AFTER_SLOTS * slotSeconds) return "late";
  return "silent";
}
