"use client";
// Dependency-free SVG charts: order-book depth and clearing prices.
import type { DepthLevel, PricePoint } from "@/lib/api";
import type { RuntimeConfig } from "@/lib/config";
import { formatMoney, formatWh } from "@/lib/format";

export function DepthBars({ levels, cfg }: { levels: DepthLevel[]; cfg: RuntimeConfig }) {
  const max = Math.max(1, ...levels.map((l) => Math.max(l.buy_wh, l.sell_wh)));
  const sorted = [...levels].sort((a, b) => b.tick - a.tick);
  return (
    <ul aria-label="Depth bars, highest price first" className="flex flex-col gap-1">
      {sorted.map((level) => (
        <li key={level.tick} className="grid grid-cols-[1fr_7rem_1fr] items-center gap-2 text-xs">
          <div className="flex justify-end" aria-hidden="true">
            <div className="h-3 rounded-l bg-emerald-500" style={{ width: `${(100 * level.buy_wh) / max}%` }} />
          </div>
          <span className="text-center tabular-nums">{formatMoney(cfg, level.price)}</span>
          <div className="flex" aria-hidden="true">
            <div className="h-3 rounded-r bg-orange-500" style={{ width: `${(100 * level.sell_wh) / max}%` }} />
          </div>
          <span className="sr-only">
            {`buy ${formatWh(level.buy_wh)}, sell ${formatWh(level.sell_wh)}`}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function PriceChart({ points, cfg }: { points: PricePoint[]; cfg: RuntimeConfig }) {
  if (points.length === 0) return null;
  const width = 640;
  const height = 200;
  const pad = 36;
  const prices = points.map((p) => p.price);
  const lo = Math.min(...prices);
  const hi = Math.max(...prices);
  const span = hi - lo || 1;
  const x = (i: number) => pad + (points.length === 1 ? (width - 2 * pad) / 2 : (i * (width - 2 * pad)) / (points.length - 1));
  const y = (price: number) => height - pad - ((price - lo) * (height - 2 * pad)) / span;
  const path = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(p.price).toFixed(1)}`).join(" ");
  const last = points[points.length - 1];
  return (
    <svg
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`Clearing prices of ${points.length} slots, from ${formatMoney(cfg, lo)} to ${formatMoney(cfg, hi)} per kWh${last ? `; last ${formatMoney(cfg, last.price)}` : ""}`}
      className="h-auto w-full"
    >
      <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} stroke="#cbd5e1" />
      <line x1={pad} y1={pad} x2={pad} y2={height - pad} stroke="#cbd5e1" />
      <text x={4} y={pad} fontSize="11" fill="#475569">
        {formatMoney(cfg, hi, 3)}
      </text>
      <text x={4} y={height - pad} fontSize="11" fill="#475569">
        {formatMoney(cfg, lo, 3)}
      </text>
      <path d={path} fill="none" stroke="#047857" strokeWidth="2" />
      {points.map((p, i) => (
        <circle key={p.slot} cx={x(i)} cy={y(p.price)} r="3" fill="#047857">
          <title>{`slot ${p.slot}: ${formatMoney(cfg, p.price)}/kWh, ${formatWh(p.volume_wh)}`}</title>
        </circle>
      ))}
    </svg>
  );
}
