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

from agents.policies.book_model import NO_SHRINK, BookHistory, BookModel, check_shrink
from agents.policies.visible import MARKET_OPEN, check_market, plan_lag_slots
from agents.rl.setup import Setup


def train_book_models(
    setup: Setup,
    seeds: tuple[int, ...],
    out: Path,
    *,
    market: str = MARKET_OPEN,
    shrink: tuple[float, ...] = NO_SHRINK,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit one :class:`BookModel` per seed on ``setup``'s books and write
    ``out/book-model-seed{seed}.json`` and ``out/book-model.train.json``; returns the latter.
    ``shrink`` is saved in each file (:func:`~agents.policies.book_model.check_shrink`): the
    decision parameter chosen on validation (``agent eval --book-shrink``), not fitted here.

    Raises:
        ConfigError: an unknown market mode.
        PolicyError: the setup's period is too short to train on, or ``shrink`` is out of range.
    """
    check_market(market)
    shrink = check_shrink(shrink, "--shrink")
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
        model = BookModel.fit(histories, seed=seed, lag=plan_lag_slots(market), shrink=shrink)
        path = out / f"book-model-seed{seed}.json"
        model.save(path)
        runs.append(
            {"seed": seed, "model": str(path), "seconds": round(time.perf_counter() - t0, 1)}
        )
    meta = {
        "algo": "book_model",
        "method": "mpc_book_learned",
        "market": market,
        "shrink": list(shrink),
        "year": setup.community.config.year,
        "slots": [setup.start, setup.end],
        "households": [setup.community.households[h].id for h in setup.households],
        "summarise_seconds": round(summarise_seconds, 1),
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "book-model.train.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
