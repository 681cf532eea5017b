"""Forecasts as an agent sees them: per household, per origin hour, the next 24 hours.

Origin ``o`` is the last complete hour: a decision in hour ``H`` uses origin ``H - 1`` and sees
hours ``H .. H+23``. Day-ahead prices are published around 12:45 for the next day, so a price
is *known* (not forecast) for every hour up to the end of the current day, and from 13:00 on
also for the whole next day; only the other hours come from a forecaster.

Methods: ``naive`` (seasonal naive: a week for load, a day for PV and price), ``lightgbm``
(the pretrained models in ``agents/pretrained/`` or models fitted on the training months),
``validated`` (per series the model chosen on validation, shipped in ``agents/pretrained/``:
:mod:`agents.forecasting.chosen`) and ``oracle`` (the actual values: an upper bound on forecast
quality, for ablations only).
For the first week of the year, where lags are missing, the forecast repeats the last value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from agents.cache import save_entry
from agents.data.calendar import SLOTS_PER_HOUR
from agents.errors import ForecastError
from agents.forecasting.base import HORIZON, FloatArray, HourlySeries, targets
from agents.forecasting.chosen import CHOICE_FILE, ChosenModel, load_model, read_choice
from agents.forecasting.gbm import GBMForecaster
from agents.forecasting.naive import SEASONS, SeasonalNaive

PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained"
"""Where the shipped forecaster and policy files live."""

TRAIN_END_HOUR = 273 * 24
"""First hour of October: models are fitted on January..September."""


class ForecastMethod(StrEnum):
    """Where the forecast comes from."""

    NAIVE = "naive"
    LIGHTGBM = "lightgbm"
    VALIDATED = "validated"
    ORACLE = "oracle"


@dataclass(frozen=True, slots=True)
class HouseholdForecasts:
    """Hourly forecasts from every origin hour, shape ``(8760, 24)`` each.

    Attributes:
        load_kw: the household's demand.
        pv_kw: its PV output (zeros without PV).
        spot: the day-ahead price, EUR/MWh (known hours are exact).
    """

    load_kw: FloatArray
    pv_kw: FloatArray
    spot: FloatArray


def published_mask(n_hours: int) -> FloatArray:
    """``mask[o, h-1]`` is True when hour ``o+h``'s day-ahead price is known at hour ``o+1``."""
    decision_hour = np.arange(n_hours)[:, None] + 1
    target = decision_hour + np.arange(HORIZON)[None, :]
    day_end = (decision_hour // 24 + 1) * 24
    horizon_end = np.where(decision_hour % 24 >= 13, day_end + 24, day_end)
    return np.asarray(target < horizon_end)


def _gbm(series: HourlySeries) -> tuple[Any, str]:
    """The LightGBM model of ``--forecast lightgbm`` (fitted here when no file is shipped)."""
    path = PRETRAINED / f"lgbm_{series.name}.txt"
    if path.is_file():
        return GBMForecaster.load(path), str(path)
    model = GBMForecaster(n_estimators=200)
    model.fit(series, TRAIN_END_HOUR)
    return model, f"LightGBM fitted on {series.name} (no {path})"


def _predict_into(out: FloatArray, series: HourlySeries, model: Any, columns: slice) -> None:
    """Write ``model``'s forecasts of every origin it has the history for into
    ``out[:, columns]``."""
    n = series.values.size
    if isinstance(model, SeasonalNaive):
        origins = np.arange(model.season - 1, n - 1, dtype=np.int64)
        out[origins, columns] = model.predict(series, origins)[:, columns]
        return
    origins = np.arange(model.min_history - 1, n - 1, dtype=np.int64)
    out[origins, columns] = model.predict(series, origins, train_end=TRAIN_END_HOUR)[:, columns]


def _validated(series: HourlySeries, chosen: dict[str, ChosenModel], out: FloatArray) -> str:
    """Fill ``out`` with the validation choice ``chosen`` of ``series``: the day-ahead model's
    hours, the first from the next-slot model; returns the files read."""
    sources = []
    for horizon, columns in (("day_ahead", slice(0, HORIZON)), ("next_slot", slice(0, 1))):
        pick = chosen[horizon]
        if horizon == "next_slot" and pick.model == chosen["day_ahead"].model:
            break  # the day-ahead model wrote the first hour already
        model = SeasonalNaive(SEASONS[series.name]) if pick.path is None else load_model(pick)
        _predict_into(out, series, model, columns)
        sources.append(str(pick.path or pick.model))
    return " and ".join(sources)


def _forecast(
    series: HourlySeries,
    method: ForecastMethod,
    choice: dict[str, dict[str, ChosenModel]] | None = None,
) -> FloatArray:
    n = series.values.size
    out = np.repeat(series.values[:, None], HORIZON, axis=1)  # persistence for early origins
    if method is ForecastMethod.ORACLE:
        exact = targets(series.values, np.arange(n, dtype=np.int64))
        return np.where(np.isnan(exact), out, exact)
    source = method.value
    if method is ForecastMethod.NAIVE:
        _predict_into(out, series, SeasonalNaive(SEASONS[series.name]), slice(0, HORIZON))
    elif method is ForecastMethod.VALIDATED:
        assert choice is not None  # household_forecasts reads it once
        source = _validated(series, choice[series.name], out)
    else:
        model, source = _gbm(series)
        _predict_into(out, series, model, slice(0, HORIZON))
    if series.name == "pv":
        out = np.maximum(out, 0.0)
    bad = ~np.isfinite(out)
    if bad.any():
        first = int(np.argwhere(bad)[0][0])
        raise ForecastError(
            f"{source}: {int(bad.sum())} {series.name} forecasts are NaN or infinite "
            f"(first at origin hour {first}); refusing to act on them"
        )
    return out


def _model_stamps(
    method: ForecastMethod, choice: dict[str, dict[str, ChosenModel]] | None
) -> list[str]:
    """What makes a cached forecast stale: the model files of ``method`` (name and mtime)."""
    if choice is not None:
        files = [PRETRAINED / CHOICE_FILE]
        for picks in choice.values():
            files += sorted({c.path for c in picks.values() if c.path is not None})
    elif method is ForecastMethod.LIGHTGBM:
        files = sorted(PRETRAINED.glob("lgbm_*.txt"))
    else:
        return []
    return [f"{path.name}:{path.stat().st_mtime_ns}" for path in files]


def _cache_key(parts: list[str]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def household_forecasts(
    load_kw: FloatArray,
    pv_kw: FloatArray,
    spot: FloatArray,
    year: int,
    method: ForecastMethod = ForecastMethod.NAIVE,
    cache_dir: Path | None = None,
) -> HouseholdForecasts:
    """Forecasts of one household from its per-slot series (cached on disk when asked).

    Raises:
        ForecastError: the series do not cover a whole year of slots.
    """
    slots = load_kw.size
    if pv_kw.size != slots or spot.size != slots or slots % SLOTS_PER_HOUR:
        raise ForecastError("load, pv and spot must have the same whole-hour length")
    choice = read_choice(PRETRAINED) if method is ForecastMethod.VALIDATED else None
    path = None
    if cache_dir is not None:
        stamps = _model_stamps(method, choice)
        digest = hashlib.sha256(load_kw.tobytes() + pv_kw.tobytes() + spot.tobytes()).hexdigest()
        path = cache_dir / f"forecasts-{_cache_key([digest, method.value, *stamps])}.npz"
        if path.is_file():
            data = np.load(path)
            return HouseholdForecasts(data["load"], data["pv"], data["spot"])
    load = _forecast(HourlySeries.from_slots("load", load_kw, year, "kW"), method, choice)
    pv = (
        _forecast(HourlySeries.from_slots("pv", pv_kw, year, "kW"), method, choice)
        if pv_kw.any()
        else np.zeros((slots // SLOTS_PER_HOUR, HORIZON))
    )
    hourly_spot = HourlySeries.from_slots("price", spot, year, "EUR/MWh")
    price = _forecast(hourly_spot, method, choice)
    exact = targets(hourly_spot.values, np.arange(hourly_spot.values.size, dtype=np.int64))
    known = published_mask(hourly_spot.values.size) & np.isfinite(exact)
    price = np.where(known, exact, price)
    result = HouseholdForecasts(load_kw=load, pv_kw=pv, spot=price)
    if path is not None:
        save_entry(path, compress=True, load=load, pv=pv, spot=price)
    return result
