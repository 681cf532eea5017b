"use client";
// Dependency-free SVG charts: order-book depth, clearing prices, a bill's energy per day.
// Amounts are bigint; only bar heights and line positions are JavaScript numbers.
import type { DepthLevel, PricePoint } from "@/lib/api";
import { useI18n } from "@/lib/i18n";

/** `part / whole` as a number in [0, 1] for drawing (exact enough for pixels). */
function share(part: bigint, whole: bigint): number {
  if (whole <= 0n) return 0;
  return Number((part * 10_000n) / whole) / 10_000;
}

export function DepthBars({ levels }: { levels: DepthLevel[] }) {
  const { t, f } = useI18n();
  const max = levels.reduce((m, l) => {
    const top = BigInt(l.buy_wh) > BigInt(l.sell_wh) ? BigInt(l.buy_wh) : BigInt(l.sell_wh);
    return top > m ? top : m;
  }, 1n);
  const sorted = [...levels].sort((a, b) => b.tick - a.tick);
  return (
    <ul aria-label={t.market.depthBars} className="flex flex-col gap-1">
      {sorted.map((level) => (
        <li key={level.tick} className="grid grid-cols-[1fr_8rem_1fr] items-center gap-2 text-xs">
          <div className="flex justify-end" aria-hidden="true">
            <div className="h-3 rounded-l bg-emerald-500" style={{ width: `${100 * share(BigInt(level.buy_wh), max)}%` }} />
          </div>
          <span className="text-center tabular-nums">{f.money(level.price)}</span>
          <div className="flex" aria-hidden="true">
            <div className="h-3 rounded-r bg-orange-500" style={{ width: `${100 * share(BigInt(level.sell_wh), max)}%` }} />
          </div>
          <span className="sr-only">{t.market.depthLine(f.wh(level.buy_wh), f.wh(level.sell_wh))}</span>
        </li>
      ))}
    </ul>
  );
}

export function PriceChart({ points }: { points: PricePoint[] }) {
  const { t, f } = useI18n();
  if (points.length === 0) return null;
  const width = 640;
  const height = 200;
  const pad = 36;
  const prices = points.map((p) => BigInt(p.price));
  const lo = prices.reduce((m, p) => (p < m ? p : m));
  const hi = prices.reduce((m, p) => (p > m ? p : m));
  const span = hi - lo || 1n;
  const x = (i: number) => pad + (points.length === 1 ? (width - 2 * pad) / 2 : (i * (width - 2 * pad)) / (points.length - 1));
  const y = (price: bigint) => height - pad - share(price - lo, span) * (height - 2 * pad);
  const path = prices.map((p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(p).toFixed(1)}`).join(" ");
  const last = prices[prices.length - 1] ?? lo;
  return (
    <svg
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={t.market.priceChart(points.length, f.money(lo), f.money(hi), f.money(last))}
      className="h-auto w-full"
    >
      <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} stroke="#cbd5e1" />
      <line x1={pad} y1={pad} x2={pad} y2={height - pad} stroke="#cbd5e1" />
      <text x={4} y={pad} fontSize="11" fill="#475569">
        {f.moneyRounded(hi, 3)}
      </text>
      <text x={4} y={height - pad} fontSize="11" fill="#475569">
        {f.moneyRounded(lo, 3)}
      </text>
      <path d={path} fill="none" stroke="#047857" strokeWidth="2" />
      {points.map((p, i) => (
        <circle key={p.slot} cx={x(i)} cy={y(BigInt(p.price))} r="3" fill="#047857">
          <title>{`${t.common.slot} ${p.slot}: ${f.price(p.price)}, ${f.wh(p.volume_wh)}`}</title>
        </circle>
      ))}
    </svg>
  );
}

export interface DayBars {
  date: string;
  bought: bigint;
  sold: bigint;
}

/** Energy bought (green, up) and sold (orange, down) per day of a month. */
export function BillChart({ days, label }: { days: DayBars[]; label: string }) {
  const { t, f } = useI18n();
  const width = 640;
  const height = 220;
  const pad = 28;
  const mid = height / 2;
  const max = days.reduce((m, d) => (d.bought > m ? d.bought : d.sold > m ? d.sold : m), 1n);
  const step = (width - 2 * pad) / Math.max(days.length, 1);
  const bar = Math.max(step - 3, 2);
  return (
    <figure>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label} className="h-auto w-full" data-testid="bill-chart">
        <line x1={pad} y1={mid} x2={width - pad} y2={mid} stroke="#94a3b8" />
        <text x={2} y={pad - 10} fontSize="11" fill="#475569">
          {f.wh(max)}
        </text>
        {days.map((d, i) => {
          const up = share(d.bought, max) * (mid - pad);
          const down = share(d.sold, max) * (mid - pad);
          const x0 = pad + i * step;
          return (
            <g key={d.date}>
              <title>{`${f.calendarDay(d.date)}: ${t.bill.legendBought} ${f.wh(d.bought)}, ${t.bill.legendSold} ${f.wh(d.sold)}`}</title>
              {up > 0 ? <rect x={x0} y={mid - up} width={bar} height={up} fill="#059669" /> : null}
              {down > 0 ? <rect x={x0} y={mid} width={bar} height={down} fill="#ea580c" /> : null}
              {(i + 1) % 5 === 0 || i === 0 ? (
                <text x={x0} y={height - 4} fontSize="10" fill="#475569">
                  {Number(d.date.slice(8))}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="mt-1 flex gap-4 text-xs text-slate-600">
        <span>
          <span aria-hidden="true" className="mr-1 inline-block h-2 w-3 bg-emerald-600" />
          {t.bill.legendBought}
        </span>
        <span>
          <span aria-hidden="true" className="mr-1 inline-block h-2 w-3 bg-orange-600" />
          {t.bill.legendSold}
        </span>
      </figcaption>
    </figure>
  );
}
