"""Fit the LightGBM forecasters the agents use and write them to ``agents/pretrained/``.

Load: one model pooled over every member of the default community (each scaled by its own
training mean); PV: pooled over the PV owners; price: the 2018 day-ahead price. All fitted on
January..September only (:data:`agents.forecasting.provider.TRAIN_END_HOUR`).
"""

from __future__ import annotations

from pathlib import Path

from agents.community import CommunityDraw, build_community
from agents.forecasting.base import HourlySeries
from agents.forecasting.gbm import GBMForecaster
from agents.forecasting.provider import TRAIN_END_HOUR


def train_pretrained(out: Path, rounds: int = 200, seed: int = 0) -> list[Path]:
    """Write ``lgbm_load.txt``, ``lgbm_pv.txt`` and ``lgbm_price.txt`` into ``out``."""
    community = build_community(CommunityDraw())
    year = community.config.year
    out.mkdir(parents=True, exist_ok=True)
    loads = [HourlySeries.from_slots("load", row, year, "kW") for row in community.load_kw]
    pvs = [HourlySeries.from_slots("pv", row, year, "kW") for row in community.pv_kw if row.any()]
    price = [HourlySeries.from_slots("price", community.spot, year, "EUR/MWh")]
    written = []
    for name, series in (("load", loads), ("pv", pvs), ("price", price)):
        model = GBMForecaster(n_estimators=rounds, seed=seed)
        model.fit_many(series, TRAIN_END_HOUR)
        path = out / f"lgbm_{name}.txt"
        model.save(path)
        written.append(path)
    return written
