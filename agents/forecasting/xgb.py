"""Gradient-boosted trees with XGBoost (Chen & Guestrin, "XGBoost: A Scalable Tree Boosting
System", KDD 2016), on the same rows as :mod:`agents.forecasting.gbm`.

The features (target hour's calendar, horizon, lags at the origin and 24/48/168 hours before the
target) and the scaling by the training mean are LightGBM's, so the two differ only in how the
trees are grown (XGBoost: depth-wise histogram trees). Installed as ``xgboost-cpu`` (the plain
``xgboost`` wheel pulls a 469 MB NCCL library the CPU never uses).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.errors import ForecastError
from agents.forecasting.base import (
    HORIZON,
    FloatArray,
    HourlySeries,
    IntArray,
    check_origins,
    targets,
)
from agents.forecasting.gbm import MIN_HISTORY, features, series_scale


class XGBForecaster:
    """XGBoost direct multi-horizon forecaster (one model for all horizons).

    Args:
        n_estimators: boosting rounds.
        learning_rate: shrinkage per round.
        max_depth: depth of each tree.
        seed: random seed.
        n_jobs: threads.
    """

    name = "xgboost"

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        max_depth: int = 6,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.params: dict[str, Any] = {
            "objective": "reg:squarederror",
            "eta": learning_rate,
            "max_depth": max_depth,
            "min_child_weight": 50,
            "subsample": 1.0,
            "colsample_bytree": 0.9,
            "tree_method": "hist",
            "seed": seed,
            "nthread": n_jobs,
            "verbosity": 0,
        }
        self.n_estimators = n_estimators
        self._booster: Any = None

    def fit(self, series: HourlySeries, train_end: int) -> None:
        """Fit on every origin whose 24 targets lie in ``[0, train_end)``."""
        self.fit_many([series], train_end)

    def fit_many(self, many: Sequence[HourlySeries], train_end: int) -> None:
        """Fit one model on several series (each scaled by its own training mean).

        Raises:
            ForecastError: ``train_end`` leaves no training origin.
        """
        import xgboost as xgb

        origins = np.arange(MIN_HISTORY - 1, train_end - HORIZON - 1, dtype=np.int64)
        if origins.size == 0:
            raise ForecastError(f"train_end {train_end} leaves no origin (need > {MIN_HISTORY})")
        rows, ys = [], []
        for series in many:
            scale = series_scale(series.values, train_end)
            rows.append(features(series, origins, scale))
            ys.append(targets(series.values / scale, origins).ravel())
        data = xgb.DMatrix(np.vstack(rows), label=np.concatenate(ys))
        self._booster = xgb.train(self.params, data, num_boost_round=self.n_estimators)

    def predict(self, series: HourlySeries, origins: IntArray, train_end: int = 0) -> FloatArray:
        """Forecasts for ``origins``, scaled by the mean up to ``train_end`` (default: up to the
        first origin).

        Raises:
            ForecastError: not fitted, or an origin without enough history.
        """
        import xgboost as xgb

        if self._booster is None:
            raise ForecastError("XGBForecaster.predict before fit")
        origins = np.asarray(origins, dtype=np.int64)
        check_origins(origins, series.values.size, MIN_HISTORY)
        end = train_end or int(origins.min()) + 1
        scale = series_scale(series.values, end)
        out = self._booster.predict(xgb.DMatrix(features(series, origins, scale)))
        return np.asarray(out, dtype=np.float64).reshape(origins.size, HORIZON) * scale
