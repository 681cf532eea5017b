"""Forecast metrics and forecasters on synthetic series with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from agents.errors import ForecastError
from agents.forecasting import (
    HORIZON,
    GBMForecaster,
    HourlySeries,
    LSTMForecaster,
    SeasonalNaive,
    mae,
    rmse,
    skill,
)
from agents.forecasting.base import targets
from agents.forecasting.provider import published_mask

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


def test_lightgbm_beats_naive_on_a_noisy_periodic_series() -> None:
    series = _daily(noise=0.3)
    origins = np.arange(7000, 8600, 24)
    model = GBMForecaster(n_estimators=40)
    model.fit(series, 1500)
    actual = targets(series.values, origins)
    assert mae(actual, model.predict(series, origins)) < mae(
        actual, SeasonalNaive(24).predict(series, origins)
    )


def test_lstm_learns_a_periodic_series_better_than_its_mean() -> None:
    series = _daily(noise=0.05)
    model = LSTMForecaster(window=24, epochs=10, hidden=16, learning_rate=1e-2)
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
