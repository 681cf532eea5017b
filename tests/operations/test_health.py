"""Oracle health rules (no chain needed)."""

from __future__ import annotations

import pytest

from operations.health import (
    LATE_AFTER_SLOTS,
    SILENT_AFTER_SLOTS,
    LastReading,
    classify,
    meter_health,
)

SLOT = 900
NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0, "ok"),
        (SLOT, "ok"),
        (LATE_AFTER_SLOTS * SLOT, "ok"),
        (LATE_AFTER_SLOTS * SLOT + 1, "late"),
        (SILENT_AFTER_SLOTS * SLOT, "late"),
        (SILENT_AFTER_SLOTS * SLOT + 1, "silent"),
        (-30, "ok"),  # a reading stamped slightly ahead of the block (clock skew)
    ],
)
def test_health_by_age_against_the_slot_length(age: int, expected: str) -> None:
    assert classify(NOW - age, NOW, SLOT) == expected


def test_never_read_is_silent_and_deactivated_is_inactive() -> None:
    assert classify(None, NOW, SLOT) == "silent"
    assert classify(0, NOW, SLOT) == "silent"  # the registry's lastTimestamp before any reading
    assert classify(NOW, NOW, SLOT, active=False) == "inactive"
    # the slot length scales the thresholds: one hour old is late at 15 min, ok at 1 h slots
    assert classify(NOW - 3_600, NOW, 900) == "late"
    assert classify(NOW - 3_600, NOW, 3_600) == "ok"


def test_an_index_overrides_the_chain_and_a_missing_meter_is_silent() -> None:
    meters = [("0xaa", "roof", True, NOW - 10), ("0xbb", None, True, NOW - 10)]
    from_chain = meter_health(meters, None, NOW, SLOT)
    assert [(h.health, h.age_seconds, h.reading_count) for h in from_chain] == [
        ("ok", 10, None),
        ("ok", 10, None),
    ]
    index = {"0xaa": LastReading("0xaa", NOW - 5 * SLOT, 7)}  # the index lags or differs
    from_index = meter_health(meters, index, NOW, SLOT)
    assert [(h.health, h.last_reading_time, h.reading_count) for h in from_index] == [
        ("late", NOW - 5 * SLOT, 7),
        ("silent", None, 0),
    ]
