// Units: money in payment-token base units (bigint; decimals from the config), energy in Wh
// (bigint), prices in base units per kWh on the grid price(tick) = price_floor + tick * tick_size.
// Shown in the browser's locale and time zone; every amount exact (no JavaScript numbers).
import type { MarketParams, RuntimeConfig } from "./config";
import { formatDecimal, unitsToDecimal } from "./decimal";

export function priceOfTick(market: MarketParams, tick: number): bigint {
  return market.priceFloor + BigInt(tick) * market.tickSize;
}

/** The highest tick whose price is at most `price` (clamped to the grid). */
export function tickAtOrBelow(market: MarketParams, price: bigint): number {
  if (price <= market.priceFloor) return 0;
  const tick = (price - market.priceFloor) / market.tickSize;
  return Number(tick > BigInt(market.maxTick) ? BigInt(market.maxTick) : tick);
}

/** The lowest tick whose price is at least `price` (clamped to the grid). */
export function tickAtOrAbove(market: MarketParams, price: bigint): number {
  if (price <= market.priceFloor) return 0;
  const tick = (price - market.priceFloor + market.tickSize - 1n) / market.tickSize;
  return Number(tick > BigInt(market.maxTick) ? BigInt(market.maxTick) : tick);
}

/** Whether `price` lies exactly on the grid. */
export function onGrid(market: MarketParams, price: bigint): boolean {
  return price >= market.priceFloor && (price - market.priceFloor) % market.tickSize === 0n;
}

/** Escrow of a buy order: qty Wh at `price` per kWh, rounded up (the contract's rule). */
export function buyEscrow(qtyWh: bigint, price: bigint): bigint {
  return (qtyWh * price + 999n) / 1000n;
}

export function slotStart(market: MarketParams, slot: number): number {
  return market.epoch + slot * market.slotSeconds;
}

export function gateClosure(market: MarketParams, slot: number): number {
  return slotStart(market, slot + 1) + market.settlementSeconds;
}

/** From here until gate closure the slot's orders are firm: no cancels (audit L-3, `cancelCutoff`). */
export function cancelCutoff(market: MarketParams, slot: number): number {
  return gateClosure(market, slot) - Math.floor(market.settlementSeconds / 2);
}

export function opensAt(market: MarketParams, slot: number): number {
  return Math.max(0, slotStart(market, slot) - market.openAheadSeconds);
}

export function slotOf(market: MarketParams, timestamp: number): number {
  return Math.floor((timestamp - market.epoch) / market.slotSeconds);
}

/** Slots whose order window is open at `now`, oldest first, at most `limit`. */
export function openSlots(market: MarketParams, now: number, limit = 8): number[] {
  const current = slotOf(market, now);
  const back = Math.ceil(market.settlementSeconds / market.slotSeconds) + 1;
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

/** Formats numbers, money, energy and times in one locale and time zone. */
export class Formatter {
  private readonly dateTime: Intl.DateTimeFormat;
  private readonly clockTime: Intl.DateTimeFormat;
  private readonly day: Intl.DateTimeFormat;

  constructor(
    readonly locale: string,
    readonly timeZone: string,
    private readonly cfg: Pick<RuntimeConfig, "token">,
  ) {
    this.dateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone });
    this.clockTime = new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone });
    this.day = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone: "UTC" });
  }

  /** Money, exactly: every significant decimal of the token, at least two. */
  money(amount: bigint | string): string {
    const value = unitsToDecimal(BigInt(amount), this.cfg.token.decimals);
    return `${formatDecimal(value, this.locale, { minFraction: 2 })} ${this.cfg.token.symbol}`;
  }

  /** Money rounded for axis labels and summaries. */
  moneyRounded(amount: bigint | string, digits = 2): string {
    const value = unitsToDecimal(BigInt(amount), this.cfg.token.decimals);
    return `${formatDecimal(value, this.locale, { minFraction: digits, maxFraction: digits })} ${this.cfg.token.symbol}`;
  }

  price(perKwh: bigint | string): string {
    return `${this.money(perKwh)}/kWh`;
  }

  /** A plain decimal of the token (what a user would type back into an amount field). */
  amount(units: bigint): string {
    return formatDecimal(unitsToDecimal(units, this.cfg.token.decimals), this.locale);
  }

  /** Energy: Wh below 1 kWh, else kWh with up to three decimals (exact). */
  wh(amount: bigint | string | number): string {
    const wh = BigInt(amount);
    const magnitude = wh < 0n ? -wh : wh;
    if (magnitude >= 1000n) return `${formatDecimal(unitsToDecimal(wh, 3), this.locale)} kWh`;
    return `${formatDecimal(wh.toString(), this.locale)} Wh`;
  }

  integer(value: number | bigint): string {
    return formatDecimal(BigInt(value).toString(), this.locale);
  }

  decimal(value: string, style?: { minFraction?: number; maxFraction?: number }): string {
    return formatDecimal(value, this.locale, style);
  }

  percent(share: number, digits = 1): string {
    return new Intl.NumberFormat(this.locale, { style: "percent", maximumFractionDigits: digits, minimumFractionDigits: digits }).format(share);
  }

  /** A point in time (unix seconds) in the browser's time zone. */
  time(unixSeconds: number): string {
    return this.dateTime.format(new Date(unixSeconds * 1000));
  }

  clock(unixSeconds: number): string {
    return this.clockTime.format(new Date(unixSeconds * 1000));
  }

  /** A calendar day given as YYYY-MM-DD (a day of the community's calendar: no time zone). */
  calendarDay(isoDate: string): string {
    return this.day.format(new Date(`${isoDate}T00:00:00Z`));
  }

  /** A month given as YYYY-MM, e.g. "November 2026". */
  month(isoMonth: string): string {
    return new Intl.DateTimeFormat(this.locale, { month: "long", year: "numeric", timeZone: "UTC" }).format(
      new Date(`${isoMonth}-01T00:00:00Z`),
    );
  }
}
