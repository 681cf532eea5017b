"""Forecast metrics and forecasters on synthetic series with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from agents.errors import ForecastError
from agents.forecasting.base import HORIZON, Forecaster, HourlySeries, mae, rmse, skill, targets
from agents.forecasting.evaluation import horizon_scores, month_origins
from agents.forecasting.gbm import GBMForecaster
from agents.forecasting.lstm import LSTMForecaster
from agents.forecasting.naive import SeasonalNaive
from agents.forecasting.patchtst import PatchTSTForecaster
from agents.forecasting.provider import household_forecasts, published_mask
from agents.forecasting.xgb import XGBForecaster

HOURS = np.arange(8760)


def _daily(noise: float = 0.0, seed: int = 0) -> HourlySeries:
    rng = np.random.default_rng(seed)
    values = 2.0 + np.sin(2 * np.pi * HOURS / 24) + noise * rng.standard_normal(HOURS.size)
    return HourlySeries("load", values, 2018, "kW")


def test_mae_and_rmse_of_a_known_error() -> None:
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    forecast = np.array([2.0, 2.0, 1.0, 4.0])
    assert mae(actual, forecast) == pytest.approx(0.75)
    assert rmse(actual, forecast) == pytest.approx(np.sqrt(5 / 4))


def test_skill_is_one_minus_the_error_ratio() -> None:
    assert skill(1.0, 4.0) == pytest.approx(0.75)
    assert skill(4.0, 4.0) == 0.0


def test_metrics_ignore_missing_targets() -> None:
    assert mae(np.array([1.0, np.nan]), np.array([2.0, 5.0])) == 1.0


def test_seasonal_naive_is_exact_on_a_purely_periodic_series() -> None:
    series = _daily()
    origins = np.arange(500, 800, 24)
    forecast = SeasonalNaive(24).predict(series, origins)
    assert mae(targets(series.values, origins), forecast) == pytest.approx(0.0, abs=1e-12)


def test_seasonal_naive_uses_only_the_past() -> None:
    series = _daily(noise=1.0)
    forecast = SeasonalNaive(24).predict(series, np.array([100]))
    assert forecast[0, 0] == series.values[101 - 24]
    assert forecast[0, HORIZON - 1] == series.values[100]


def test_origins_without_history_raise_a_forecast_error() -> None:
    with pytest.raises(ForecastError):
        SeasonalNaive(168).predict(_daily(), np.array([10]))


@pytest.mark.parametrize(
    "model",
    [GBMForecaster(n_estimators=40), XGBForecaster(n_estimators=40)],
    ids=["lightgbm", "xgboost"],
)
def test_boosted_trees_beat_naive_on_a_noisy_periodic_series(model: Forecaster) -> None:
    series = _daily(noise=0.3)
    origins = np.arange(7000, 8600, 24)
    model.fit(series, 1500)
    actual = targets(series.values, origins)
    assert mae(actual, model.predict(series, origins)) < mae(
        actual, SeasonalNaive(24).predict(series, origins)
    )


@pytest.mark.parametrize(
    "model",
    [
        LSTMForecaster(window=24, epochs=10, hidden=16, learning_rate=1e-2),
        PatchTSTForecaster(window=48, patch=12, stride=12, d_model=16, layers=1, epochs=4),
    ],
    ids=["lstm", "patchtst"],
)
def test_neural_models_learn_a_periodic_series_better_than_its_mean(model: Forecaster) -> None:
    series = _daily(noise=0.05)
    model.fit(series, 1200)
    origins = np.arange(2000, 2400, 24)
    actual = targets(series.values, origins)
    assert mae(actual, model.predict(series, origins)) < mae(actual, np.full_like(actual, 2.0))


def test_unfitted_models_raise_a_forecast_error() -> None:
    with pytest.raises(ForecastError):
        GBMForecaster().predict(_daily(), np.array([500]))


def test_prices_of_the_rest_of_today_are_known_before_the_auction() -> None:
    mask = published_mask(48)
    assert mask[5, :18].all() and not mask[5, 18:].any()  # 06:00: known until midnight


def test_prices_of_tomorrow_are_known_after_the_auction() -> None:
    assert published_mask(48)[13].all()  # 14:00: known through tomorrow


def test_patchtst_uses_only_the_past() -> None:
    series = _daily(noise=0.3)
    model = PatchTSTForecaster(window=48, patch=12, stride=12, d_model=16, layers=1, epochs=1)
    model.fit(series, 1000)
    changed = HourlySeries("load", series.values.copy(), 2018, "kW")
    changed.values[1501:] += 100.0
    np.testing.assert_allclose(
        model.predict(series, np.array([1500])), model.predict(changed, np.array([1500]))
    )


def test_unfitted_xgboost_and_patchtst_raise_a_forecast_error() -> None:
    with pytest.raises(ForecastError, match="before fit"):
        XGBForecaster().predict(_daily(), np.array([500]))
    with pytest.raises(ForecastError, match="before fit"):
        PatchTSTForecaster().predict(_daily(), np.array([500]))


def test_next_slot_and_day_ahead_scores_pool_their_horizons() -> None:
    actual = np.zeros((2, HORIZON))
    forecast = np.zeros((2, HORIZON))
    forecast[:, 0] = 1.0  # only the first hour is wrong
    naive = np.full((2, HORIZON), 2.0)
    scores = horizon_scores(forecast, actual, naive)
    assert scores["next_slot"]["mae"] == 1.0 and scores["next_slot"]["skill"] == 0.5
    assert scores["day_ahead"]["mae"] == pytest.approx(1 / HORIZON, abs=1e-4)


def test_validation_months_end_where_the_test_months_begin() -> None:
    val_fit, val_origins = month_origins(2018, 7, 9)
    test_fit, test_origins = month_origins(2018, 10, 12)
    assert val_origins[-1] + HORIZON < test_fit  # no validation target inside the test
    assert val_fit < test_fit and test_origins[0] == test_fit - 1


def test_nan_in_a_series_stops_the_forecasts_with_the_series_named() -> None:
    load = np.ones(365 * 96)
    load[5000] = np.nan
    with pytest.raises(ForecastError, match="load forecasts are NaN"):
        household_forecasts(load, np.zeros(365 * 96), np.full(365 * 96, 40.0), 2018)
