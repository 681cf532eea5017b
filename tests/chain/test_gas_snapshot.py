"""The contracts' gas per operation equals the checked-in snapshot (a diff shows regressions)."""

from __future__ import annotations

import json

import pytest

from chain.paths import REPO_ROOT
from enerwise.benchmarks.gas import run

SNAPSHOT = REPO_ROOT / "gas-snapshot.json"


@pytest.mark.usefixtures("compiled")
def test_gas_per_operation_matches_the_snapshot() -> None:
    measured = run()
    recorded = json.loads(SNAPSHOT.read_text())
    changed = {
        key: (recorded.get(key), value)
        for key, value in measured.items()
        if recorded.get(key) != value
    }
    assert not changed, (
        f"gas changed (snapshot, now): {changed}; if intended, run "
        "`enerwise bench gas --snapshot gas-snapshot.json` and commit the diff"
    )


def test_snapshot_meets_every_gas_target() -> None:
    recorded = json.loads(SNAPSHOT.read_text())
    over = {
        k: (recorded[k], limit) for k, limit in recorded["targets"].items() if recorded[k] > limit
    }
    assert not over, f"over target (measured, target): {over}"
