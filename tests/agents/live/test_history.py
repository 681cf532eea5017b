"""Forecasts from the household's own record: the same hour of the last days, then the last
hour seen; prices from the tariff."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.errors import ConfigError
from agents.forecasting.base import HORIZON
from agents.live.history import DAY, HistoryForecaster, SlotHistory

MIDNIGHT = 1_800_000_000 - 1_800_000_000 % DAY


def _flat(_t: float) -> tuple[float, float]:
    return 0.30, 0.08


def _day(history: SlotHistory, day: int, load_wh: float, pv_at_noon_wh: float) -> None:
    for q in range(96):
        start = MIDNIGHT + day * DAY + q * 900
        pv = pv_at_noon_wh if 44 <= q < 52 else 0.0  # 11:00..13:00
        history.add(start, load_wh, pv)


def test_the_forecast_is_the_mean_of_the_same_hour_on_the_last_days(tmp_path: Path) -> None:
    history = SlotHistory(tmp_path / "h.json")
    _day(history, 0, 100.0, 400.0)  # 0.4 kW demand, 1.6 kW PV at noon
    _day(history, 1, 200.0, 800.0)
    forecast = HistoryForecaster(history, _flat).forecast(MIDNIGHT + 2 * DAY + 11 * 3_600)
    assert forecast.load_kw[0] == pytest.approx(0.6)  # (0.4 + 0.8) / 2
    assert forecast.pv_kw[0] == pytest.approx(2.4)  # (1.6 + 3.2) / 2
    assert forecast.pv_kw[2] == 0.0  # 13:00: no PV on either day
    assert forecast.load_kw.shape == (HORIZON,)


def test_without_a_same_hour_the_last_hour_seen_is_carried_on(tmp_path: Path) -> None:
    history = SlotHistory(tmp_path / "h.json")
    for q in range(4):
        history.add(MIDNIGHT + 8 * 3_600 + q * 900, 250.0, 0.0)
    forecast = HistoryForecaster(history, _flat).forecast(MIDNIGHT + 9 * 3_600)
    assert np.allclose(forecast.load_kw, 1.0)
    assert np.allclose(forecast.pv_kw, 0.0)


def test_prices_come_from_the_tariff_hour_by_hour(tmp_path: Path) -> None:
    def tou(t: float) -> tuple[float, float]:
        return (0.20 if (t - MIDNIGHT) % DAY < 6 * 3_600 else 0.35), 0.07

    forecast = HistoryForecaster(SlotHistory(None), tou).forecast(MIDNIGHT + 4 * 3_600)
    assert list(forecast.retail[:3]) == [0.20, 0.20, 0.35]
    assert np.allclose(forecast.feed_in, 0.07)
    assert np.allclose(forecast.load_kw, 0.0)  # nothing recorded yet


def test_the_record_survives_a_restart_and_is_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    history = SlotHistory(path, keep_days=2)
    history.add(MIDNIGHT, 100.0, 0.0)
    history.add(MIDNIGHT + 3 * DAY, 120.0, 30.0)
    again = SlotHistory(path, keep_days=2)
    assert again.slots == {MIDNIGHT + 3 * DAY: (120.0, 30.0)}


def test_an_impossible_measurement_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="load -5"):
        SlotHistory(None).add(MIDNIGHT, -5.0, 0.0)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="damaged"):
        SlotHistory(tmp_path / "bad.json")
