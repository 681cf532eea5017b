"""Net energies of the agents' real-data households (SMARD prices, DWD weather through pvlib,
BDEW load; :mod:`agents.community`) for the grid operator.

A household's net energy in a slot is what its meter sees: load minus PV plus battery, with the
battery in self-consumption (set-point 0: it charges the PV surplus and covers the deficit
within its limits), in Wh per slot, positive = import, as :func:`agents.community.metered_wh`.

The forecast the limits are computed on is either the actual series (``perfect``) or the same
slots of the day before (``naive``, the seasonal-naive forecast of :mod:`agents.forecasting`):
the grid operator has last day's meter data before gate closure.

Exchange weights follow what can move: more export comes from PV and battery power (kWp + kW),
more import from demand and battery power (annual kWh / 1000 + kW).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from agents.community import Community, CommunityDraw, build_community, metered_wh
from agents.data.calendar import SLOTS_PER_DAY
from grid.errors import InjectionError
from grid.operator import ExchangeWeights

FloatArray = npt.NDArray[np.float64]


class Forecast(StrEnum):
    """What the limits of a slot are computed on."""

    PERFECT = "perfect"
    NAIVE = "naive"


@dataclass(frozen=True, slots=True)
class HouseholdDay:
    """Net energies of many communities' households over a run of slots.

    Attributes:
        members: ``{community id: household ids}`` (ids are ``<community>/<household>``).
        household_ids: every household, community by community.
        start: first slot of the year.
        actual_wh: metered net energy, shape (households, slots).
        forecast_wh: what the limits are computed on, same shape.
        weights: exchange weights per household.
    """

    members: dict[str, list[str]]
    household_ids: tuple[str, ...]
    start: int
    actual_wh: FloatArray
    forecast_wh: FloatArray
    weights: ExchangeWeights

    @property
    def n_slots(self) -> int:
        """Slots covered."""
        return int(self.actual_wh.shape[1])

    def ordered(self, household_ids: tuple[str, ...]) -> HouseholdDay:
        """The same day with households in the order of ``household_ids``."""
        index = {h: k for k, h in enumerate(self.household_ids)}
        try:
            order = np.array([index[h] for h in household_ids], dtype=np.int64)
        except KeyError as exc:
            raise InjectionError(f"no data for household {exc.args[0]}") from None
        return HouseholdDay(
            members=self.members,
            household_ids=household_ids,
            start=self.start,
            actual_wh=self.actual_wh[order],
            forecast_wh=self.forecast_wh[order],
            weights=ExchangeWeights(self.weights.export[order], self.weights.import_[order]),
        )


def metered_series(community: Community, start: int, end: int) -> FloatArray:
    """Net Wh per household and slot over ``[start, end)`` with self-consumption batteries
    (each battery starts the run at its initial state of charge)."""
    surplus = community.pv_kw[:, start:end] - community.load_kw[:, start:end]
    out = np.zeros(surplus.shape)
    for i, house in enumerate(community.households):
        battery = house.battery
        if battery is None:
            out[i] = np.round(-surplus[i] * 250.0)
            continue
        soc = battery.initial_soc * battery.capacity_kwh
        for j in range(surplus.shape[1]):
            power = battery.power(0.0, float(surplus[i, j]), soc)
            soc = battery.next_soc(soc, power)
            out[i, j] = metered_wh(power, float(surplus[i, j]))
    return out


def household_day(
    communities: Mapping[str, Community],
    start: int,
    n_slots: int = SLOTS_PER_DAY,
    forecast: Forecast | str = Forecast.NAIVE,
) -> HouseholdDay:
    """Actual and forecast net energies of every household of ``communities`` over ``n_slots``
    slots from ``start``.

    Raises:
        InjectionError: a range outside the year, or a naive forecast on the first day.
    """
    try:
        kind = Forecast(forecast)
    except ValueError:
        raise InjectionError(f"forecast must be naive or perfect, got {forecast!r}") from None
    lead = SLOTS_PER_DAY if kind is Forecast.NAIVE else 0
    members: dict[str, list[str]] = {}
    actual, predicted, export, import_ = [], [], [], []
    for community_id, community in communities.items():
        if start - lead < 0 or start + n_slots > community.n_slots or n_slots < 1:
            raise InjectionError(
                f"slots {start}..{start + n_slots} with a {kind.value} forecast are outside "
                f"the year (0..{community.n_slots})"
            )
        series = metered_series(community, start - lead, start + n_slots)
        actual.append(series[:, lead:])
        predicted.append(series[:, :n_slots] if lead else series[:, lead:])
        members[community_id] = [f"{community_id}/{h.id}" for h in community.households]
        for house in community.households:
            pv = house.pv.kwp if house.pv is not None else 0.0
            battery = house.battery.power_kw if house.battery is not None else 0.0
            export.append(pv + battery)
            import_.append(house.load.annual_kwh / 1000.0 + battery)
    return HouseholdDay(
        members=members,
        household_ids=tuple(h for ids in members.values() for h in ids),
        start=start,
        actual_wh=np.concatenate(actual),
        forecast_wh=np.concatenate(predicted),
        weights=ExchangeWeights(np.array(export), np.array(import_)),
    )


def real_communities(
    community_ids: tuple[str, ...],
    households: int,
    *,
    seed: int = 0,
    share_pv: float = 0.5,
    share_battery: float = 0.25,
    year: int = 2018,
) -> dict[str, Community]:
    """One real-data community per id (``households`` members each, seeds ``seed``,
    ``seed + 1``, ...), drawn as :func:`agents.community.build_community` draws them."""
    return {
        community_id: build_community(
            CommunityDraw(
                n_households=households,
                share_pv=share_pv,
                share_battery=share_battery,
                year=year,
                seed=seed + k,
            )
        )
        for k, community_id in enumerate(community_ids)
    }
