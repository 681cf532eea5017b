"""The boundary search returns the farthest point it saw safe, close to the true boundary."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from grid.search import find_boundary


def linear(zero: float, slope: float = -1.0) -> Callable[[float], np.ndarray]:
    """One element whose margin reaches zero at ``zero``."""

    def margins(x: float) -> np.ndarray:
        return np.array([slope * (x - zero)])

    return margins


def test_finds_a_linear_boundary_within_tolerance_on_the_safe_side() -> None:
    margins = linear(37.3)
    found = find_boundary(margins, 0.0, margins(0.0), 100.0, first_step=5.0, tolerance=0.5)
    assert 37.3 - 0.5 <= found.point <= 37.3
    assert found.margin >= 0
    assert found.evaluations <= 5


def test_searches_downwards_as_well() -> None:
    margins = linear(-20.0, slope=1.0)
    found = find_boundary(margins, 0.0, margins(0.0), -100.0, first_step=5.0, tolerance=0.5)
    assert -20.0 <= found.point <= -19.5


def test_a_safe_far_end_is_the_answer() -> None:
    margins = linear(500.0)
    found = find_boundary(margins, 0.0, margins(0.0), 100.0, first_step=5.0, tolerance=0.5)
    assert found.point == 100.0 and found.reached_end


def test_points_where_the_power_flow_diverged_are_bisected() -> None:
    def margins(x: float) -> np.ndarray:
        return np.array([np.nan]) if x > 42.0 else np.array([1.0])

    found = find_boundary(margins, 0.0, margins(0.0), 100.0, first_step=10.0, tolerance=0.5)
    assert 41.5 <= found.point <= 42.0


def test_an_element_near_its_bound_that_does_not_move_is_no_boundary() -> None:
    def margins(x: float) -> np.ndarray:
        return np.array([0.2, 60.0 - x])  # another community's transformer at its own limit

    found = find_boundary(margins, 0.0, margins(0.0), 100.0, first_step=5.0, tolerance=0.5)
    assert 59.5 <= found.point <= 60.0


def test_the_binding_element_may_change_on_the_way() -> None:
    def margins(x: float) -> np.ndarray:
        return np.array([10.0 - 0.01 * x, 50.0 - x])  # the voltage binds first, then a cable

    found = find_boundary(margins, 0.0, margins(0.0), 100.0, first_step=5.0, tolerance=0.5)
    assert 49.5 <= found.point <= 50.0


def test_the_start_must_be_safe() -> None:
    with pytest.raises(ValueError, match="safe"):
        find_boundary(
            lambda x: np.array([-1.0]), 0.0, np.array([-1.0]), 10.0, first_step=1.0, tolerance=0.1
        )
