"""The indexer benchmark runs end to end at a tiny size (the real figures: docs/indexer.md)."""

from __future__ import annotations

from enerwise.benchmarks.indexer import run


def test_the_benchmark_reports_backfill_latency_and_lag_figures(compiled: None) -> None:
    figures = run(
        300, postgres=False, trade_slots=1, load_rates=(50,), load_seconds=0.5, lag_samples=2
    )
    assert figures["backfill_sqlite"]["events"] >= 300
    assert figures["api_sqlite_50"]["errors"] == 0
    assert figures["sse_lag"]["samples"] == 2
    assert figures["sse_lag_polling"]["samples"] == 2
