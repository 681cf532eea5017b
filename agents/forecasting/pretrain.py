"""Fit the forecasters the agents use and write them to ``agents/pretrained/``.

Two sets: the LightGBM models (``--forecast lightgbm``) and, per series, the model chosen on
validation by ``enerwise forecast eval`` (``--forecast validated``,
:mod:`agents.forecasting.chosen`).
Load: one model pooled over every member of the default community (each scaled by its own
training mean); PV: pooled over the PV owners; price: the 2018 day-ahead price. All fitted on
January..September only (:data:`agents.forecasting.provider.TRAIN_END_HOUR`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.community import CommunityDraw, build_community
from agents.forecasting.base import HourlySeries
from agents.forecasting.chosen import (
    CHOICE_FILE,
    HORIZONS,
    NAIVE,
    SERIES,
    model_class,
    model_file,
)
from agents.forecasting.gbm import GBMForecaster
from agents.forecasting.provider import TRAIN_END_HOUR
from agents.json_files import write_atomically


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
    """An unfitted ``model``: trees grow ``rounds`` rounds, nets train ``epochs`` epochs."""
    cls = model_class(model)
    if model in ("lightgbm", "xgboost"):
        return cls(n_estimators=rounds, seed=seed)
    return cls(epochs=epochs, seed=seed)


def train_chosen(
    out: Path,
    choice: dict[str, dict[str, str]],
    chosen_by: str,
    *,
    rounds: int = 300,
    epochs: int = 8,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Fit the model ``choice[series][horizon]`` of every series and horizon (a model chosen
    for both once) and write it with the record of the choice (``forecasters.json``, written
    last: a run stopped half-way leaves the previous record pointing at its own files).
    Returns the files written.

    Raises:
        ForecastError: ``choice`` lacks a series or horizon, or names an unknown model.
    """
    say = progress or (lambda _msg: None)
    record: dict[str, dict[str, dict[str, str]]] = {}
    for name in SERIES:
        for horizon in HORIZONS:
            model = choice.get(name, {}).get(horizon, "?")
            entry = {"model": model, "file": model_file(model, name)}
            record.setdefault(name, {})[horizon] = entry
    out.mkdir(parents=True, exist_ok=True)
    written = []
    data = training_series()
    for name in SERIES:
        for model in sorted({choice[name][h] for h in HORIZONS} - {NAIVE}):
            say(f"{name}: fitting {model} on {len(data[name])} series")
            fitted = _new_model(model, rounds, epochs, seed)
            fitted.fit_many(data[name], TRAIN_END_HOUR)
            path = out / model_file(model, name)
            # The suffix stays last: XGBoost chooses its format by the file's extension.
            partial = path.with_name(f".{path.stem}.partial{path.suffix}")
            fitted.save(partial)
            partial.replace(path)
            written.append(path)
    document = {
        "chosen_by": chosen_by,
        "fitted": "January..September of the default community's year, pooled per series",
        "seed": seed,
        "series": record,
    }
    path = out / CHOICE_FILE
    write_atomically(path, document, indent=2)
    return [*written, path]
