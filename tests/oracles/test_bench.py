"""The oracle benchmark runs end to end (small numbers; `enerwise bench oracle` runs 1,000)."""

from __future__ import annotations

import pytest

from enerwise.benchmarks.oracle import run

pytestmark = pytest.mark.anvil


def test_the_benchmark_signs_persists_and_lands_every_reading(compiled: None) -> None:
    figures = run(meters=20, slots=2, batch_size=15)
    assert figures["readings"] == figures["accepted"] == 40
    assert figures["rejected"] == 0 and figures["batches"] == 3
    assert figures["signed_persisted_per_s"] > 0 and figures["landed_per_s"] > 0
