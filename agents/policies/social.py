"""The social optimum: the least the whole community can pay the grid with perfect foresight.

Inside the community, P2P trades only move money between members (the buyer pays what the
seller receives), so the community's total cost is what it pays the grid: retail for what its
members import and nobody in the community sells them, feed-in for what they export and nobody
buys. That is least when the community acts as one meter: per slot it imports
``max(sum of net demands, 0)`` and exports ``max(-sum, 0)``, with every battery run jointly on
the actual demand, PV and tariffs of the whole period. The linear program (HiGHS through
:func:`scipy.optimize.linprog`) has, per slot, charge, discharge and state of charge for each
battery plus the community's import and export; batteries start at their initial charge and
the energy left at the end is worth nothing (as in the household bound,
:mod:`agents.policies.bound`). Its optimum is a lower bound on the community's cost under
every strategy profile in :func:`agents.community.simulate` (whose metered Wh rounding only
adds cost), so ``welfare / optimum`` is at most 1.

Community welfare of a run is its savings against grid-only (every member without battery and
market, each on its own meter), summed over the members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from agents.community import BatterySpec, Community, FloatArray, SimulationResult
from agents.data.calendar import SLOT_HOURS
from agents.errors import SolverError


@dataclass(frozen=True, slots=True)
class SocialOptimum:
    """The community's perfect-foresight optimum over ``[start, end)``.

    Attributes:
        cost_eur: the least total cost of the community (grid import minus feed-in income).
        grid_only_eur: every member's grid-only cost, summed.
        soc_kwh: state of charge of each battery after each slot, shape (batteries, slots).
    """

    cost_eur: float
    grid_only_eur: float
    soc_kwh: np.ndarray

    @property
    def savings_eur(self) -> float:
        """The most the community can save against grid-only."""
        return self.grid_only_eur - self.cost_eur


def grid_only_eur(community: Community, start: int, end: int) -> float:
    """Every member's cost without battery and market over ``[start, end)``, summed (metered
    in whole Wh, as the simulator does)."""
    base = np.round((community.load_kw - community.pv_kw)[:, start:end] * SLOT_HOURS * 1000.0)
    retail = community.tariffs.retail[start:end]
    feed_in = community.tariffs.feed_in[start:end]
    return float(np.sum(np.where(base > 0, base * retail, base * feed_in)) / 1000.0)


@dataclass(frozen=True, slots=True)
class CommunityProgram:
    """The community-as-one-meter linear program over ``n`` slots (module docstring).

    Attributes:
        net_kwh: the community's net demand per slot without its batteries (kWh, positive =
            import), shape (n,).
        retail: retail price per slot (EUR/kWh).
        feed_in: feed-in price per slot (EUR/kWh).
        batteries: the members' batteries.
        soc0_kwh: each battery's charge at the start.
        terminal_eur_per_kwh: what a kWh left in a battery at the end is worth (0 in the
            social optimum; a planner on a short horizon values it).
    """

    net_kwh: FloatArray
    retail: FloatArray
    feed_in: FloatArray
    batteries: tuple[BatterySpec, ...]
    soc0_kwh: tuple[float, ...]
    terminal_eur_per_kwh: float = 0.0

    def __post_init__(self) -> None:
        n = self.net_kwh.size
        if n == 0 or self.retail.size != n or self.feed_in.size != n:
            raise SolverError("net demand, retail and feed-in need the same non-zero length")
        if len(self.soc0_kwh) != len(self.batteries):
            raise SolverError("need one starting charge per battery")


@dataclass(frozen=True, slots=True)
class CommunitySchedule:
    """The solution of a :class:`CommunityProgram`.

    Attributes:
        cost_eur: what the community pays the grid (import minus feed-in income; the energy
            left in the batteries is not counted).
        battery_kw: each battery's power per slot (positive = charging), shape (batteries, n).
        soc_kwh: each battery's charge after each slot, same shape.
    """

    cost_eur: float
    battery_kw: FloatArray
    soc_kwh: FloatArray


def solve_community(program: CommunityProgram) -> CommunitySchedule:
    """Solve ``program`` with HiGHS.

    Raises:
        SolverError: HiGHS stops without an optimum.
    """
    n = program.net_kwh.size
    batteries = program.batteries
    nb = len(batteries)
    cols = 3 * nb + 2  # per slot: (charge, discharge, soc) per battery, import, export
    n_vars = cols * n
    cost = np.zeros(n_vars)
    upper = np.zeros(n_vars)
    imp = np.arange(n) * cols + 3 * nb
    cost[imp], cost[imp + 1] = program.retail, -program.feed_in
    upper[imp] = upper[imp + 1] = np.inf
    rows: list[np.ndarray] = []
    cols_: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    rhs: list[np.ndarray] = []
    slot = np.arange(n)
    # Balance: sum_b h (ch_b - dis_b) - import + export = -net.
    entries = [(imp, -1.0), (imp + 1, 1.0)]
    for b in range(nb):
        entries += [(slot * cols + 3 * b, SLOT_HOURS), (slot * cols + 3 * b + 1, -SLOT_HOURS)]
    for c, v in entries:
        rows.append(slot)
        cols_.append(c)
        vals.append(np.full(n, v))
    rhs.append(-np.asarray(program.net_kwh, dtype=np.float64))
    # Charge: soc_t - soc_{t-1} - eff h ch_t + h dis_t / eff = (soc0 at t = 0, else 0).
    for b, battery in enumerate(batteries):
        r = n * (1 + b) + slot
        ch, dis, soc = slot * cols + 3 * b, slot * cols + 3 * b + 1, slot * cols + 3 * b + 2
        upper[ch] = upper[dis] = battery.power_kw
        upper[soc] = battery.capacity_kwh
        cost[soc[-1]] = -program.terminal_eur_per_kwh
        eff = battery.efficiency
        for c, v in ((soc, 1.0), (ch, -eff * SLOT_HOURS), (dis, SLOT_HOURS / eff)):
            rows.append(r)
            cols_.append(c)
            vals.append(np.full(n, v))
        rows.append(r[1:])
        cols_.append(soc[:-1])
        vals.append(np.full(n - 1, -1.0))
        first = np.zeros(n)
        first[0] = min(max(program.soc0_kwh[b], 0.0), battery.capacity_kwh)
        rhs.append(first)
    matrix = sp.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols_))),
        shape=(n * (1 + nb), n_vars),
    )
    result = linprog(
        cost,
        A_eq=matrix,
        b_eq=np.concatenate(rhs),
        bounds=np.column_stack([np.zeros(n_vars), upper]),
        method="highs",
    )
    if result.status != 0 or result.x is None:
        raise SolverError(f"community program not solved: {result.message}")
    x = np.asarray(result.x)
    grid = float(x[imp] @ program.retail - x[imp + 1] @ program.feed_in)
    if not nb:
        return CommunitySchedule(grid, np.zeros((0, n)), np.zeros((0, n)))
    power = np.stack([x[slot * cols + 3 * b] - x[slot * cols + 3 * b + 1] for b in range(nb)])
    soc_kwh = np.stack([x[slot * cols + 3 * b + 2] for b in range(nb)])
    return CommunitySchedule(grid, power, soc_kwh)


def social_optimum(community: Community, start: int, end: int) -> SocialOptimum:
    """Solve the community's program over ``[start, end)`` on the actual data (module
    docstring).

    Raises:
        SolverError: bad slot range, or HiGHS stops without an optimum.
    """
    if not 0 <= start < end <= community.n_slots:
        raise SolverError(f"bad slot range {start}..{end}")
    batteries = tuple(h.battery for h in community.households if h.battery is not None)
    schedule = solve_community(
        CommunityProgram(
            net_kwh=(community.load_kw - community.pv_kw)[:, start:end].sum(axis=0) * SLOT_HOURS,
            retail=community.tariffs.retail[start:end],
            feed_in=community.tariffs.feed_in[start:end],
            batteries=batteries,
            soc0_kwh=tuple(b.initial_soc * b.capacity_kwh for b in batteries),
        )
    )
    return SocialOptimum(schedule.cost_eur, grid_only_eur(community, start, end), schedule.soc_kwh)


def welfare_eur(result: SimulationResult) -> float:
    """The community's savings against grid-only in a simulated run, summed over members."""
    return float(result.grid_only_eur.sum() - result.cost_eur.sum())
