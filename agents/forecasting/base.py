"""Shared pieces of the forecasters: the hourly series they read, the interface, the metrics.

All forecasters are *direct multi-horizon*: from an origin hour ``o`` (everything up to and
including hour ``o`` is known) they predict hours ``o+1 .. o+H`` at once (``H = 24``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from agents.data.calendar import hour_index
from agents.errors import ForecastError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HORIZON = 24
"""Hours forecast from each origin."""


@dataclass(frozen=True, slots=True)
class HourlySeries:
    """One hourly series of a non-leap year on the fixed UTC+1 axis.

    Attributes:
        name: what it is (``load``, ``pv``, ``price``).
        values: 8760 hourly values (kW or EUR/MWh).
        year: calendar year.
        unit: unit of ``values``.
    """

    name: str
    values: FloatArray
    year: int
    unit: str

    @property
    def index(self) -> pd.DatetimeIndex:
        """The hour starts."""
        return hour_index(self.year)

    @classmethod
    def from_slots(cls, name: str, per_slot: FloatArray, year: int, unit: str) -> HourlySeries:
        """Average four 15-minute slots into each hour."""
        values = np.asarray(per_slot, dtype=np.float64).reshape(-1, 4).mean(axis=1)
        return cls(name=name, values=values, year=year, unit=unit)


def calendar_features(year: int) -> FloatArray:
    """Per hour: sin/cos hour of day, sin/cos day of week, sin/cos day of year, weekend flag."""
    index = hour_index(year)
    hour = np.asarray(index.hour, dtype=np.float64)
    dow = np.asarray(index.dayofweek, dtype=np.float64)
    doy = np.asarray(index.dayofyear, dtype=np.float64)
    return np.column_stack(
        [
            np.sin(2 * np.pi * hour / 24),
            np.cos(2 * np.pi * hour / 24),
            np.sin(2 * np.pi * dow / 7),
            np.cos(2 * np.pi * dow / 7),
            np.sin(2 * np.pi * doy / 365),
            np.cos(2 * np.pi * doy / 365),
            (dow >= 5).astype(np.float64),
        ]
    )


class Forecaster(Protocol):
    """A direct multi-horizon forecaster of an hourly series."""

    name: str

    def fit(self, series: HourlySeries, train_end: int) -> None:
        """Learn from hours ``[0, train_end)`` only."""
        ...

    def predict(self, series: HourlySeries, origins: IntArray) -> FloatArray:
        """Forecasts of shape ``(len(origins), HORIZON)`` for hours ``o+1 .. o+HORIZON``.

        Only ``series.values[: o + 1]`` may be used for origin ``o``.
        """
        ...


def check_origins(origins: IntArray, n_hours: int, min_history: int) -> None:
    """Raise ForecastError unless every origin has ``min_history`` hours behind it.

    Raises:
        ForecastError: an origin is too early or leaves no target hour inside the series.
    """
    if origins.size and (origins.min() < min_history - 1 or origins.max() >= n_hours - 1):
        raise ForecastError(
            f"origins must be in {min_history - 1}..{n_hours - 2}, "
            f"got {int(origins.min())}..{int(origins.max())}"
        )


def training_origins(min_history: int, train_end: int, horizon: int = HORIZON) -> IntArray:
    """Every origin with ``min_history`` hours behind it whose targets lie before ``train_end``.

    Raises:
        ForecastError: ``train_end`` leaves no training origin.
    """
    origins = np.arange(min_history - 1, train_end - horizon - 1, dtype=np.int64)
    if origins.size == 0:
        raise ForecastError(f"train_end {train_end} leaves no origin (need > {min_history})")
    return origins


def targets(values: FloatArray, origins: IntArray, horizon: int = HORIZON) -> FloatArray:
    """Actual values for each origin and horizon (NaN past the end of the series)."""
    index = origins[:, None] + np.arange(1, horizon + 1)[None, :]
    padded = np.concatenate([values, np.full(horizon, np.nan)])
    return np.asarray(padded[index], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Scores:
    """Errors of one forecaster over a set of origins and all horizons.

    Attributes:
        mae: mean absolute error.
        rmse: root mean squared error.
        skill: ``1 - MAE / MAE(seasonal naive)`` (0 for the naive forecaster itself; > 0 is
            better than naive).
    """

    mae: float
    rmse: float
    skill: float


def mae(actual: FloatArray, forecast: FloatArray) -> float:
    """Mean absolute error over the finite pairs."""
    ok = np.isfinite(actual) & np.isfinite(forecast)
    return float(np.mean(np.abs(actual[ok] - forecast[ok])))


def rmse(actual: FloatArray, forecast: FloatArray) -> float:
    """Root mean squared error over the finite pairs."""
    ok = np.isfinite(actual) & np.isfinite(forecast)
    return float(np.sqrt(np.mean((actual[ok] - forecast[ok]) ** 2)))


def skill(model_mae: float, naive_mae: float) -> float:
    """``1 - model_mae / naive_mae`` (0 when the naive error is 0)."""
    return 0.0 if naive_mae == 0 else 1.0 - model_mae / naive_mae
