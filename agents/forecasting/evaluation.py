"""Rolling-origin evaluation of the forecasters on held-out time (Tashman, "Out-of-sample tests
of forecasting accuracy", International Journal of Forecasting 16, 2000).

Two rounds, both on 2018:

* *validation*: every model is fitted on the months before the validation months (January to
  June by default) and scored on the validation months (July to September); the best model per
  series is the one with the lowest day-ahead MAE here. The choice never looks at the test.
* *test*: every model is refitted on everything before the test months (January to September)
  and scored on the held-out test months (October to December).

In both rounds the origin rolls through the scored months one hour at a time, each forecast
using only data up to its origin. Two horizons are scored: *next slot* (the first hour after the
origin: the agents' 15-minute slot lies inside it) and *day ahead* (all 24 hours from every
origin, pooled). Scores: MAE, RMSE and skill ``1 - MAE / MAE(seasonal naive)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
    FloatArray,
    Forecaster,
    HourlySeries,
    IntArray,
    mae,
    rmse,
    skill,
    targets,
)
from agents.forecasting.gbm import MIN_HISTORY, GBMForecaster
from agents.forecasting.lstm import LSTMForecaster
from agents.forecasting.naive import SEASONS, SeasonalNaive
from agents.forecasting.patchtst import PatchTSTForecaster
from agents.forecasting.xgb import XGBForecaster

HORIZONS = {"next_slot": slice(0, 1), "day_ahead": slice(0, HORIZON)}
"""The scored horizons: the first hour after the origin, and all 24 hours pooled."""

ASSUME_PRICE_RMSE = 10.2
"""Day-ahead price RMSE (EUR/MWh) that the ASSUME framework reports for its price forecast:
the anchor our price forecasts are compared with."""


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """What the evaluation runs.

    Attributes:
        year: data year (2018).
        validation_from_month: first validation month (2..test_from_month - 1).
        test_from_month: first held-out test month; the validation months end before it.
        test_to_month: last held-out test month.
        lgbm_rounds: LightGBM and XGBoost boosting rounds.
        lstm_epochs: LSTM epochs.
        patchtst_epochs: PatchTST epochs.
        seed: seed of every model.
    """

    year: int = 2018
    validation_from_month: int = 7
    test_from_month: int = 10
    test_to_month: int = 12
    lgbm_rounds: int = 300
    lstm_epochs: int = 6
    patchtst_epochs: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.test_from_month <= self.test_to_month <= 12:
            raise ConfigError("need 2 <= test_from_month <= test_to_month <= 12")
        if not 2 <= self.validation_from_month < self.test_from_month:
            raise ConfigError("need 2 <= validation_from_month < test_from_month")

    @classmethod
    def quick(cls) -> EvalConfig:
        """Validation September, test October, fewer rounds and epochs (about a minute)."""
        return cls(
            validation_from_month=9,
            test_from_month=10,
            test_to_month=10,
            lgbm_rounds=100,
            lstm_epochs=2,
            patchtst_epochs=2,
        )


def evaluation_series(year: int = 2018) -> list[HourlySeries]:
    """The three series evaluated: one household's load, one 5 kWp PV array, the spot price."""
    load = household_load(HouseholdLoadSpec(annual_kwh=3500.0, seed=7), year)
    pv = pv_power(PVSystemSpec(kwp=5.0, tilt=30.0, azimuth=180.0, region=4), year)
    return [
        HourlySeries.from_slots("load", load, year, "kW"),
        HourlySeries.from_slots("pv", pv, year, "kW"),
        HourlySeries("price", day_ahead_prices(year).eur_per_mwh, year, "EUR/MWh"),
    ]


def month_origins(year: int, first: int, last: int) -> tuple[int, IntArray]:
    """``(fit_end, origins)`` for scoring months ``first..last``: models fit on the hours
    before the first scored hour; origins are every hour from the one before it to the last
    whose 24 targets still lie inside the months."""
    months = np.asarray(hour_index(year).month)
    scored = np.flatnonzero((months >= first) & (months <= last))
    fit_end, last_hour = int(scored[0]), int(scored[-1])
    return fit_end, np.arange(fit_end - 1, last_hour - HORIZON + 1, dtype=np.int64)


def horizon_scores(
    forecast: FloatArray, actual: FloatArray, naive: FloatArray
) -> dict[str, dict[str, float]]:
    """MAE, RMSE and skill vs ``naive`` for each of :data:`HORIZONS`."""
    out = {}
    for name, cut in HORIZONS.items():
        m = mae(actual[:, cut], forecast[:, cut])
        out[name] = {
            "mae": round(m, 4),
            "rmse": round(rmse(actual[:, cut], forecast[:, cut]), 4),
            "skill": round(skill(m, mae(actual[:, cut], naive[:, cut])), 4),
        }
    return out


def candidates(config: EvalConfig, series: HourlySeries) -> list[Forecaster]:
    """The models compared for ``series``: seasonal naive first."""
    return [
        SeasonalNaive(SEASONS[series.name]),
        GBMForecaster(n_estimators=config.lgbm_rounds, seed=config.seed),
        XGBForecaster(n_estimators=config.lgbm_rounds, seed=config.seed),
        LSTMForecaster(epochs=config.lstm_epochs, seed=config.seed),
        PatchTSTForecaster(epochs=config.patchtst_epochs, seed=config.seed),
    ]


def _key(model: Forecaster) -> str:
    return "seasonal_naive" if isinstance(model, SeasonalNaive) else model.name


def _round(
    config: EvalConfig,
    series: HourlySeries,
    fit_end: int,
    origins: IntArray,
    say: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Fit every candidate on ``[0, fit_end)`` and score it on ``origins``."""
    actual = targets(series.values, origins)
    rows: dict[str, dict[str, Any]] = {}
    naive: FloatArray | None = None
    for model in candidates(config, series):
        say(f"{series.name}: {_key(model)} (fit on {fit_end} h)")
        t0 = time.perf_counter()
        model.fit(series, fit_end)
        fit_s = time.perf_counter() - t0
        forecast = model.predict(series, origins)
        if series.name == "pv":
            forecast = np.maximum(forecast, 0.0)
        if naive is None:
            naive = forecast
        rows[_key(model)] = horizon_scores(forecast, actual, naive) | {
            "fit_seconds": round(fit_s, 2)
        }
    return rows


def evaluate(
    config: EvalConfig | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Validation and test rounds for load, PV and price (module docstring).

    Returns a JSON-ready dict: the periods, the origins, and per series per model the scores
    of both rounds, plus the model chosen on validation.
    """
    config = config or EvalConfig()
    say = progress or (lambda _msg: None)
    torch.set_num_threads(2)
    index = hour_index(config.year)
    val_fit, val_origins = month_origins(
        config.year, config.validation_from_month, config.test_from_month - 1
    )
    test_fit, test_origins = month_origins(
        config.year, config.test_from_month, config.test_to_month
    )
    if val_fit <= MIN_HISTORY + HORIZON:
        raise ConfigError("validation starts too early: nothing left to fit on")

    def span(fit_end: int, origins: IntArray) -> dict[str, Any]:
        return {
            "fit": f"{index[0].date()}..{index[fit_end - 1].date()}",
            "scored": f"{index[fit_end].date()}..{index[int(origins[-1]) + HORIZON].date()}",
            "origins": int(origins.size),
        }

    result: dict[str, Any] = {
        "validation": span(val_fit, val_origins),
        "test": span(test_fit, test_origins),
        "horizons": {"next_slot": "hour 1 after the origin", "day_ahead": "hours 1..24 pooled"},
        "anchors": {"price_rmse_eur_per_mwh": {"assume": ASSUME_PRICE_RMSE}},
        "config": asdict(config),
        "series": {},
    }
    started = time.perf_counter()
    for series in evaluation_series(config.year):
        validation = _round(config, series, val_fit, val_origins, say)
        test = _round(config, series, test_fit, test_origins, say)
        best = min(validation, key=lambda k: validation[k]["day_ahead"]["mae"])
        best_next = min(validation, key=lambda k: validation[k]["next_slot"]["mae"])
        result["series"][series.name] = {
            "unit": series.unit,
            "naive_season_h": SEASONS[series.name],
            "best_by_validation": {"day_ahead": best, "next_slot": best_next},
            "models": {
                name: {"validation": validation[name], "test": test[name]} for name in validation
            },
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
