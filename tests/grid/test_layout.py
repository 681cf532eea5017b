"""Communities from feeders; households on their community's connection buses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from grid.errors import InjectionError, LayoutError, UnknownBusError
from grid.layout import HouseholdMap, assign_households, partition, place_households
from grid.network import GridNetwork


def test_communities_are_contiguous_balanced_groups_of_whole_feeders(
    network: Callable[[str], GridNetwork],
) -> None:
    grid = network("cigre-mv-kerber")
    areas = partition(grid, 10)
    assert [f for a in areas for f in a.feeders] == [f.id for f in grid.feeders]
    sizes = [len(a.load_buses) for a in areas]
    assert sum(sizes) == 656
    assert max(sizes) - min(sizes) <= 40  # about 66 connections each, whole feeders only


def test_more_communities_than_feeders_is_refused(network: Callable[[str], GridNetwork]) -> None:
    with pytest.raises(LayoutError, match="2 feeders"):
        partition(network("kerber-landnetz-kabel-1"), 3)


def test_the_placement_follows_the_seed(placed: Callable[[str, int, int], HouseholdMap]) -> None:
    first, again = placed("cigre-lv", 3, 12), placed("cigre-lv", 3, 12)
    assert first.placements == again.placements
    grid = first.network
    other = assign_households(
        grid,
        first.communities,
        {c.id: [f"{c.id}/x{j}" for j in range(12)] for c in first.communities},
        seed=8,
    )
    assert [p.bus for p in other.placements] != [p.bus for p in first.placements]


def test_every_household_sits_on_a_connection_bus_of_its_own_community(
    placed: Callable[[str, int, int], HouseholdMap],
) -> None:
    households = placed("cigre-mv-kerber-small", 3, 25)
    areas = {c.id: set(c.load_buses) for c in households.communities}
    assert all(p.bus in areas[p.community_id] for p in households.placements)
    # more households than buses: every bus of a community is used before any is used twice
    first = [p.bus for p in households.placements if p.community_id == "c01"]
    assert len(set(first)) == len(areas["c01"])


def test_a_household_on_a_bus_the_network_does_not_have_is_a_clear_error(
    network: Callable[[str], GridNetwork],
) -> None:
    grid = network("kerber-landnetz-kabel-1")
    areas = partition(grid, 1)
    with pytest.raises(UnknownBusError, match=r"household h1 is mapped to bus 999, .*0\.\.17"):
        place_households(grid, areas, [("h1", "c01", 999)])


def test_a_household_on_another_communitys_bus_is_a_clear_error(
    network: Callable[[str], GridNetwork],
) -> None:
    grid = network("kerber-landnetz-kabel-1")
    areas = partition(grid, 2)
    foreign = areas[1].load_buses[0]
    with pytest.raises(UnknownBusError, match="not a house connection of community c01"):
        place_households(grid, areas, [("h1", "c01", foreign)])


def test_values_by_household_id_must_name_every_household_once(
    placed: Callable[[str, int, int], HouseholdMap],
) -> None:
    households = placed("kerber-landnetz-kabel-1", 1, 3)
    ids = households.household_ids
    assert households.vector({h: 1.0 for h in ids}).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(InjectionError, match="no value"):
        households.vector({ids[0]: 1.0})
    with pytest.raises(InjectionError, match="unknown households: ghost"):
        households.vector({**{h: 1.0 for h in ids}, "ghost": 2.0})
    with pytest.raises(InjectionError, match="finite"):
        households.vector(np.array([1.0, np.nan, 0.0]))
    with pytest.raises(InjectionError, match="need 3 values"):
        households.vector([1.0])
