"""Gradient-boosted trees with XGBoost (Chen & Guestrin, "XGBoost: A Scalable Tree Boosting
System", KDD 2016), on the same rows as :mod:`agents.forecasting.gbm`.

The features (target hour's calendar, horizon, lags at the origin and 24/48/168 hours before the
target) and the scaling by the training mean are LightGBM's, so the two differ only in how the
trees are grown (XGBoost: depth-wise histogram trees). Installed as ``xgboost-cpu`` (the plain
``xgboost`` wheel pulls a 469 MB NCCL library the CPU never uses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.errors import ForecastError
from agents.forecasting.base import FloatArray
from agents.forecasting.gbm import BoostedTrees


class XGBForecaster(BoostedTrees):
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
        self._booster = None

    def _train(self, rows: FloatArray, labels: FloatArray) -> Any:
        import xgboost as xgb

        return xgb.train(
            self.params, xgb.DMatrix(rows, label=labels), num_boost_round=self.n_estimators
        )

    def _predict(self, rows: FloatArray) -> FloatArray:
        import xgboost as xgb

        return np.asarray(self._booster.predict(xgb.DMatrix(rows)), dtype=np.float64)

    def _load_booster(self, path: Path) -> Any:
        import xgboost as xgb

        try:
            return xgb.Booster(model_file=str(path))
        except xgb.core.XGBoostError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ForecastError(f"{path}: not an XGBoost model: {first_line}") from exc
