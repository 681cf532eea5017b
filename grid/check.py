"""After a slot: is the cleared schedule safe for the network?

A :class:`ScheduleReport` lists every line or transformer above its loading bound and every
bus outside the voltage band for one power flow of the cleared per-household net energies,
plus every community whose cleared exchange broke its published limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from grid.limits import Direction, PowerFlowDiverged
from grid.network import GridNetwork
from grid.powerflow import FlowResult, OperatingBounds


class ViolationKind(StrEnum):
    """Which bound an element broke."""

    LINE_OVERLOAD = "line_overload"
    TRAFO_OVERLOAD = "trafo_overload"
    UNDERVOLTAGE = "undervoltage"
    OVERVOLTAGE = "overvoltage"


@dataclass(frozen=True, slots=True)
class Violation:
    """One element outside its bound.

    Attributes:
        kind: which bound.
        element: index of the line, transformer or bus in the pandapower net.
        name: its shipped name.
        value: loading in percent, or voltage in per unit.
        bound: the bound it broke (same unit).
    """

    kind: ViolationKind
    element: int
    name: str
    value: float
    bound: float


@dataclass(frozen=True, slots=True)
class ExchangeBreach:
    """A community whose cleared exchange went beyond its published limit.

    Attributes:
        community_id: the community.
        direction: the limit it broke.
        exchange_wh: its cleared exchange (positive = export).
        limit_wh: the published limit in that direction.
    """

    community_id: str
    direction: Direction
    exchange_wh: float
    limit_wh: int


@dataclass(frozen=True, slots=True)
class ScheduleReport:
    """The verdict on one slot's cleared schedule.

    Attributes:
        slot: the slot.
        converged: whether the power flow converged (no verdict on elements when not).
        violations: elements outside their bounds.
        breaches: communities beyond their published limits (when limits were given).
        max_line_loading: highest line loading in percent (NaN when not converged).
        max_trafo_loading: highest transformer loading in percent.
        v_min_pu: lowest bus voltage.
        v_max_pu: highest bus voltage.
        event: the divergence, when the power flow did not converge.
    """

    slot: int
    converged: bool
    violations: tuple[Violation, ...]
    breaches: tuple[ExchangeBreach, ...]
    max_line_loading: float
    max_trafo_loading: float
    v_min_pu: float
    v_max_pu: float
    event: PowerFlowDiverged | None = None

    @property
    def ok(self) -> bool:
        """Converged, no element outside its bounds and no community beyond its limits."""
        return self.converged and not self.violations and not self.breaches


def violations_of(
    result: FlowResult, network: GridNetwork, bounds: OperatingBounds
) -> tuple[Violation, ...]:
    """Every element of a converged power flow outside ``bounds``, worst first per kind."""
    net = network.net
    found: list[Violation] = []
    for kind, values, table in (
        (ViolationKind.LINE_OVERLOAD, result.line_loading, net.line),
        (ViolationKind.TRAFO_OVERLOAD, result.trafo_loading, net.trafo),
    ):
        over = np.flatnonzero(np.nan_to_num(values, nan=-np.inf) > bounds.max_loading_percent)
        for position in over[np.argsort(-values[over])]:
            index = int(table.index[position])
            found.append(
                Violation(
                    kind,
                    index,
                    str(table.name.iat[position]),
                    float(values[position]),
                    bounds.max_loading_percent,
                )
            )
    vm = result.vm_pu
    for kind, mask, bound in (
        (ViolationKind.UNDERVOLTAGE, np.nan_to_num(vm, nan=1.0) < bounds.v_min_pu, bounds.v_min_pu),
        (ViolationKind.OVERVOLTAGE, np.nan_to_num(vm, nan=1.0) > bounds.v_max_pu, bounds.v_max_pu),
    ):
        buses = np.flatnonzero(mask)
        order = np.argsort(np.abs(vm[buses] - bound))[::-1]
        found.extend(
            Violation(kind, int(b), network.bus_name(int(b)), float(vm[b]), bound)
            for b in buses[order]
        )
    return tuple(found)


def report(
    slot: int,
    result: FlowResult,
    network: GridNetwork,
    bounds: OperatingBounds,
    breaches: tuple[ExchangeBreach, ...] = (),
) -> ScheduleReport:
    """The report of one power flow of a cleared schedule."""
    if not result.converged:
        nan = float("nan")
        return ScheduleReport(
            slot, False, (), breaches, nan, nan, nan, nan, PowerFlowDiverged(slot, "schedule")
        )
    return ScheduleReport(
        slot=slot,
        converged=True,
        violations=violations_of(result, network, bounds),
        breaches=breaches,
        max_line_loading=float(np.nanmax(result.line_loading)),
        max_trafo_loading=float(np.nanmax(result.trafo_loading)),
        v_min_pu=float(np.nanmin(result.vm_pu)),
        v_max_pu=float(np.nanmax(result.vm_pu)),
    )
