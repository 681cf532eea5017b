"""The forecaster of each series chosen on validation, as the agents read it.

``enerwise forecast eval`` chooses one model per series (load, PV, price) by its day-ahead MAE on
the validation months, never on the held-out ones; ``enerwise forecast train --chosen-by
EVAL.json`` fits that model on January..September and writes it beside a record of the choice,
``forecasters.json``::

    {"chosen_by": "day-ahead MAE on validation 2018-07-01..2018-09-30 (forecast.eval.json)",
     "series": {"load": {"model": "xgboost", "file": "validated_xgb_load.json"}, ...}}

A missing or unreadable record or model file is an error naming the file: the agents never fall
back to another forecaster silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.errors import ForecastError

CHOICE_FILE = "forecasters.json"
"""The record of the choice, in the folder of the model files."""

SERIES = ("load", "pv", "price")
"""The series the agents forecast."""

NAIVE = "seasonal_naive"
"""The reference model: chosen, it needs no file (the provider's seasonal naive)."""

MODEL_FILES = {
    NAIVE: "",
    "lightgbm": "validated_lgbm_{series}.txt",
    "xgboost": "validated_xgb_{series}.json",
    "lstm": "validated_lstm_{series}.pt",
    "patchtst": "validated_patchtst_{series}.pt",
}
"""The models that can be chosen and the file each writes (``validated_``: never the files of
``--forecast lightgbm``, which a choice of LightGBM would otherwise overwrite)."""


@dataclass(frozen=True, slots=True)
class ChosenModel:
    """One series' chosen forecaster.

    Attributes:
        series: ``load``, ``pv`` or ``price``.
        model: a key of :data:`MODEL_FILES`.
        path: its model file (None for seasonal naive).
    """

    series: str
    model: str
    path: Path | None


def model_file(model: str, series: str) -> str:
    """The file name ``model`` is written to for ``series`` (empty for seasonal naive).

    Raises:
        ForecastError: ``model`` is not one the agents can use.
    """
    if model not in MODEL_FILES:
        raise ForecastError(
            f"{model!r} cannot be shipped as the {series} forecaster "
            f"(one of {', '.join(MODEL_FILES)})"
        )
    return MODEL_FILES[model].format(series=series)


def read_choice(folder: Path) -> dict[str, ChosenModel]:
    """The chosen forecaster of every series, from ``folder/forecasters.json``.

    Raises:
        ForecastError: the record is missing, not JSON, lacks a series, names an unknown model,
            or its model file is missing.
    """
    path = folder / CHOICE_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise ForecastError(
            f"{path}: no record of the validated forecasters "
            "(write it with `enerwise forecast train --chosen-by EVAL.json`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ForecastError(f"{path}: not a readable JSON record: {exc}") from exc
    series = record.get("series") if isinstance(record, dict) else None
    if not isinstance(series, dict):
        raise ForecastError(f"{path}: no 'series' object")
    chosen = {}
    for name in SERIES:
        entry = series.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            raise ForecastError(f"{path}: no model chosen for {name}")
        model = entry["model"]
        default = model_file(model, name)  # refuses an unknown model
        file_name = entry.get("file") or default
        if model == NAIVE:
            file_name = ""
        if not isinstance(file_name, str) or Path(file_name).name != file_name:
            raise ForecastError(f"{path}: the {name} file must be a name in {folder}")
        file = folder / file_name if file_name else None
        if file is not None and not file.is_file():
            raise ForecastError(f"{path}: the {name} model file {file} is missing")
        chosen[name] = ChosenModel(name, model, file)
    return chosen


def load_model(chosen: ChosenModel) -> Any:
    """The fitted forecaster in ``chosen.path`` (a tree or torch model with ``predict`` and
    ``min_history``; not for seasonal naive, which has no file).

    Raises:
        ForecastError: the file does not hold that model.
    """
    if chosen.path is None:
        raise ForecastError(f"{chosen.model} has no model file to load")
    if chosen.model == "lightgbm":
        from agents.forecasting.gbm import GBMForecaster

        return GBMForecaster.load(chosen.path)
    if chosen.model == "xgboost":
        from agents.forecasting.xgb import XGBForecaster

        return XGBForecaster.load(chosen.path)
    if chosen.model == "lstm":
        from agents.forecasting.lstm import LSTMForecaster

        return LSTMForecaster.load(chosen.path)
    from agents.forecasting.patchtst import PatchTSTForecaster

    return PatchTSTForecaster.load(chosen.path)


def choice_from_evaluation(evaluation: dict[str, Any], source: str) -> dict[str, str]:
    """``{series: model}`` chosen by day-ahead MAE on validation in an ``enerwise forecast
    eval --json`` result.

    Raises:
        ForecastError: the result lacks a series or its choice, or chose an unknown model.
    """
    out = {}
    for name in SERIES:
        try:
            model = evaluation["series"][name]["best_by_validation"]["day_ahead"]
        except (KeyError, TypeError):
            raise ForecastError(f"{source}: no validation choice for {name}") from None
        model_file(str(model), name)
        out[name] = str(model)
    return out
