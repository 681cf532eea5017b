"""A day of real-data households on a network: the set-up shared by ``enerwise grid limits``
and the benchmark.

The network's feeders are split into communities (:func:`grid.layout.partition`), one real-data
community of ``households`` members is drawn per community (:mod:`grid.households`), its members
are placed on the community's connection buses (seeded), and a :class:`~grid.operator.
GridOperator` is made with the households' exchange weights.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from agents.community import Community
from agents.data.calendar import SLOTS_PER_DAY, TZ, slot_index
from grid.catalogue import build_network
from grid.errors import InjectionError
from grid.households import Forecast, HouseholdDay, household_day, real_communities
from grid.layout import HouseholdMap, assign_households, move_households, partition
from grid.operator import GridOperator
from grid.powerflow import Engine


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a day's run needs.

    Attributes:
        operator: the grid operator (owns the network).
        households: the placement.
        data: actual and forecast net energies, in the placement's order.
        start: first slot of the year.
        build_s: seconds to build the network.
        data_s: seconds to draw the households and compute their series.
        communities: the drawn real-data communities by grid community id (tariffs, the
            households' specs), for whoever trades them (``enerwise city``).
    """

    operator: GridOperator
    households: HouseholdMap
    data: HouseholdDay
    start: int
    build_s: float
    data_s: float
    communities: dict[str, Community]


def day_start(day: str) -> tuple[int, int]:
    """``(year, first slot of day)`` for ``day`` (``YYYY-MM-DD``).

    Raises:
        InjectionError: not a date, or a year without shipped data.
    """
    try:
        stamp = pd.Timestamp(day).tz_localize(TZ)
    except (ValueError, TypeError) as exc:
        raise InjectionError(f"day must be YYYY-MM-DD, got {day!r}") from exc
    try:
        index = slot_index(stamp.year)
    except ValueError as exc:
        raise InjectionError(f"no data for {day}: {exc}") from exc
    return stamp.year, int(index.get_loc(stamp))


def build_scenario(
    network: str,
    communities: int,
    households: int,
    day: str,
    *,
    slots: int = SLOTS_PER_DAY,
    forecast: Forecast | str = Forecast.NAIVE,
    share_pv: float = 0.5,
    share_battery: float = 0.25,
    seed: int = 0,
    engine: Engine | str = Engine.LIGHTSIM,
    moves: Mapping[str, int] | None = None,
) -> Scenario:
    """Set up a day (see the module docstring); ``moves`` puts the households it names on the
    buses it gives (:func:`grid.layout.move_households`: every bus checked)."""
    year, start = day_start(day)
    began = time.perf_counter()
    grid = build_network(network)
    areas = partition(grid, communities)
    build_s = time.perf_counter() - began
    began = time.perf_counter()
    drawn = real_communities(
        tuple(a.id for a in areas),
        households,
        seed=seed,
        share_pv=share_pv,
        share_battery=share_battery,
        year=year,
    )
    data = household_day(drawn, start, slots, forecast)
    data_s = time.perf_counter() - began
    placed = assign_households(grid, areas, data.members, seed=seed)
    if moves:
        placed = move_households(placed, moves)
    data = data.ordered(placed.household_ids)
    operator = GridOperator(placed, engine=engine, weights=data.weights)
    return Scenario(operator, placed, data, start, build_s, data_s, drawn)
