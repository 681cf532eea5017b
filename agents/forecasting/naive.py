"""Seasonal-naive baseline: the value one season earlier (a day for PV and prices, a week for
load), the reference every skill score is measured against (Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice*, 3rd ed., 2021, section 5.2)."""

from __future__ import annotations

import numpy as np

from agents.forecasting.base import HORIZON, FloatArray, HourlySeries, IntArray, check_origins

SEASONS = {"load": 168, "pv": 24, "price": 24}
"""Season of the seasonal-naive forecast per series: a week for load, a day for PV and prices."""


class SeasonalNaive:
    """Forecast hour ``o+h`` with the most recent known value of the same season phase.

    Args:
        season: season length in hours (24 or 168 are usual; >= 1).
    """

    def __init__(self, season: int = 24) -> None:
        self.season = season
        self.name = f"seasonal_naive_{season}h"

    def fit(self, series: HourlySeries, train_end: int) -> None:
        """Nothing to learn."""

    def predict(self, series: HourlySeries, origins: IntArray) -> FloatArray:
        """``y[o + h - k*season]`` with the smallest ``k`` that lands at or before ``o``."""
        origins = np.asarray(origins, dtype=np.int64)
        check_origins(origins, series.values.size, self.season)
        h = np.arange(1, HORIZON + 1)
        back = np.ceil(h / self.season).astype(np.int64) * self.season
        return np.asarray(series.values[origins[:, None] + h[None, :] - back[None, :]], float)
