"""The perfect-foresight bound: the most any strategy of one prosumer can save, as a
mixed-integer linear program solved by HiGHS (Huangfu & Hall, "Parallelizing the dual revised
simplex method", Mathematical Programming Computation 10, 2018) through :func:`scipy.optimize.milp`
(battery and trading) or :func:`scipy.optimize.linprog` (battery with the grid only).

It knows the whole period in advance: demand, PV, tariffs and the other members' orders. The
market enters as *price bounds* that no single order can beat. Let the others alone clear
``V0`` Wh at tick ``p0`` with marginal ticks ``m_s0`` (sell) and ``m_b0`` (buy); ``s_min(v)`` is
the lowest tick at which the others offer ``v`` Wh and ``d_max(v)`` the highest tick at which
they bid for ``v`` Wh. Any buy order of the prosumer that fills ``x`` Wh clears at a tick
``>= max(m_s0, min(p0, s_min(V0 + x)))`` (either it outbids the marginal buyers, so the price
is at least ``p0``, or it is served after every better buyer, from offers beyond ``V0``); any sell
order that fills ``y`` Wh clears at a tick ``<= min(m_b0, max(p0, d_max(V0 + y)))``. (Without
a clearing among the others, ``s_min(x)`` and ``d_max(y)`` alone.) These bounds are monotone
step functions of the quantity, so buying is a convex and selling a concave piecewise-linear
money function: the program fills cheap steps first. One binary per slot says whether the
prosumer buys or sells (it places one order per slot); without it the relaxation could buy
low and sell high in the same slot. Rounding (which always goes against the trader) and the
uniform price (worse than paying each step's own price) only lower what a real order gets, so
the optimum is an upper bound on the savings of every strategy in :mod:`agents.prosumer` over
the same data, starting from the same state of charge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from agents.community import BatterySpec, Community, FloatArray
from agents.data.calendar import SLOT_HOURS
from agents.errors import SolverError
from agents.prosumer import OthersBook
from agents.tariffs import MICRO_EUR
from market.clearing import MarketParams, Order, Side, clear_slot

_INF = 10**9


@dataclass(frozen=True, slots=True)
class Steps:
    """A step function of price over quantity: ``widths`` kWh at ``prices`` EUR/kWh each."""

    widths: FloatArray
    prices: FloatArray


def _levels(orders: list[Order], side: Side) -> tuple[list[int], list[int]]:
    levels: dict[int, int] = {}
    for o in orders:
        if o.side is side:
            levels[o.tick] = levels.get(o.tick, 0) + o.qty_wh
    ticks = sorted(levels, reverse=side is Side.BUY)
    return ticks, [levels[t] for t in ticks]


def _steps_beyond(
    orders: list[Order], side: Side, v0: int, past_last: int, price_at: Callable[[int], float]
) -> Steps:
    """The levels of ``side`` beyond the cleared volume ``v0`` as steps: each ends where a
    level's cumulative quantity does (or at the side's whole quantity), priced by
    ``price_at(tick)`` of the level it reaches (``past_last`` beyond the last one)."""
    ticks, qty = _levels(orders, side)
    cum = np.cumsum(qty) if qty else np.zeros(0)
    total = int(cum[-1]) if cum.size else 0
    points = sorted({int(c) - v0 for c in cum if c - v0 > 0} | ({total} if total else set()))
    widths: list[float] = []
    prices: list[float] = []
    lo = 0
    for hi in points:
        k = int(np.searchsorted(cum, v0 + hi, side="left"))
        widths.append((hi - lo) / 1000.0)
        prices.append(price_at(ticks[k] if k < len(ticks) else past_last))
        lo = hi
    return Steps(np.asarray(widths), np.asarray(prices))


def market_steps(orders: list[Order], params: MarketParams) -> tuple[Steps, Steps]:
    """``(buy, sell)``: the best prices (EUR/kWh) a single buy or sell order could get, as step
    functions of the quantity filled (kWh), given the others' ``orders`` (module docstring)."""
    record = clear_slot(orders, params)
    v0 = record.volume_wh
    if record.cleared:
        m_s0, m_b0, p0 = record.sell_marginal.tick, record.buy_marginal.tick, record.clearing_tick
        p0_buy, p0_sell = p0, p0
    else:
        m_s0, m_b0, p0_buy, p0_sell = 0, _INF, _INF, -_INF
    fee = 1.0 - params.fee_bps / 10_000

    def price(tick: int) -> float:
        return (params.price_floor + tick * params.tick_size) / MICRO_EUR

    def buy_price(s_min: int) -> float:
        return price(max(m_s0, min(p0_buy, s_min)))

    def sell_price(d_max: int) -> float:
        if d_max > -_INF or p0_sell > -_INF:
            return price(min(m_b0, max(p0_sell, d_max))) * fee
        return 0.0

    buy = _steps_beyond(orders, Side.SELL, v0, _INF, buy_price)
    sell = _steps_beyond(orders, Side.BUY, v0, -_INF, sell_price)
    return buy, sell


@dataclass(frozen=True, slots=True)
class Bound:
    """The perfect-foresight optimum over ``[start, end)``.

    Attributes:
        cost_eur: the least possible cost.
        grid_only_eur: the cost without battery and market.
        soc_kwh: the optimal state of charge after each slot.
    """

    cost_eur: float
    grid_only_eur: float
    soc_kwh: FloatArray

    @property
    def savings_eur(self) -> float:
        """The most that can be saved against grid-only."""
        return self.grid_only_eur - self.cost_eur


@dataclass(frozen=True, slots=True)
class BatteryProgram:
    """One prosumer's battery-and-trading program over ``n`` slots (the data it is solved on).

    The perfect-foresight bound fills it with the actual series and books; the model-predictive
    controller (:mod:`agents.policies.mpc`) with forecasts and a market model.

    Attributes:
        load_kw: demand per slot.
        pv_kw: PV output per slot.
        retail: import price per slot, EUR/kWh.
        feed_in: export price per slot, EUR/kWh.
        buys: per slot, the best prices a buy order could get (empty steps: no market).
        sells: per slot, the best prices a sell order could get.
        battery: the battery (None: none).
        soc0_kwh: state of charge before the first slot.
        terminal_eur_per_kwh: value of energy left in the battery after the last slot (0 for
            the bound: the period ends there).
        one_side: one binary per slot (buy or sell, never both); False solves the relaxation.
    """

    load_kw: FloatArray
    pv_kw: FloatArray
    retail: FloatArray
    feed_in: FloatArray
    buys: list[Steps]
    sells: list[Steps]
    battery: BatterySpec | None
    soc0_kwh: float
    terminal_eur_per_kwh: float = 0.0
    one_side: bool = True


@dataclass(frozen=True, slots=True)
class ProgramSolution:
    """An optimum of a :class:`BatteryProgram`.

    Attributes:
        cost_eur: the optimal cost (or HiGHS's dual bound on it, whichever is lower).
        battery_kw: battery power per slot (positive = charging).
        soc_kwh: state of charge after each slot.
        p2p_kwh: energy bought (+) or sold (-) in the market per slot.
    """

    cost_eur: float
    battery_kw: FloatArray
    soc_kwh: FloatArray
    p2p_kwh: FloatArray


_COLS = 6  # per slot: charge, discharge, soc, import, export, buy-or-sell binary


def _highs(
    cost: np.ndarray[Any, Any],
    matrix: Any,
    bounds: tuple[np.ndarray[Any, Any], ...],
    integrality: np.ndarray[Any, Any] | None,
    time_limit: float,
    mip_gap: float,
) -> Any:
    """HiGHS on ``min cost @ x`` with ``row_lo <= matrix @ x <= row_hi`` and variable bounds:
    a MILP when ``integrality`` is given, else an LP (equality rows apart)."""
    row_lo, row_hi, lower, upper = bounds
    if integrality is not None:
        return milp(
            cost,
            constraints=LinearConstraint(matrix, row_lo, row_hi),
            integrality=integrality,
            bounds=Bounds(lower, upper),
            options={"time_limit": time_limit, "mip_rel_gap": mip_gap},
        )
    eq = row_lo == row_hi
    return linprog(
        cost,
        A_eq=matrix[eq],
        b_eq=row_lo[eq],
        A_ub=matrix[~eq] if (~eq).any() else None,
        b_ub=row_hi[~eq] if (~eq).any() else None,
        bounds=np.column_stack([lower, upper]),
        method="highs",
    )


def solve_program(
    program: BatteryProgram, *, time_limit: float = 300.0, mip_gap: float = 1e-4
) -> ProgramSolution:
    """Solve ``program`` with HiGHS (see :func:`perfect_foresight` for the stopping rules).

    Raises:
        SolverError: HiGHS stops without an optimum or a dual bound (infeasible, no bound).
    """
    n = program.load_kw.size
    buys, sells = program.buys, program.sells
    has_steps = any(b.widths.size or s.widths.size for b, s in zip(buys, sells, strict=True))
    integral = program.one_side and has_steps
    n_steps = sum(b.widths.size + s.widths.size for b, s in zip(buys, sells, strict=True))
    n_vars = _COLS * n + n_steps
    cost = np.zeros(n_vars)
    lower = np.zeros(n_vars)
    upper = np.full(n_vars, np.inf)
    integrality = np.zeros(n_vars)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    row_lo: list[float] = []
    row_hi: list[float] = []

    def add(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(row_lo)
        for c, v in entries:
            rows.append(r)
            cols.append(c)
            vals.append(v)
        row_lo.append(lo)
        row_hi.append(hi)

    battery = program.battery
    eff = battery.efficiency if battery else 1.0
    cap = battery.capacity_kwh if battery else 0.0
    power = battery.power_kw if battery else 0.0
    soc0 = min(max(program.soc0_kwh, 0.0), cap)
    step_col = _COLS * n
    p2p_cols: list[list[tuple[int, float]]] = []
    for j in range(n):
        ch, dis, soc, imp, exp, z = (_COLS * j + k for k in range(_COLS))
        upper[ch] = upper[dis] = power
        upper[soc] = cap
        upper[z] = 1.0
        integrality[z] = 1.0 if integral else 0.0
        cost[imp] = program.retail[j]
        cost[exp] = -program.feed_in[j]
        net = (program.load_kw[j] - program.pv_kw[j]) * SLOT_HOURS
        balance = [(ch, SLOT_HOURS), (dis, -SLOT_HOURS), (imp, -1.0), (exp, 1.0)]
        buy_cols, sell_cols = [], []
        for w, p in zip(buys[j].widths, buys[j].prices, strict=True):
            upper[step_col], cost[step_col] = w, p
            balance.append((step_col, -1.0))
            buy_cols.append(step_col)
            step_col += 1
        for w, p in zip(sells[j].widths, sells[j].prices, strict=True):
            upper[step_col], cost[step_col] = w, -p
            balance.append((step_col, 1.0))
            sell_cols.append(step_col)
            step_col += 1
        p2p_cols.append([(c, 1.0) for c in buy_cols] + [(c, -1.0) for c in sell_cols])
        add(balance, -net, -net)
        prev = [(soc - _COLS, -1.0)] if j else []
        add(
            [(soc, 1.0), (ch, -eff * SLOT_HOURS), (dis, SLOT_HOURS / eff), *prev],
            soc0 if j == 0 else 0.0,
            soc0 if j == 0 else 0.0,
        )
        if buy_cols:
            add([(c, 1.0) for c in buy_cols] + [(z, -float(buys[j].widths.sum()))], -np.inf, 0.0)
        if sell_cols:
            total = float(sells[j].widths.sum())
            add([(c, 1.0) for c in sell_cols] + [(z, total)], -np.inf, total)
    if n:
        cost[_COLS * (n - 1) + 2] -= program.terminal_eur_per_kwh
    matrix = sp.csr_array((vals, (rows, cols)), shape=(len(row_lo), n_vars))
    bounds = (np.asarray(row_lo), np.asarray(row_hi), lower, upper)
    result = _highs(cost, matrix, bounds, integrality if integral else None, time_limit, mip_gap)
    dual = getattr(result, "mip_dual_bound", None)
    stopped_early = (
        integral and result.status == 1 and dual is not None and np.isfinite(dual)
    )  # time limit: the dual bound still bounds every strategy, only more loosely
    if (result.status != 0 and not stopped_early) or result.x is None:
        raise SolverError(f"battery program not solved: {result.message}")
    x = np.asarray(result.x, dtype=np.float64)
    best = float(result.fun)
    if integral and dual is not None and np.isfinite(dual):
        best = min(best, float(dual))
    return ProgramSolution(
        cost_eur=best,
        battery_kw=x[0 : _COLS * n : _COLS] - x[1 : _COLS * n : _COLS],
        soc_kwh=x[2 : _COLS * n : _COLS],
        p2p_kwh=np.array([sum(v * x[c] for c, v in entries) for entries in p2p_cols]),
    )


def perfect_foresight(
    community: Community,
    book: OthersBook,
    start: int,
    end: int,
    *,
    p2p: bool = True,
    time_limit: float = 300.0,
    mip_gap: float = 1e-4,
) -> Bound:
    """Solve the bound for the book's household over ``[start, end)``.

    With ``p2p=False`` the program has no binaries and is solved by :func:`linprog`. With
    binaries, HiGHS stops within a relative gap ``mip_gap`` and the bound uses its *dual* bound
    (never above the true optimum's cost), so the savings it reports stay an upper bound.

    If HiGHS reaches ``time_limit`` (a wall-clock limit: it can on a loaded machine) with a
    finite dual bound, that dual bound is used: still an upper bound on every strategy's
    savings, only a looser one (a method's share of it is then understated, never overstated).

    Raises:
        SolverError: HiGHS stops without an optimum or a dual bound (infeasible, no bound).
    """
    i = book.household
    house = community.households[i]
    battery = house.battery
    load = community.load_kw[i, start:end]
    pv = community.pv_kw[i, start:end]
    retail = community.tariffs.retail[start:end]
    feed_in = community.tariffs.feed_in[start:end]
    none = Steps(np.zeros(0), np.zeros(0))
    buys: list[Steps] = []
    sells: list[Steps] = []
    for t in range(start, end):
        b, s = (
            market_steps(book.orders(t), community.tariffs.market_params(t))
            if p2p
            else (
                none,
                none,
            )
        )
        buys.append(b)
        sells.append(s)
    program = BatteryProgram(
        load_kw=load,
        pv_kw=pv,
        retail=retail,
        feed_in=feed_in,
        buys=buys,
        sells=sells,
        battery=battery,
        soc0_kwh=battery.initial_soc * battery.capacity_kwh if battery else 0.0,
        one_side=p2p,
    )
    solution = solve_program(program, time_limit=time_limit, mip_gap=mip_gap)
    base = np.round(-(pv - load) * SLOT_HOURS * 1000.0) / 1000.0
    grid_only = float(np.sum(np.where(base > 0, base * retail, base * feed_in)))
    return Bound(cost_eur=solution.cost_eur, grid_only_eur=grid_only, soc_kwh=solution.soc_kwh)
