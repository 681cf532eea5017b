"""Communities as groups of feeders, and households placed on their connection buses.

* :func:`partition` splits a network's feeders (in network order: LV network by LV network)
  into ``n`` contiguous groups with about the same number of connection buses each: a
  community is a group of whole feeders, usually of one or two neighbouring LV networks.
* :func:`assign_households` puts each community's households on its connection buses,
  deterministically from a seed: the buses are shuffled once per community and households are
  dealt onto them in turn (several households share a bus when there are more households than
  buses, as in a block of flats).
* :func:`place_households` takes an explicit placement and checks every bus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from grid.errors import InjectionError, LayoutError, UnknownBusError
from grid.network import GridNetwork

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class CommunityArea:
    """The part of the network a community owns.

    Attributes:
        id: community id (``c01``, ``c02``, ... unless given).
        feeders: ids of its feeders.
        load_buses: its connection buses, sorted.
    """

    id: str
    feeders: tuple[str, ...]
    load_buses: tuple[int, ...]


def partition(
    network: GridNetwork, n_communities: int, ids: Sequence[str] | None = None
) -> tuple[CommunityArea, ...]:
    """Split the feeders of ``network`` into ``n_communities`` contiguous, balanced groups.

    Raises:
        LayoutError: fewer feeders than communities, or ``ids`` of the wrong length or repeated.
    """
    feeders = network.feeders
    if n_communities < 1:
        raise LayoutError(f"need at least one community, got {n_communities}")
    if n_communities > len(feeders):
        raise LayoutError(
            f"network {network.name!r} has {len(feeders)} feeders; it cannot hold "
            f"{n_communities} communities (a community is one or more whole feeders)"
        )
    names = list(ids) if ids is not None else [f"c{k + 1:02d}" for k in range(n_communities)]
    if len(names) != n_communities or len(set(names)) != n_communities:
        raise LayoutError(f"need {n_communities} distinct community ids, got {names}")
    sizes = np.array([len(f.load_buses) for f in feeders], dtype=np.float64)
    prefix = np.concatenate([[0.0], np.cumsum(sizes)])
    total = prefix[-1]
    cuts = [0]
    for k in range(1, n_communities):
        low, high = cuts[-1] + 1, len(feeders) - (n_communities - k)
        candidates = np.arange(low, high + 1)
        target = k * total / n_communities
        cuts.append(int(candidates[np.argmin(np.abs(prefix[candidates] - target))]))
    cuts.append(len(feeders))
    areas = []
    for name, lo, hi in zip(names, cuts[:-1], cuts[1:], strict=True):
        group = feeders[lo:hi]
        buses = tuple(sorted(b for f in group for b in f.load_buses))
        areas.append(CommunityArea(id=name, feeders=tuple(f.id for f in group), load_buses=buses))
    return tuple(areas)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one household connects."""

    household_id: str
    community_id: str
    bus: int


@dataclass(frozen=True, slots=True)
class HouseholdMap:
    """Every household's community and connection bus, in a fixed order.

    Arrays passed to the grid operator (net energies, weights) follow :attr:`household_ids`.

    Attributes:
        network: the network the buses belong to.
        communities: the communities, in order.
        placements: one per household.
    """

    network: GridNetwork
    communities: tuple[CommunityArea, ...]
    placements: tuple[Placement, ...]
    _index: dict[str, int] = field(init=False, repr=False)
    _community: IntArray = field(init=False, repr=False)
    _bus_position: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index = {p.household_id: k for k, p in enumerate(self.placements)}
        if len(index) != len(self.placements):
            raise LayoutError("a household id appears twice in the placement")
        community_index = {c.id: k for k, c in enumerate(self.communities)}
        bus_position = {b: k for k, b in enumerate(self.network.load_buses)}
        object.__setattr__(self, "_index", index)
        object.__setattr__(
            self,
            "_community",
            np.array([community_index[p.community_id] for p in self.placements], dtype=np.int64),
        )
        object.__setattr__(
            self,
            "_bus_position",
            np.array([bus_position[p.bus] for p in self.placements], dtype=np.int64),
        )

    @property
    def household_ids(self) -> tuple[str, ...]:
        """Household ids in array order."""
        return tuple(p.household_id for p in self.placements)

    def __len__(self) -> int:
        return len(self.placements)

    def members(self, community: int) -> IntArray:
        """Array positions of the households of the ``community``-th community."""
        return np.flatnonzero(self._community == community)

    def community_of(self) -> IntArray:
        """Community position of every household."""
        return self._community.copy()

    def bus_p_mw(self, net_kw: FloatArray) -> FloatArray:
        """Load per connection bus (MW, order of ``network.load_buses``) for household net
        power ``net_kw`` (kW, positive = consumption)."""
        return (
            np.bincount(self._bus_position, weights=net_kw, minlength=len(self.network.load_buses))
            / 1000.0
        )

    def vector(self, values: Mapping[str, float] | Sequence[float] | FloatArray) -> FloatArray:
        """``values`` (by household id, or already in array order) as an array in array order.

        Raises:
            InjectionError: a missing or unknown household, a wrong length or a non-finite value.
        """
        if isinstance(values, Mapping):
            unknown = sorted(set(values) - set(self._index))
            if unknown:
                raise InjectionError(f"unknown households: {', '.join(unknown[:5])}")
            missing = [h for h in self._index if h not in values]
            if missing:
                raise InjectionError(f"no value for households: {', '.join(missing[:5])}")
            out = np.array([float(values[h]) for h in self._index], dtype=np.float64)
        else:
            out = np.asarray(values, dtype=np.float64)
            if out.shape != (len(self),):
                raise InjectionError(
                    f"need {len(self)} values (one per household), got {out.shape}"
                )
        if not np.isfinite(out).all():
            raise InjectionError("net energies must be finite numbers")
        return out


def assign_households(
    network: GridNetwork,
    communities: Sequence[CommunityArea],
    members: Mapping[str, Sequence[str]],
    seed: int = 0,
) -> HouseholdMap:
    """Place each community's ``members`` on its connection buses, deterministically from
    ``seed`` (see the module docstring).

    Raises:
        LayoutError: a community in ``members`` that is not in ``communities`` (or one without
            members), or a household in two communities.
    """
    known = {c.id: k for k, c in enumerate(communities)}
    unknown = sorted(set(members) - set(known))
    if unknown:
        raise LayoutError(f"unknown communities: {', '.join(unknown)}")
    placements: list[Placement] = []
    for community in communities:
        households = list(members.get(community.id, ()))
        if not households:
            raise LayoutError(f"community {community.id} has no households")
        rng = np.random.default_rng([seed, known[community.id]])
        buses = rng.permutation(np.array(community.load_buses, dtype=np.int64))
        placements.extend(
            Placement(h, community.id, int(buses[k % buses.size])) for k, h in enumerate(households)
        )
    return HouseholdMap(network, tuple(communities), tuple(placements))


def place_households(
    network: GridNetwork,
    communities: Sequence[CommunityArea],
    placements: Iterable[tuple[str, str, int]],
) -> HouseholdMap:
    """An explicit placement ``(household id, community id, bus)``, every bus checked.

    Raises:
        UnknownBusError: a bus the network does not have, or not a connection bus of the
            household's community.
        LayoutError: an unknown community or a household placed twice.
    """
    areas = {c.id: c for c in communities}
    checked = []
    for household, community_id, bus in placements:
        area = areas.get(community_id)
        if area is None:
            raise LayoutError(f"household {household}: unknown community {community_id!r}")
        if bus not in network.net.bus.index:
            raise UnknownBusError(
                f"household {household} is mapped to bus {bus}, which network "
                f"{network.name!r} does not have (buses 0..{network.n_buses - 1})"
            )
        if bus not in area.load_buses:
            raise UnknownBusError(
                f"household {household} is mapped to bus {bus} ({network.bus_name(bus)}), "
                f"which is not a house connection of community {community_id}"
            )
        checked.append(Placement(household, community_id, int(bus)))
    return HouseholdMap(network, tuple(communities), tuple(checked))


def move_households(placed: HouseholdMap, moves: Mapping[str, int]) -> HouseholdMap:
    """``placed`` with the households named in ``moves`` on the buses given there, every bus
    checked by :func:`place_households`; the others keep theirs.

    Raises:
        LayoutError: a household that is not in ``placed``.
        UnknownBusError: a bus the network does not have, or not a house connection of the
            household's community.
    """
    known = set(placed.household_ids)
    for household in moves:
        if household not in known:
            example = placed.household_ids[0] if known else "c01/h000"
            raise LayoutError(
                f"household {household!r} is not in the city (households are named "
                f"<community>/<household>, e.g. {example})"
            )
    return place_households(
        placed.network,
        placed.communities,
        (
            (p.household_id, p.community_id, moves.get(p.household_id, p.bus))
            for p in placed.placements
        ),
    )
