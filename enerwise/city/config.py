"""What ``enerwise city`` runs (:class:`CityConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.data.calendar import SLOTS_PER_DAY


@dataclass(frozen=True, slots=True)
class CityConfig:
    """What ``enerwise city`` runs.

    Attributes:
        communities: community markets (groups of feeders).
        households: real-data households per community.
        day: the data day (``YYYY-MM-DD``, 2015 or 2018).
        slots: slots from midnight (at most 96).
        network: a network of ``grid.catalogue.NETWORKS``.
        seed: households, placement and keys.
        forecast: ``naive`` or ``perfect`` (what the limits are computed on).
        grid_fee_ticks: price ticks of grid fee per network level crossed.
        levels: network levels between every community and the pool.
        deposit_eur: what every household deposits in its market's vault.
        moves: households put on other buses than the seeded placement's (``{id: bus}``).
        battery_policy: what the battery owners' agents run: ``halfway`` (the demo's rule, the
            default: its step is cheap enough for a city), ``ppo`` (the demo's pretrained
            policy, about ten times the step's cost: docs/pool.md) or ``truthful`` (no agents:
            every household bids truthfully, batteries in self-consumption).
    """

    communities: int
    households: int
    day: str
    slots: int = SLOTS_PER_DAY
    network: str = "cigre-mv-kerber"
    seed: int = 0
    forecast: str = "naive"
    grid_fee_ticks: int = 50
    levels: int = 1
    deposit_eur: int = 1_000
    moves: dict[str, int] = field(default_factory=dict)
    battery_policy: str = "halfway"


BATTERY_POLICIES = ("ppo", "halfway", "truthful")
"""What ``--agent-policy`` may name (:attr:`CityConfig.battery_policy`)."""
