"""The contracts settle order books exactly like market/clearing.py, to the Wh and the unit."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devchain.chain_engine import _settle, engine_settings
from devchain.sandbox import Sandbox
from market.clearing import MarketParams, Order, Side, settle

PARAMS = MarketParams(price_floor=80_000, tick_size=100, max_tick=40, fee_bps=25)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(engine_settings(PARAMS)) as market:
        yield market


@st.composite
def books(draw: st.DrawFn) -> list[Order]:
    """Small books on few ticks, so that crossing, ties and rationing are common."""
    size = draw(st.integers(min_value=1, max_value=8))
    return [
        Order(
            id=f"o{i}",
            side=draw(st.sampled_from([Side.BUY, Side.SELL])),
            tick=draw(st.integers(min_value=10, max_value=20)),
            qty_wh=draw(st.integers(min_value=1, max_value=5_000)),
        )
        for i in range(size)
    ]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(book=books())
def test_contract_settles_random_books_like_the_python_reference(
    sandbox: Sandbox, book: list[Order]
) -> None:
    chain_record, chain_outcomes = _settle(sandbox, book, PARAMS)
    record, outcomes = settle(book, PARAMS)
    assert chain_record == record
    assert chain_outcomes == outcomes


def test_auction_clear_engines_print_the_same_report(tmp_path: Path) -> None:
    book = {
        "market": {"price_floor": 80000, "tick_size": 100, "max_tick": 2000, "fee_bps": 30},
        "orders": [
            {"id": "b1", "side": "buy", "tick": 1200, "qty_wh": 1500},
            {"id": "b2", "side": "buy", "tick": 1100, "qty_wh": 1000},
            {"id": "s1", "side": "sell", "tick": 1000, "qty_wh": 700},
            {"id": "s2", "side": "sell", "tick": 1100, "qty_wh": 1300},
            {"id": "s3", "side": "sell", "tick": 1100, "qty_wh": 900},
        ],
    }
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book))
    reports = {}
    for engine in ("python", "chain"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "enerwise",
                "auction",
                "clear",
                "--orders",
                str(path),
                "--engine",
                engine,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
        reports[engine] = json.loads(result.stdout)
    assert reports["chain"] == reports["python"]
    assert reports["python"]["cleared"] is True
