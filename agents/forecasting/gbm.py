"""Gradient-boosted trees on calendar and lag features (LightGBM: Ke et al., "LightGBM: A Highly
Efficient Gradient Boosting Decision Tree", NeurIPS 2017).

One model serves all horizons (the horizon is a feature): each row is an (origin, horizon) pair
with the target hour's calendar (sin/cos hour, day of week, day of year, weekend), the horizon,
and lags known at the origin: ``y[o]``, ``y[o-1]``, the mean of the last 24 h, and the values
24, 48 and 168 hours before the target hour. Values are divided by the series' mean absolute
value over the training hours, so one model can serve households of different sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from agents.errors import ForecastError
from agents.forecasting.base import (
    HORIZON,
    FloatArray,
    HourlySeries,
    IntArray,
    calendar_features,
    check_origins,
    targets,
    training_origins,
)

MIN_HISTORY = 192
"""Hours an origin needs behind it (the 168-h lag of the 24-h horizon, plus a day)."""


def series_scale(values: FloatArray, end: int) -> float:
    """Mean absolute value of ``values[:end]`` (1 when that is 0)."""
    scale = float(np.mean(np.abs(values[:end]))) if end > 0 else 0.0
    return scale if scale > 0 else 1.0


def features(series: HourlySeries, origins: IntArray, scale: float) -> FloatArray:
    """The feature rows of every (origin, horizon) pair, origin-major."""
    y = series.values / scale
    cal = calendar_features(series.year)
    o = np.repeat(origins, HORIZON)
    h = np.tile(np.arange(1, HORIZON + 1), origins.size)
    target = np.minimum(o + h, y.size - 1)
    cumsum = np.concatenate([[0.0], np.cumsum(y)])
    mean24 = (cumsum[o + 1] - cumsum[o - 23]) / 24.0
    return np.column_stack(
        [
            h,
            cal[target],
            y[o],
            y[o - 1],
            mean24,
            y[o + h - 24],
            y[o + h - 48],
            y[o + h - 168],
        ]
    )


class BoostedTrees:
    """What the tree forecasters share: rows of :func:`features` for every (origin, horizon)
    pair, each series scaled by its own training mean; a subclass grows and applies the trees.
    """

    name = "trees"
    _booster: Any = None

    def fit(self, series: HourlySeries, train_end: int) -> None:
        """Fit on every origin whose 24 targets lie in ``[0, train_end)``."""
        self.fit_many([series], train_end)

    def fit_many(self, many: Sequence[HourlySeries], train_end: int) -> None:
        """Fit one model on several series (each scaled by its own training mean).

        Raises:
            ForecastError: ``train_end`` leaves no training origin.
        """
        origins = training_origins(MIN_HISTORY, train_end)
        rows, ys = [], []
        for series in many:
            scale = series_scale(series.values, train_end)
            rows.append(features(series, origins, scale))
            ys.append(targets(series.values / scale, origins).ravel())
        self._booster = self._train(np.vstack(rows), np.concatenate(ys))

    def predict(self, series: HourlySeries, origins: IntArray, train_end: int = 0) -> FloatArray:
        """Forecasts for ``origins``; the scale comes from hours before ``train_end`` (or all
        hours before the first origin when 0).

        Raises:
            ForecastError: not fitted, or an origin without enough history.
        """
        if self._booster is None:
            raise ForecastError(f"{type(self).__name__}.predict before fit/load")
        origins = np.asarray(origins, dtype=np.int64)
        check_origins(origins, series.values.size, MIN_HISTORY)
        end = train_end or int(origins.min()) + 1
        scale = series_scale(series.values, end)
        out = self._predict(features(series, origins, scale))
        return np.asarray(out, dtype=np.float64).reshape(origins.size, HORIZON) * scale

    def _train(self, rows: FloatArray, labels: FloatArray) -> Any:
        """The fitted booster of ``rows`` and their ``labels``."""
        raise NotImplementedError

    def _predict(self, rows: FloatArray) -> FloatArray:
        """The fitted booster's values of ``rows``."""
        raise NotImplementedError

    def _load_booster(self, path: Path) -> Any:
        """The booster in the model file at ``path``.

        Raises:
            ForecastError: the file is not a model of this library.
        """
        raise NotImplementedError

    @property
    def min_history(self) -> int:
        """Hours an origin needs behind it (the longest lag)."""
        return MIN_HISTORY

    def save(self, path: Path) -> None:
        """Write the booster as its library's model file.

        Raises:
            ForecastError: not fitted.
        """
        if self._booster is None:
            raise ForecastError("nothing to save: fit first")
        self._booster.save_model(str(path))

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a model written by :meth:`save`.

        Raises:
            ForecastError: the file is missing or not a model of this library.
        """
        if not path.is_file():
            raise ForecastError(f"no {cls.name} model at {path}")
        model = cls()
        model._booster = model._load_booster(path)
        return model


class GBMForecaster(BoostedTrees):
    """LightGBM direct multi-horizon forecaster.

    Args:
        n_estimators: boosting rounds.
        learning_rate: shrinkage per round.
        num_leaves: leaves per tree.
        seed: random seed (deterministic training with ``deterministic=True``).
        n_jobs: threads.
    """

    name = "lightgbm"

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.params: dict[str, Any] = {
            "objective": "l2",
            "learning_rate": learning_rate,
            "num_leaves": num_leaves,
            "min_data_in_leaf": 50,
            "feature_fraction": 0.9,
            "seed": seed,
            "deterministic": True,
            "num_threads": n_jobs,
            "verbosity": -1,
        }
        self.n_estimators = n_estimators
        self._booster = None

    def _train(self, rows: FloatArray, labels: FloatArray) -> Any:
        import lightgbm as lgb

        data = lgb.Dataset(rows, label=labels, free_raw_data=True)
        return lgb.train(self.params, data, num_boost_round=self.n_estimators)

    def _predict(self, rows: FloatArray) -> FloatArray:
        return np.asarray(self._booster.predict(rows), dtype=np.float64)

    def _load_booster(self, path: Path) -> Any:
        import lightgbm as lgb

        try:
            return lgb.Booster(model_file=str(path))
        except lgb.basic.LightGBMError as exc:
            raise ForecastError(f"{path}: not a LightGBM model: {exc}") from exc
