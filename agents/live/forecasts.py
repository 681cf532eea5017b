"""Forecasts the live agent decides on: per slot, from the slot's hour on (hourly values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from agents.data.calendar import slot_of_year
from agents.errors import ConfigError
from agents.forecasting.base import HORIZON


@dataclass(frozen=True, slots=True)
class SlotForecast:
    """What the forecaster expects from the slot's hour on, hourly, ``HORIZON`` values each.

    Attributes:
        load_kw: household demand.
        pv_kw: PV output.
        retail: import tariff, EUR/kWh.
        feed_in: export tariff, EUR/kWh.
        slot_load_kw: expected demand during the slot itself (default: the first hour's).
        slot_pv_kw: expected PV output during the slot itself.
    """

    load_kw: np.ndarray[Any, np.dtype[np.float64]]
    pv_kw: np.ndarray[Any, np.dtype[np.float64]]
    retail: np.ndarray[Any, np.dtype[np.float64]]
    feed_in: np.ndarray[Any, np.dtype[np.float64]]
    slot_load_kw: float | None = None
    slot_pv_kw: float | None = None

    def __post_init__(self) -> None:
        for name in ("load_kw", "pv_kw", "retail", "feed_in"):
            if np.asarray(getattr(self, name)).shape != (HORIZON,):
                raise ConfigError(f"forecast {name} must hold {HORIZON} hourly values")

    @property
    def load_now(self) -> float:
        return float(self.load_kw[0] if self.slot_load_kw is None else self.slot_load_kw)

    @property
    def pv_now(self) -> float:
        return float(self.pv_kw[0] if self.slot_pv_kw is None else self.slot_pv_kw)


class Forecaster(Protocol):
    """Forecasts for the slot starting at ``slot_start`` (unix seconds)."""

    def forecast(self, slot_start: int) -> SlotForecast: ...


class ReplayForecaster:
    """Forecasts of one community household, replayed on the chain's clock.

    A chain timestamp is mapped onto the simulated year by its day of year and time of day in
    the package's fixed UTC+1 axis (:mod:`agents.data.calendar`); the forecasts are those the
    simulator gives its agents (known day-ahead prices, forecast load and PV), so a policy sees
    on chain what it saw in training.

    Args:
        community: the community (see :func:`agents.community.build_community`).
        household: index of the household whose series are replayed.
        forecasts: its forecasts (:func:`agents.forecasting.provider.household_forecasts`).
    """

    def __init__(self, community: Any, household: int, forecasts: Any) -> None:
        self.community = community
        self.household = household
        self.forecasts = forecasts
        self.year_start = datetime(community.config.year, 1, 1, tzinfo=UTC) - timedelta(hours=1)

    @classmethod
    def build(cls, household: int = 0, method: str = "naive") -> ReplayForecaster:
        """Draw the default community and forecast ``household`` (seconds; cached on disk)."""
        from agents.community import CommunityDraw, build_community
        from agents.forecasting.provider import ForecastMethod, household_forecasts
        from agents.rl.setup import DEFAULT_CACHE

        community = build_community(CommunityDraw())
        if not 0 <= household < len(community.households):
            raise ConfigError(f"household {household} is not in the community")
        forecasts = household_forecasts(
            community.load_kw[household],
            community.pv_kw[household],
            community.spot,
            community.config.year,
            ForecastMethod(method),
            cache_dir=DEFAULT_CACHE,
        )
        return cls(community, household, forecasts)

    def forecast(self, slot_start: int) -> SlotForecast:
        slot = slot_of_year(slot_start)
        origin = max(slot // 4 - 1, 0)
        fc, tariffs = self.forecasts, self.community.tariffs
        spec = tariffs.spec
        spot = fc.spot[origin] / 1000.0
        return SlotForecast(
            load_kw=np.asarray(fc.load_kw[origin], dtype=np.float64),
            pv_kw=np.asarray(fc.pv_kw[origin], dtype=np.float64),
            retail=(spot + spec.surcharges) * (1.0 + spec.vat),
            feed_in=np.maximum(spot, 0.0) + spec.feed_in_premium,
            slot_load_kw=float(self.community.load_kw[self.household, slot]),
            slot_pv_kw=float(self.community.pv_kw[self.household, slot]),
        )

    def actual_pv_kw(self, slot_start: int) -> float | None:
        """The household's PV output in the slot starting at ``slot_start`` (the data's)."""
        return float(self.community.pv_kw[self.household, slot_of_year(slot_start)])
