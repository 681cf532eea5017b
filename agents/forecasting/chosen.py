"""The forecasters of each series chosen on validation, as the agents read them.

``enerwise forecast eval`` chooses, per series (load, PV, price) and horizon, the model with the
lowest MAE on the validation months, never on the held-out ones: one for the next slot (hour 1
after the origin), one for the day ahead (hours 1..24 pooled). ``enerwise forecast train
--chosen-by EVAL.json`` fits those models on January..September and writes them beside a
record of the choice, ``forecasters.json``::

    {"chosen_by": "MAE per horizon on validation 2018-07-01..2018-09-30 (forecast.eval.json)",
     "series": {"load": {"day_ahead": {"model": "xgboost", "file": "validated_xgb_load.json"},
                         "next_slot": {"model": "patchtst", "file": "..."}}, ...}}

The agents' forecast of a series is the day-ahead model's 24 hours with the first hour from the
next-slot model.

A missing or unreadable record or model file is an error naming the file: the agents never fall
back to another forecaster silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.errors import ForecastError
from agents.json_files import read_json_object

CHOICE_FILE = "forecasters.json"
"""The record of the choice, in the folder of the model files."""

SERIES = ("load", "pv", "price")
"""The series the agents forecast."""

HORIZONS = ("day_ahead", "next_slot")
"""The horizons a model is chosen for (:data:`agents.forecasting.evaluation.HORIZONS`)."""

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


def read_choice(folder: Path) -> dict[str, dict[str, ChosenModel]]:
    """The chosen forecaster of every series and horizon, from ``folder/forecasters.json``.

    Raises:
        ForecastError: the record is missing, not JSON, lacks a series or horizon, names an
            unknown model or a path outside ``folder``, or its model file is missing.
    """
    path = folder / CHOICE_FILE
    if not path.exists():
        raise ForecastError(
            f"{path}: no record of the validated forecasters "
            "(write it with `enerwise forecast train --chosen-by EVAL.json`)"
        )
    record = read_json_object(path, "a record of the validated forecasters", ForecastError)
    series = record.get("series")
    if not isinstance(series, dict):
        raise ForecastError(f"{path}: no 'series' object")
    chosen: dict[str, dict[str, ChosenModel]] = {}
    for name in SERIES:
        for horizon in HORIZONS:
            entry = (series.get(name) or {}).get(horizon)
            if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
                raise ForecastError(f"{path}: no {horizon} model chosen for {name}")
            chosen.setdefault(name, {})[horizon] = _chosen_model(path, name, entry)
    return chosen


def _chosen_model(path: Path, name: str, entry: dict[str, Any]) -> ChosenModel:
    model = entry["model"]
    default = model_file(model, name)  # refuses an unknown model
    file_name = "" if model == NAIVE else entry.get("file") or default
    if not isinstance(file_name, str) or Path(file_name).name != file_name:
        raise ForecastError(f"{path}: the {name} file must be a name in {path.parent}")
    file = path.parent / file_name if file_name else None
    if file is not None and not file.is_file():
        raise ForecastError(f"{path}: the {name} model file {file} is missing")
    return ChosenModel(name, model, file)


def model_class(model: str) -> Any:
    """The forecaster class of a chosen ``model`` (imported on demand: torch only for the
    nets).

    Raises:
        ForecastError: ``model`` has no class to fit or load (seasonal naive, or unknown).
    """
    if model == "lightgbm":
        from agents.forecasting.gbm import GBMForecaster

        return GBMForecaster
    if model == "xgboost":
        from agents.forecasting.xgb import XGBForecaster

        return XGBForecaster
    if model == "lstm":
        from agents.forecasting.lstm import LSTMForecaster

        return LSTMForecaster
    if model == "patchtst":
        from agents.forecasting.patchtst import PatchTSTForecaster

        return PatchTSTForecaster
    raise ForecastError(f"{model!r} has no model to fit or load")


def load_model(chosen: ChosenModel) -> Any:
    """The fitted forecaster in ``chosen.path`` (a tree or torch model with ``predict`` and
    ``min_history``; not for seasonal naive, which has no file).

    Raises:
        ForecastError: the file does not hold that model.
    """
    if chosen.path is None:
        raise ForecastError(f"{chosen.model} has no model file to load")
    return model_class(chosen.model).load(chosen.path)


def read_evaluation(path: Path) -> dict[str, Any]:
    """The JSON document of ``enerwise forecast eval --json`` at ``path``.

    Raises:
        ForecastError: the file is missing or not a JSON object.
    """
    return read_json_object(path, "an `enerwise forecast eval --json` result", ForecastError)


def choice_from_evaluation(evaluation: dict[str, Any], source: str) -> dict[str, dict[str, str]]:
    """``{series: {horizon: model}}`` chosen by MAE on validation in an ``enerwise forecast
    eval --json`` result.

    Raises:
        ForecastError: the result lacks a series or a choice, or chose an unknown model.
    """
    out: dict[str, dict[str, str]] = {}
    for name in SERIES:
        for horizon in HORIZONS:
            try:
                model = evaluation["series"][name]["best_by_validation"][horizon]
            except (KeyError, TypeError):
                raise ForecastError(
                    f"{source}: no {horizon} validation choice for {name}"
                ) from None
            model_file(str(model), name)
            out.setdefault(name, {})[horizon] = str(model)
    return out
