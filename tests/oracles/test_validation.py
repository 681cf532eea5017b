"""What may be signed: each bad input is refused with its own reason."""

from __future__ import annotations

import pytest

from oracles.errors import (
    ClockSkewError,
    DuplicateReadingError,
    ImplausibleDeltaError,
    RegisterDecreasedError,
    RegisterValueError,
    StaleSampleError,
)
from oracles.sources.base import Sample
from oracles.validation import LastReading, ValidationSettings, validate_sample

T = 1_800_000_060
LAST = LastReading(seq=4, timestamp=T - 60, import_wh=1_000, export_wh=500)


def check(
    sample: Sample, last: LastReading | None = LAST, capacity: int | None = 1_000
) -> tuple[int, int]:
    return validate_sample(
        sample,
        T,
        last,
        slot_seconds=60,
        capacity_wh_per_slot=capacity,
        settings=ValidationSettings(max_sample_age=30, max_device_skew=60),
    )


def sample(imp: float = 1_100.4, exp: float = 500.6, **kw: float) -> Sample:
    return Sample(imp, exp, 100.0, kw.pop("taken_at", T + 1), **kw)  # type: ignore[arg-type]


def test_a_good_sample_gives_whole_watt_hours() -> None:
    assert check(sample()) == (1_100, 501)


def test_the_first_reading_needs_no_previous_one() -> None:
    assert check(sample(5.0, 0.0), last=None) == (5, 0)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nan_or_infinite_register_is_refused(value: float) -> None:
    with pytest.raises(RegisterValueError):
        check(sample(imp=value))


def test_negative_register_is_refused() -> None:
    with pytest.raises(RegisterValueError, match="negative"):
        check(sample(exp=-1.0))


def test_absurd_register_is_refused() -> None:
    with pytest.raises(RegisterValueError, match="absurd"):
        check(sample(imp=1e15))


def test_register_going_backwards_is_refused() -> None:
    with pytest.raises(RegisterDecreasedError, match="backwards"):
        check(sample(imp=999.0))


def test_duplicate_timestamp_is_refused() -> None:
    last = LastReading(seq=4, timestamp=T, import_wh=1_000, export_wh=500)
    with pytest.raises(DuplicateReadingError):
        check(sample(), last=last)


def test_late_timestamp_is_refused() -> None:
    last = LastReading(seq=4, timestamp=T + 60, import_wh=1_000, export_wh=500)
    with pytest.raises(DuplicateReadingError):
        check(sample(), last=last)


def test_sample_taken_far_from_the_boundary_is_stale() -> None:
    with pytest.raises(StaleSampleError):
        check(sample(taken_at=T - 300))


def test_device_clock_skew_is_refused() -> None:
    with pytest.raises(ClockSkewError):
        check(sample(device_time=T + 3_600))


def test_more_energy_than_the_capacity_is_implausible() -> None:
    with pytest.raises(ImplausibleDeltaError):
        check(sample(imp=1_000 + 1_001))


def test_capacity_scales_with_the_slots_covered() -> None:
    last = LastReading(seq=4, timestamp=T - 180, import_wh=1_000, export_wh=500)
    assert check(sample(imp=3_900.0), last=last) == (3_900, 501)
