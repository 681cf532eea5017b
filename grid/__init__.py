"""The grid agent: power flows on pandapower's benchmark networks, transfer limits per
community and slot, and a check of cleared schedules (docs/grid.md).

Modules: :mod:`grid.catalogue` (networks by name), :mod:`grid.network` (a prepared network and
its feeders), :mod:`grid.layout` (communities and households on buses), :mod:`grid.powerflow`
(engines), :mod:`grid.search` (the boundary search), :mod:`grid.operator` (limits and checks),
:mod:`grid.limits` (what is published, and events), :mod:`grid.check` (schedule reports),
:mod:`grid.households` (net energies of the agents' real-data households), :mod:`grid.benchmark`.
"""

from grid.catalogue import NETWORKS, build_network
from grid.check import ExchangeBreach, ScheduleReport, Violation, ViolationKind
from grid.errors import (
    GridError,
    InjectionError,
    LayoutError,
    LimitsError,
    UnknownBusError,
    UnknownNetworkError,
)
from grid.layout import CommunityArea, HouseholdMap, assign_households, partition, place_households
from grid.limits import (
    Direction,
    Envelope,
    ForecastScaled,
    ForecastViolation,
    GridEvent,
    JointReduction,
    LimitsKept,
    NoFeasibleExchange,
    PowerFlowDiverged,
    SlotLimits,
    TransferLimits,
)
from grid.network import Feeder, GridNetwork
from grid.operator import ExchangeWeights, GridOperator, SearchSettings
from grid.powerflow import EN50160, Engine, FlowResult, OperatingBounds

__all__ = [
    "EN50160",
    "NETWORKS",
    "CommunityArea",
    "Direction",
    "Engine",
    "Envelope",
    "ExchangeBreach",
    "ExchangeWeights",
    "Feeder",
    "FlowResult",
    "ForecastScaled",
    "ForecastViolation",
    "GridError",
    "GridEvent",
    "GridNetwork",
    "GridOperator",
    "HouseholdMap",
    "InjectionError",
    "JointReduction",
    "LayoutError",
    "LimitsError",
    "LimitsKept",
    "NoFeasibleExchange",
    "OperatingBounds",
    "PowerFlowDiverged",
    "ScheduleReport",
    "SearchSettings",
    "SlotLimits",
    "TransferLimits",
    "UnknownBusError",
    "UnknownNetworkError",
    "Violation",
    "ViolationKind",
    "assign_households",
    "build_network",
    "partition",
    "place_households",
]
