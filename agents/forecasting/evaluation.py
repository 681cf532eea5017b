"""Rolling-origin evaluation of the forecasters on held-out time (Tashman, "Out-of-sample tests
of forecasting accuracy", International Journal of Forecasting 16, 2000).

Every model is fitted once on the training hours (January to September of 2018 by default).
The origin then rolls through the held-out months one day at a time (23:00, forecasting the
next 24 hours), each forecast using only data up to its origin. Scores pool all origins and
horizons: MAE, RMSE and skill ``1 - MAE / MAE(seasonal naive)``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from agents.data.calendar import hour_index
from agents.data.load import HouseholdLoadSpec, household_load
from agents.data.prices import day_ahead_prices
from agents.data.pv import PVSystemSpec, pv_power
from agents.errors import ConfigError
from agents.forecasting.base import (
    HORIZON,
    Forecaster,
    HourlySeries,
    IntArray,
    Scores,
    mae,
    rmse,
    skill,
    targets,
)
from agents.forecasting.gbm import GBMForecaster
from agents.forecasting.lstm import LSTMForecaster
from agents.forecasting.naive import SeasonalNaive

SEASONS = {"load": 168, "pv": 24, "price": 24}
"""Season of the naive reference per series: a week for load, a day for PV and prices."""


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """What the evaluation runs.

    Attributes:
        year: data year (2018).
        test_from_month: first held-out month (2..12); earlier months train.
        test_to_month: last held-out month.
        lgbm_rounds: LightGBM boosting rounds.
        lstm_epochs: LSTM epochs.
        seed: seed of every model.
    """

    year: int = 2018
    test_from_month: int = 10
    test_to_month: int = 12
    lgbm_rounds: int = 300
    lstm_epochs: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.test_from_month <= self.test_to_month <= 12:
            raise ConfigError("need 2 <= test_from_month <= test_to_month <= 12")

    @classmethod
    def quick(cls) -> EvalConfig:
        """One held-out month, fewer rounds and epochs (well under a minute)."""
        return cls(test_from_month=10, test_to_month=10, lgbm_rounds=100, lstm_epochs=2)


def evaluation_series(year: int = 2018) -> list[HourlySeries]:
    """The three series evaluated: one household's load, one 5 kWp PV array, the spot price."""
    load = household_load(HouseholdLoadSpec(annual_kwh=3500.0, seed=7), year)
    pv = pv_power(PVSystemSpec(kwp=5.0, tilt=30.0, azimuth=180.0, region=4), year)
    return [
        HourlySeries.from_slots("load", load, year, "kW"),
        HourlySeries.from_slots("pv", pv, year, "kW"),
        HourlySeries("price", day_ahead_prices(year).eur_per_mwh, year, "EUR/MWh"),
    ]


def test_origins(config: EvalConfig) -> tuple[int, IntArray]:
    """``(train_end, origins)``: training hours end where the test months start; origins are
    the 23:00 hours from the eve of the first test day to the eve of the last full day."""
    months = np.asarray(hour_index(config.year).month)
    test = np.flatnonzero((months >= config.test_from_month) & (months <= config.test_to_month))
    train_end, last = int(test[0]), int(test[-1])
    origins = np.arange(train_end - 1, last - HORIZON + 1, 24, dtype=np.int64)
    return train_end, origins


def score(model: Forecaster, series: HourlySeries, origins: IntArray) -> tuple[float, float]:
    """``(MAE, RMSE)`` of ``model`` over ``origins`` and all horizons."""
    forecast = model.predict(series, origins)
    actual = targets(series.values, origins)
    return mae(actual, forecast), rmse(actual, forecast)


def evaluate(config: EvalConfig | None = None) -> dict[str, Any]:
    """Fit and score seasonal naive, LightGBM and LSTM on load, PV and price.

    Returns a JSON-ready dict: period, origins, and per series per model MAE, RMSE, skill and
    fit seconds.
    """
    config = config or EvalConfig()
    torch.set_num_threads(2)
    train_end, origins = test_origins(config)
    index = hour_index(config.year)
    result: dict[str, Any] = {
        "train": f"{index[0].date()}..{index[train_end - 1].date()}",
        "test": f"{index[train_end].date()}..{index[int(origins[-1]) + HORIZON].date()}",
        "origins": int(origins.size),
        "horizon_h": HORIZON,
        "series": {},
    }
    started = time.perf_counter()
    for series in evaluation_series(config.year):
        naive = SeasonalNaive(SEASONS[series.name])
        models: list[Forecaster] = [
            naive,
            GBMForecaster(n_estimators=config.lgbm_rounds, seed=config.seed),
            LSTMForecaster(epochs=config.lstm_epochs, seed=config.seed),
        ]
        rows: dict[str, Any] = {}
        naive_mae = 0.0
        for model in models:
            t0 = time.perf_counter()
            model.fit(series, train_end)
            fit_s = time.perf_counter() - t0
            m, r = score(model, series, origins)
            if model is naive:
                naive_mae = m
            key = "seasonal_naive" if model is naive else model.name
            scores = Scores(mae=m, rmse=r, skill=skill(m, naive_mae))
            rows[key] = asdict(scores) | {"fit_seconds": round(fit_s, 2)}
        result["series"][series.name] = {
            "unit": series.unit,
            "naive_season_h": naive.season,
            "models": {k: {n: round(v, 4) for n, v in row.items()} for k, row in rows.items()},
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
