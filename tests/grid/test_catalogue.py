"""The network catalogue: shipped networks by name, prepared, deterministic, cached."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from grid.catalogue import NETWORKS, build_network
from grid.errors import UnknownNetworkError
from grid.network import GridNetwork

SMALL = [
    "cigre-lv",
    "kerber-landnetz-kabel-1",
    "kerber-landnetz-freileitung-2",
    "kerber-dorfnetz",
    "cigre-mv-kerber-small",
]


@pytest.mark.parametrize("name", SMALL)
def test_every_connection_bus_belongs_to_exactly_one_feeder(
    network: Callable[[str], GridNetwork], name: str
) -> None:
    grid = network(name)
    in_feeders = [b for f in grid.feeders for b in f.load_buses]
    assert sorted(in_feeders) == list(grid.load_buses)
    assert len(grid.load_buses) > 0


@pytest.mark.parametrize("name", SMALL)
def test_prepared_networks_have_no_switches_and_contiguous_buses(
    network: Callable[[str], GridNetwork], name: str
) -> None:
    grid = network(name)
    assert len(grid.net.switch) == 0
    assert list(grid.net.bus.index) == list(range(grid.n_buses))


def test_cigre_mv_open_switches_become_lines_out_of_service(
    network: Callable[[str], GridNetwork],
) -> None:
    grid = network("cigre-mv-kerber-small")
    # CIGRE MV ships three open load-break switches (S1, S2, S3) that keep its feeders radial
    assert int((~grid.net.line.in_service.astype(bool)).sum()) == 3


def test_the_city_network_hangs_ten_kerber_lv_networks_under_cigre_mv(
    network: Callable[[str], GridNetwork],
) -> None:
    grid = network("cigre-mv-kerber")
    lv_networks = {f.lv_network for f in grid.feeders}
    assert len(lv_networks) == 10
    assert len(grid.load_buses) == 656
    lv_trafos = grid.net.trafo[grid.net.trafo.vn_lv_kv < 1.0]
    assert set(lv_trafos.vn_hv_kv) == {20.0}


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNetworkError, match="cigre-lv"):
        build_network("cigre-hv", cache=None)


def test_a_name_is_always_the_same_network_and_the_callers_random_state_is_kept() -> None:
    random.seed(1234)
    expected_next = random.random()
    random.seed(1234)
    first = build_network("kerber-dorfnetz", cache=None)
    assert random.random() == expected_next
    second = build_network("kerber-dorfnetz", cache=None)
    assert list(first.net.line.std_type) == list(second.net.line.std_type)


def test_a_cached_network_equals_a_fresh_build(tmp_path: Path) -> None:
    built = build_network("kerber-landnetz-kabel-1", cache=tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
    cached = build_network("kerber-landnetz-kabel-1", cache=tmp_path)
    assert cached is not built
    assert cached.feeders == built.feeders
    assert cached.net.line.equals(built.net.line)


def test_the_catalogue_names_the_shipped_networks() -> None:
    assert {"cigre-lv", "kerber-landnetz-kabel-1", "kerber-vorstadtnetz-kabel-1"} <= set(NETWORKS)
    assert "cigre-mv-kerber" in NETWORKS
