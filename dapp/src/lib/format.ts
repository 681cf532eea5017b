// Units: money in payment-token base units (decimals from the config), energy in Wh, prices
// in base units per kWh on the grid price(tick) = price_floor + tick * tick_size.
import { formatUnits, parseUnits } from "viem";
import type { MarketParams, RuntimeConfig } from "./config";

export function priceOfTick(market: MarketParams, tick: number): number {
  return market.price_floor + tick * market.tick_size;
}

/** The highest tick whose price is at most `price` (clamped to the grid). */
export function tickOfPrice(market: MarketParams, price: number): number {
  const tick = Math.floor((price - market.price_floor) / market.tick_size);
  return Math.min(market.max_tick, Math.max(0, tick));
}

export function formatMoney(cfg: RuntimeConfig, amount: bigint | number, digits = 4): string {
  const value = Number(formatUnits(BigInt(amount), cfg.token.decimals));
  return `${value.toLocaleString("en-US", { maximumFractionDigits: digits })} ${cfg.token.symbol}`;
}

export function formatPrice(cfg: RuntimeConfig, perKwh: number): string {
  return `${formatMoney(cfg, perKwh, 4)}/kWh`;
}

export function parseMoney(cfg: RuntimeConfig, text: string): bigint {
  const trimmed = text.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) throw new Error(`"${text}" is not an amount`);
  return parseUnits(trimmed, cfg.token.decimals);
}

export function formatWh(wh: number | bigint): string {
  const value = Number(wh);
  if (Math.abs(value) >= 1000) {
    return `${(value / 1000).toLocaleString("en-US", { maximumFractionDigits: 3 })} kWh`;
  }
  return `${value.toLocaleString("en-US")} Wh`;
}

export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function slotStart(market: MarketParams, slot: number): number {
  return market.epoch + slot * market.slot_seconds;
}

export function gateClosure(market: MarketParams, slot: number): number {
  return slotStart(market, slot + 1) + market.settlement_seconds;
}

export function opensAt(market: MarketParams, slot: number): number {
  return Math.max(0, slotStart(market, slot) - market.open_ahead_seconds);
}

export function slotOf(market: MarketParams, timestamp: number): number {
  return Math.floor((timestamp - market.epoch) / market.slot_seconds);
}

/** Slots whose order window is open at `now`, oldest first, at most `limit`. */
export function openSlots(market: MarketParams, now: number, limit = 8): number[] {
  const current = slotOf(market, now);
  const back = Math.ceil(market.settlement_seconds / market.slot_seconds) + 1;
  const slots: number[] = [];
  for (let slot = Math.max(0, current - back); slots.length < limit; slot++) {
    if (opensAt(market, slot) > now) break;
    if (gateClosure(market, slot) > now) slots.push(slot);
  }
  return slots;
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

export function slotLabel(market: MarketParams, slot: number): string {
  return `Slot ${slot} (${formatTime(slotStart(market, slot)).slice(11)})`;
}
