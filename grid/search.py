"""Where a safety margin runs out along a line: the search behind every transfer limit.

:func:`find_boundary` walks from a safe point towards a far end and returns the farthest point
it has *seen* safe (a power flow ran there and every watched element was within its bound). It
never returns a point it only estimated. The margin is a vector, one value per watched element
(line, transformer, bus); each is close to linear along the search line, but which element
binds can change on the way, so every element is extrapolated on its own (secant
sensitivities) and the nearest predicted crossing is taken:

1. Expansion: a first step, then a jump to the nearest crossing predicted from the last two
   points (aimed 5 % beyond it, so the next point usually lands just past the boundary and
   brackets it), or a doubled step when no element is getting closer to its bound; until a
   point is unsafe or the far end is safe.
2. Bracketing: false position per element between the safe and the unsafe end (the nearest
   predicted crossing), kept at least 2 % of the bracket inside it, so that every step shrinks
   the bracket; a point where the power flow diverged has no margins and is handled by
   bisection.

It stops when the bracket is narrower than ``tolerance``, when the nearest predicted crossing
is less than ``tolerance`` beyond the safe end, or after ``max_evaluations`` margins. (A
threshold on the margin itself would stop too early: an element that sits close to its bound
but does not move along the line, e.g. another community's transformer at its own limit, is
no boundary.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

OVERSHOOT = 1.05
"""Expansion aims this far past the predicted crossing, to bracket it in one step."""

INSIDE = 0.02
"""A bracketing step stays this share of the bracket away from either end."""


@dataclass(frozen=True, slots=True)
class Boundary:
    """Result of :func:`find_boundary`.

    Attributes:
        point: the farthest point seen safe.
        margin: its smallest element margin (>= 0).
        evaluations: margins computed.
        reached_end: the far end itself was safe.
    """

    point: float
    margin: float
    evaluations: int
    reached_end: bool


def find_boundary(
    margins: Callable[[float], FloatArray],
    start: float,
    start_margins: FloatArray,
    end: float,
    *,
    first_step: float,
    tolerance: float,
    max_evaluations: int = 24,
) -> Boundary:
    """The farthest point from ``start`` towards ``end`` where every margin is ``>= 0``.

    Args:
        margins: the element margins at a point (all -inf or NaN where they cannot be
            computed, e.g. a power flow that diverged; +inf for an element that cannot bind).
        start: a safe point.
        start_margins: ``margins(start)`` (all >= 0), already known.
        end: the far end of the search.
        first_step: length of the first step (> 0).
        tolerance: stop when the boundary is known this closely.
        max_evaluations: most margins to compute.

    Raises:
        ValueError: an unsafe start, or a non-positive step or tolerance.
    """
    start_g = _smallest(start_margins)
    if not start_g >= 0:
        raise ValueError(f"the start must be safe, its smallest margin is {start_g}")
    if not (first_step > 0 and tolerance > 0):
        raise ValueError("first_step and tolerance must be > 0")
    span = abs(end - start)
    sign = 1.0 if end >= start else -1.0
    if span == 0.0:
        return Boundary(start, start_g, 0, True)

    def at(t: float) -> float:
        return start + sign * t

    ok_t, ok_m = 0.0, np.asarray(start_margins, dtype=np.float64)
    evaluations = 0
    t = min(first_step, span)
    while True:
        m = np.asarray(margins(at(t)), dtype=np.float64)
        evaluations += 1
        g = _smallest(m)
        if not g >= 0:
            bad_t, bad_m = t, m
            break
        previous_t, previous_m = ok_t, ok_m
        ok_t, ok_m = t, m
        if t >= span:
            return Boundary(at(span), g, evaluations, True)
        crossing = _nearest_crossing(previous_t, previous_m, t, m)
        close = crossing is not None and crossing - t <= tolerance
        if close or evaluations >= max_evaluations:
            return Boundary(at(t), g, evaluations, False)
        t_next = t + OVERSHOOT * (crossing - t) if crossing is not None else 2.0 * t
        t = min(max(t_next, t + tolerance), span)
    while bad_t - ok_t > tolerance and evaluations < max_evaluations:
        width = bad_t - ok_t
        crossing = _nearest_crossing(ok_t, ok_m, bad_t, bad_m)
        t = ok_t + 0.5 * width if crossing is None else crossing
        t = min(max(t, ok_t + INSIDE * width), bad_t - INSIDE * width)
        m = np.asarray(margins(at(t)), dtype=np.float64)
        evaluations += 1
        if _smallest(m) >= 0:
            ok_t, ok_m = t, m
        else:
            bad_t, bad_m = t, m
    return Boundary(at(ok_t), _smallest(ok_m), evaluations, False)


def _smallest(margins: FloatArray) -> float:
    """The binding margin: NaN when any is NaN or -inf (no power flow), +inf when empty."""
    if margins.size == 0:
        return math.inf
    if np.isnan(margins).any():
        return math.nan
    value = float(margins.min())
    return math.nan if value == -math.inf else value


def _nearest_crossing(t0: float, m0: FloatArray, t1: float, m1: FloatArray) -> float | None:
    """Where the first element reaches zero on the line through ``(t0, m0)`` and ``(t1, m1)``
    (beyond ``t0``), per element; None when no finite element gets closer to its bound."""
    with np.errstate(invalid="ignore", divide="ignore"):
        finite = np.isfinite(m0) & np.isfinite(m1)
        slope = np.where(finite, (m1 - m0) / (t1 - t0), 0.0)
        falling = finite & (slope < 0)
        if not falling.any():
            return None
        zeros = t0 + m0[falling] / -slope[falling]
    return float(zeros.min())
