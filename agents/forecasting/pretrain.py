"""Fit the forecasters the agents use and write them to ``agents/pretrained/``.

Two sets: the LightGBM models (``--forecast lightgbm``) and, per series, the model chosen on
validation by ``enerwise forecast eval`` (``--forecast validated``,
:mod:`agents.forecasting.chosen`).
Load: one model pooled over every member of the default community (each scaled by its own
training mean); PV: pooled over the PV owners; price: the 2018 day-ahead price. All fitted on
January..September only (:data:`agents.forecasting.provider.TRAIN_END_HOUR`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.community import CommunityDraw, build_community
from agents.forecasting.base import HourlySeries
from agents.forecasting.chosen import CHOICE_FILE, NAIVE, SERIES, model_file
from agents.forecasting.gbm import GBMForecaster
from agents.forecasting.provider import TRAIN_END_HOUR


def training_series() -> dict[str, list[HourlySeries]]:
    """The series every shipped forecaster is fitted on (module docstring)."""
    community = build_community(CommunityDraw())
    year = community.config.year
    return {
        "load": [HourlySeries.from_slots("load", row, year, "kW") for row in community.load_kw],
        "pv": [
            HourlySeries.from_slots("pv", row, year, "kW") for row in community.pv_kw if row.any()
        ],
        "price": [HourlySeries.from_slots("price", community.spot, year, "EUR/MWh")],
    }


def train_pretrained(out: Path, rounds: int = 200, seed: int = 0) -> list[Path]:
    """Write ``lgbm_load.txt``, ``lgbm_pv.txt`` and ``lgbm_price.txt`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, series in training_series().items():
        model = GBMForecaster(n_estimators=rounds, seed=seed)
        model.fit_many(series, TRAIN_END_HOUR)
        path = out / f"lgbm_{name}.txt"
        model.save(path)
        written.append(path)
    return written


def _new_model(model: str, rounds: int, epochs: int, seed: int) -> Any:
    if model == "lightgbm":
        return GBMForecaster(n_estimators=rounds, seed=seed)
    if model == "xgboost":
        from agents.forecasting.xgb import XGBForecaster

        return XGBForecaster(n_estimators=rounds, seed=seed)
    if model == "lstm":
        from agents.forecasting.lstm import LSTMForecaster

        return LSTMForecaster(epochs=epochs, seed=seed)
    from agents.forecasting.patchtst import PatchTSTForecaster

    return PatchTSTForecaster(epochs=epochs, seed=seed)


def train_chosen(
    out: Path,
    choice: dict[str, str],
    chosen_by: str,
    *,
    rounds: int = 300,
    epochs: int = 8,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Fit the model ``choice[series]`` of every series and write it with the record of the
    choice (``forecasters.json``, written last: a run stopped half-way leaves the previous record
    pointing at its own files). Returns the files written.

    Raises:
        ForecastError: ``choice`` lacks a series or names an unknown model.
    """
    say = progress or (lambda _msg: None)
    files = {name: model_file(choice.get(name, "?"), name) for name in SERIES}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    data = training_series()
    for name in SERIES:
        if choice[name] == NAIVE:
            continue
        say(f"{name}: fitting {choice[name]} on {len(data[name])} series")
        model = _new_model(choice[name], rounds, epochs, seed)
        model.fit_many(data[name], TRAIN_END_HOUR)
        path = out / files[name]
        # The suffix stays last: XGBoost chooses its format by the file's extension.
        partial = path.with_name(f".{path.stem}.partial{path.suffix}")
        model.save(partial)
        partial.replace(path)
        written.append(path)
    record = {
        "chosen_by": chosen_by,
        "fitted": "January..September of the default community's year, pooled per series",
        "seed": seed,
        "series": {name: {"model": choice[name], "file": files[name]} for name in SERIES},
    }
    path = out / CHOICE_FILE
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(path)
    return [*written, path]
