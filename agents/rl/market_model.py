"""Training the learned model of the others' book (:mod:`agents.policies.book_model`): the
method ``mpc_book_learned``, one model file per seed.

The books are the training months' (January..September by default, never the held-out
quarter), one history per controlled household (each faces the book of all the others).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.policies.book_model import (
    NO_SHRINK,
    BookHistory,
    BookModel,
    PlannerSettings,
    check_shrink,
    planner_defaults,
)
from agents.policies.visible import MARKET_OPEN, check_market, plan_lag_slots
from agents.rl.setup import Setup


def train_book_models(
    setup: Setup,
    seeds: tuple[int, ...],
    out: Path,
    *,
    market: str = MARKET_OPEN,
    shrink: tuple[float, ...] = NO_SHRINK,
    planner: PlannerSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit one :class:`BookModel` per seed on ``setup``'s books and write
    ``out/book-model-seed{seed}.json`` and ``out/book-model.train.json``; returns the latter.
    ``shrink`` is saved in each file (:func:`~agents.policies.book_model.check_shrink`): the
    decision parameter chosen on validation (``agent eval --book-shrink``), not fitted here;
    so is ``planner``, how the planner that reads the model trades (None: the market mode's,
    :func:`~agents.policies.book_model.planner_defaults`).
    Where it reads a target, each seed's ONNX export (what a gateway runs,
    :mod:`agents.policies.book_model_onnx`) is written beside its file as
    ``book-model-seed{seed}.onnx``, with its largest difference to the trees in the report.

    Raises:
        ConfigError: an unknown market mode.
        PolicyError: the setup's period is too short to train on, or ``shrink`` is out of range.
    """
    check_market(market)
    shrink = check_shrink(shrink, "--shrink")
    planner = planner_defaults(market) if planner is None else planner
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    histories = []
    for h, book in zip(setup.households, setup.books, strict=True):
        say(f"summarising the books of household {h}")
        histories.append(BookHistory.of(setup.community, h, book, setup.start, setup.end))
    summarise_seconds = time.perf_counter() - started
    runs = []
    for seed in seeds:
        say(f"fitting seed {seed}")
        t0 = time.perf_counter()
        model = BookModel.fit(
            histories, seed=seed, lag=plan_lag_slots(market), shrink=shrink, planner=planner
        )
        path = out / f"book-model-seed{seed}.json"
        model.save(path)
        run: dict[str, Any] = {"seed": seed, "model": str(path)}
        if any(shrink):
            run.update(_exported(model, path.with_suffix(".onnx")))
        run["seconds"] = round(time.perf_counter() - t0, 1)
        runs.append(run)
    meta = {
        "algo": "book_model",
        "method": "mpc_book_learned",
        "market": market,
        "shrink": list(shrink),
        "pricing": planner.pricing,
        "reach": planner.reach,
        "year": setup.community.config.year,
        "slots": [setup.start, setup.end],
        "households": [setup.community.households[h].id for h in setup.households],
        "summarise_seconds": round(summarise_seconds, 1),
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "book-model.train.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def _exported(model: BookModel, path: Path) -> dict[str, Any]:
    """Export ``model`` to ``path`` and read it back: the file and its largest difference to
    the trees (:func:`~agents.policies.book_model_onnx.parity`)."""
    from agents.policies.book_model_onnx import export_book_model, parity

    export_book_model(model, path)
    return {"onnx": str(path), "onnx_max_abs_diff": parity(model, BookModel.load(path))}
