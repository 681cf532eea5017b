"""Shipped forecaster files and the forecaster chosen per series on validation: what is written
is what is read back, and a missing or wrong file is an error that names it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents.errors import ForecastError
from agents.forecasting import pretrain, provider
from agents.forecasting.base import HourlySeries
from agents.forecasting.chosen import CHOICE_FILE, choice_from_evaluation, read_choice
from agents.forecasting.lstm import LSTMForecaster
from agents.forecasting.patchtst import PatchTSTForecaster
from agents.forecasting.provider import ForecastMethod, household_forecasts
from agents.forecasting.xgb import XGBForecaster

HOURS = np.arange(8760)
ORIGINS = np.array([1500, 4000, 8000])


def _daily(name: str = "load", level: float = 2.0, seed: int = 0) -> HourlySeries:
    rng = np.random.default_rng(seed)
    values = level * (1.0 + 0.5 * np.sin(2 * np.pi * HOURS / 24))
    values += 0.1 * level * rng.standard_normal(HOURS.size)
    return HourlySeries(name, values, 2018, "kW")


def _tiny_patchtst() -> PatchTSTForecaster:
    return PatchTSTForecaster(window=48, patch=12, stride=12, d_model=8, layers=1, epochs=1)


@pytest.mark.parametrize(
    ("model", "file"),
    [(_tiny_patchtst(), "patchtst_load.pt"), (XGBForecaster(n_estimators=5), "xgb_load.json")],
    ids=["patchtst", "xgboost"],
)
def test_a_saved_model_forecasts_what_it_forecast_before(
    model: PatchTSTForecaster | XGBForecaster, file: str, tmp_path: Path
) -> None:
    model.fit(_daily(), 1000)
    model.save(tmp_path / file)
    loaded = type(model).load(tmp_path / file)
    np.testing.assert_allclose(
        loaded.predict(_daily(), ORIGINS, train_end=1000),
        model.predict(_daily(), ORIGINS, train_end=1000),
    )


def test_a_torch_file_of_another_model_is_refused_naming_the_file(tmp_path: Path) -> None:
    model = _tiny_patchtst()
    model.fit(_daily(), 1000)
    model.save(tmp_path / "model.pt")
    with pytest.raises(ForecastError, match=r"model\.pt: holds a 'patchtst' model, not 'lstm'"):
        LSTMForecaster.load(tmp_path / "model.pt")


def test_a_file_that_is_not_a_torch_model_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "model.pt").write_text("not a model")
    with pytest.raises(ForecastError, match=r"model\.pt: not a torch model file"):
        PatchTSTForecaster.load(tmp_path / "model.pt")


def test_a_pooled_net_forecasts_each_series_in_its_own_unit() -> None:
    small, large = _daily(level=1.0), _daily(level=10.0)
    model = LSTMForecaster(window=24, hidden=4, epochs=1)
    model.fit_many([small, large], 1000)
    np.testing.assert_allclose(
        model.predict(large, ORIGINS, train_end=1000),
        10.0 * model.predict(small, ORIGINS, train_end=1000),
        rtol=1e-5,
    )


def test_the_choice_is_the_validation_winner_of_each_series_and_horizon() -> None:
    evaluation = {
        "series": {
            name: {"best_by_validation": {"day_ahead": model, "next_slot": "patchtst"}}
            for name, model in (("load", "xgboost"), ("pv", "lightgbm"), ("price", "patchtst"))
        }
    }
    assert choice_from_evaluation(evaluation, "eval.json") == {
        "load": {"day_ahead": "xgboost", "next_slot": "patchtst"},
        "pv": {"day_ahead": "lightgbm", "next_slot": "patchtst"},
        "price": {"day_ahead": "patchtst", "next_slot": "patchtst"},
    }


def test_an_evaluation_without_a_choice_is_refused_naming_the_file() -> None:
    with pytest.raises(ForecastError, match=r"eval\.json: no next_slot validation choice for load"):
        choice_from_evaluation(
            {"series": {"load": {"best_by_validation": {"day_ahead": "lightgbm"}}}}, "eval.json"
        )


def _point_provider_at(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "PRETRAINED", folder)


def test_validated_forecasts_without_a_record_name_the_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_provider_at(tmp_path, monkeypatch)
    ones = np.ones(365 * 96)
    with pytest.raises(ForecastError, match=f"{CHOICE_FILE}: no record"):
        household_forecasts(ones, ones, ones * 40.0, 2018, ForecastMethod.VALIDATED)


def test_a_record_naming_a_missing_model_file_is_refused_naming_it(tmp_path: Path) -> None:
    both = {"day_ahead": {"model": "xgboost"}, "next_slot": {"model": "xgboost"}}
    record = {"series": {name: both for name in ("load", "pv", "price")}}
    (tmp_path / CHOICE_FILE).write_text(json.dumps(record))
    with pytest.raises(
        ForecastError, match=r"the load model file .*validated_xgb_load\.json is missing"
    ):
        read_choice(tmp_path)


@pytest.fixture
def chosen_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``train_chosen`` on small synthetic series: load by XGBoost (day ahead) and a tiny
    PatchTST (next slot), PV by seasonal naive, price by the tiny PatchTST."""
    series = {
        "load": [_daily("load", 1.0, 1), _daily("load", 3.0, 2)],
        "pv": [_daily("pv", 4.0, 3)],
        "price": [_daily("price", 50.0, 4)],
    }
    monkeypatch.setattr(pretrain, "training_series", lambda: series)
    monkeypatch.setattr(pretrain, "_new_model", _small_model)
    choice = {
        "load": {"day_ahead": "xgboost", "next_slot": "patchtst"},
        "pv": {"day_ahead": "seasonal_naive", "next_slot": "seasonal_naive"},
        "price": {"day_ahead": "patchtst", "next_slot": "patchtst"},
    }
    pretrain.train_chosen(tmp_path, choice, "a test")
    return tmp_path


def _small_model(model: str, rounds: int, epochs: int, seed: int) -> object:
    return XGBForecaster(n_estimators=5) if model == "xgboost" else _tiny_patchtst()


def test_train_chosen_writes_each_chosen_model_once_and_the_record(chosen_folder: Path) -> None:
    chosen = read_choice(chosen_folder)
    assert {name: {h: c.model for h, c in picks.items()} for name, picks in chosen.items()} == {
        "load": {"day_ahead": "xgboost", "next_slot": "patchtst"},
        "pv": {"day_ahead": "seasonal_naive", "next_slot": "seasonal_naive"},
        "price": {"day_ahead": "patchtst", "next_slot": "patchtst"},
    }
    assert chosen["pv"]["day_ahead"].path is None
    assert sorted(p.name for p in chosen_folder.iterdir()) == [
        CHOICE_FILE,
        "validated_patchtst_load.pt",
        "validated_patchtst_price.pt",
        "validated_xgb_load.json",
    ]


def test_validated_forecasts_take_each_horizon_from_its_chosen_model(
    chosen_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_provider_at(chosen_folder, monkeypatch)
    load = np.repeat(_daily("load", 2.0, 5).values, 4)
    pv = np.repeat(_daily("pv", 4.0, 6).values, 4)
    spot = np.repeat(_daily("price", 50.0, 7).values, 4)
    validated = household_forecasts(load, pv, spot, 2018, ForecastMethod.VALIDATED)
    naive = household_forecasts(load, pv, spot, 2018, ForecastMethod.NAIVE)
    np.testing.assert_array_equal(validated.pv_kw, naive.pv_kw)
    hourly = HourlySeries.from_slots("load", load, 2018, "kW")
    end = provider.TRAIN_END_HOUR
    day_ahead = XGBForecaster.load(chosen_folder / "validated_xgb_load.json")
    next_slot = PatchTSTForecaster.load(chosen_folder / "validated_patchtst_load.pt")
    np.testing.assert_allclose(
        validated.load_kw[ORIGINS, 1:], day_ahead.predict(hourly, ORIGINS, train_end=end)[:, 1:]
    )
    np.testing.assert_allclose(
        validated.load_kw[ORIGINS, 0], next_slot.predict(hourly, ORIGINS, train_end=end)[:, 0]
    )
    assert not np.allclose(validated.spot, naive.spot)
