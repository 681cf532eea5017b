"""The networks the grid agent can run on, by name: pandapower's shipped benchmark networks.

Nothing is downloaded: every network is built by a function of :mod:`pandapower.networks`
(the CIGRE task force C6.04 benchmark networks and the Kerber networks, G. Kerber, "Aufnahme-
fähigkeit von Niederspannungsverteilnetzen für die Einspeisung aus Photovoltaikkleinanlagen",
TU München 2011), or assembled from them:

* ``cigre-lv``: the CIGRE European LV network (residential, industrial and commercial
  sub-networks, each behind its own 20/0.4 kV transformer).
* ``kerber-*``: the Kerber rural (``landnetz``), village (``dorfnetz``) and suburban
  (``vorstadtnetz``) networks, one 10/0.4 kV transformer each.
* ``cigre-mv-kerber``: the CIGRE European MV network (20 kV, two feeders with their open
  switches, no DER) with its residential loads replaced by ten Kerber LV networks hung under
  the residential buses through their own 20/0.4 kV transformers (the Kerber transformers with
  their per-unit data, rated 20 kV on the high side); the commercial/industrial loads stay as a
  fixed background. 656 house connections.
* ``cigre-mv-kerber-small``: the same MV network with three small rural LV networks (30
  connections); fast to build, for tests and quick runs.
"""

from __future__ import annotations

import os
import pickle
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from grid.errors import UnknownNetworkError
from grid.network import GridNetwork, prepare, quiet

KERBER = {
    "kerber-landnetz-kabel-1": "create_kerber_landnetz_kabel_1",
    "kerber-landnetz-kabel-2": "create_kerber_landnetz_kabel_2",
    "kerber-landnetz-freileitung-1": "create_kerber_landnetz_freileitung_1",
    "kerber-landnetz-freileitung-2": "create_kerber_landnetz_freileitung_2",
    "kerber-dorfnetz": "create_kerber_dorfnetz",
    "kerber-vorstadtnetz-kabel-1": "create_kerber_vorstadtnetz_kabel_1",
    "kerber-vorstadtnetz-kabel-2": "create_kerber_vorstadtnetz_kabel_2",
}
"""Catalogue name -> the :mod:`pandapower.networks` function that builds it."""

CITY_LV_NETWORKS: tuple[tuple[int, str], ...] = (
    (3, "kerber-landnetz-freileitung-1"),
    (3, "kerber-landnetz-kabel-2"),
    (4, "kerber-dorfnetz"),
    (5, "kerber-vorstadtnetz-kabel-1"),
    (6, "kerber-dorfnetz"),
    (8, "kerber-vorstadtnetz-kabel-2"),
    (10, "kerber-dorfnetz"),
    (11, "kerber-landnetz-kabel-1"),
    (11, "kerber-landnetz-kabel-2"),
    (14, "kerber-vorstadtnetz-kabel-1"),
)
"""``(CIGRE MV bus, Kerber network)`` pairs of ``cigre-mv-kerber``: one LV network per
residential MV load (two on the buses with the smallest ones)."""

SMALL_CITY_LV_NETWORKS: tuple[tuple[int, str], ...] = (
    (3, "kerber-landnetz-kabel-1"),
    (8, "kerber-landnetz-freileitung-2"),
    (11, "kerber-landnetz-kabel-2"),
)


@dataclass(frozen=True, slots=True)
class NetworkEntry:
    """One name of the catalogue."""

    name: str
    description: str
    build: Callable[[], GridNetwork]


def _shipped(function: str) -> Any:
    """Build a shipped network. The Kerber builders draw each branch-out cable type (NAYY 4x50
    or NYY 4x35) from Python's global ``random``: seed it from the function name for the build,
    so a name is always the same network, and give the caller's random state back."""
    import pandapower.networks as pn

    state = random.getstate()
    random.seed(zlib.crc32(function.encode()))
    try:
        with quiet():
            return getattr(pn, function)()
    finally:
        random.setstate(state)


def _cigre_lv() -> GridNetwork:
    net = _shipped("create_cigre_network_lv")
    names = {int(t): str(n).removeprefix("Trafo ") for t, n in net.trafo.name.items()}
    with quiet():
        return prepare(net, "cigre-lv", net.load.index, lv_names=names)


def _kerber(name: str) -> GridNetwork:
    net = _shipped(KERBER[name])
    with quiet():
        return prepare(net, name, net.load.index, lv_names={int(net.trafo.index[0]): name})


def attach_lv_networks(
    mv: Any, attachments: Sequence[tuple[int, str]]
) -> tuple[Any, list[int], dict[int, str]]:
    """Hang Kerber LV networks under buses of an MV network.

    Each LV network keeps its lines, buses, loads and transformer; its external grid is
    dropped and its transformer's high side moves onto the MV bus (rated at that bus's voltage,
    with the same per-unit impedances).

    Returns:
        ``(net, household load indices, {transformer index: LV network name})``; the names
        are ``<kerber name>@<mv bus>`` (with ``#2`` on a repeat at the same bus).
    """
    net = mv
    shipped: dict[str, Any] = {}
    household_loads: list[int] = []
    lv_names: dict[int, str] = {}
    for mv_bus, kind in attachments:
        if kind not in shipped:
            shipped[kind] = _shipped(KERBER[kind])
        lv = shipped[kind]
        offset = int(net.bus.index.max()) + 1
        hv = int(lv.ext_grid.bus.iloc[0])
        bus_map = {int(b): (mv_bus if int(b) == hv else int(b) + offset) for b in lv.bus.index}
        buses = lv.bus.drop(index=hv)
        buses.index = buses.index + offset
        net.bus = pd.concat([net.bus, buses])
        for table, columns in (("line", ("from_bus", "to_bus")), ("trafo", ("hv_bus", "lv_bus"))):
            rows = lv[table].copy()
            for column in columns:
                rows[column] = rows[column].map(bus_map)
            start = int(net[table].index.max()) + 1 if len(net[table]) else 0
            rows.index = pd.RangeIndex(start, start + len(rows))
            if table == "trafo":
                rows["vn_hv_kv"] = float(net.bus.at[mv_bus, "vn_kv"])
                base = f"{kind}@{mv_bus}"
                label = base if base not in lv_names.values() else f"{base}#2"
                lv_names.update({int(t): label for t in rows.index})
            net[table] = pd.concat([net[table], rows])
        loads = lv.load.copy()
        loads["bus"] = loads["bus"].map(bus_map)
        start = int(net.load.index.max()) + 1 if len(net.load) else 0
        loads.index = pd.RangeIndex(start, start + len(loads))
        household_loads.extend(int(i) for i in loads.index)
        net.load = pd.concat([net.load, loads])
    return net, household_loads, lv_names


def _cigre_mv_kerber(name: str, attachments: Sequence[tuple[int, str]]) -> GridNetwork:
    mv = _shipped("create_cigre_network_mv")  # with_der=False is the default
    residential = mv.load.index[mv.load.name.str.startswith("Load R")]
    mv.load = mv.load.drop(index=residential)
    with quiet():
        net, household_loads, lv_names = attach_lv_networks(mv, attachments)
        return prepare(net, name, household_loads, lv_names=lv_names)


def _entries() -> dict[str, NetworkEntry]:
    entries = [
        NetworkEntry(
            "cigre-lv", "CIGRE European LV network: 3 LV networks, 15 connections", _cigre_lv
        ),
        *(
            NetworkEntry(
                name, f"Kerber network {name.removeprefix('kerber-')}", _kerber_builder(name)
            )
            for name in KERBER
        ),
        NetworkEntry(
            "cigre-mv-kerber",
            "CIGRE European MV network with 10 Kerber LV networks under it, 656 connections",
            lambda: _cigre_mv_kerber("cigre-mv-kerber", CITY_LV_NETWORKS),
        ),
        NetworkEntry(
            "cigre-mv-kerber-small",
            "CIGRE European MV network with 3 small Kerber LV networks, 30 connections",
            lambda: _cigre_mv_kerber("cigre-mv-kerber-small", SMALL_CITY_LV_NETWORKS),
        ),
    ]
    return {e.name: e for e in entries}


def _kerber_builder(name: str) -> Callable[[], GridNetwork]:
    return lambda: _kerber(name)


NETWORKS = _entries()
"""Every network by name."""


DEFAULT_CACHE = Path(os.environ.get("ENERWISE_GRID_CACHE", ".run/cache/grid"))
"""Where built networks are kept (``ENERWISE_GRID_CACHE`` overrides): pandapower builds the
Kerber networks line by line, ~7 s for ``cigre-mv-kerber``; a cached copy loads in ~15 ms."""

CACHE_VERSION = 1
"""Bump when :func:`prepare` or an assembly changes, so stale cached networks are not used."""


def build_network(name: str, cache: Path | None = DEFAULT_CACHE) -> GridNetwork:
    """Build the network ``name`` (a fresh object each call: power flows change it in place).

    Args:
        name: a name of :data:`NETWORKS`.
        cache: folder of built networks (keyed by name, pandapower version and
            :data:`CACHE_VERSION`); None builds from scratch and keeps nothing.

    Raises:
        UnknownNetworkError: ``name`` is not in :data:`NETWORKS`.
    """
    entry = NETWORKS.get(name)
    if entry is None:
        raise UnknownNetworkError(f"unknown network {name!r}; choose one of: {', '.join(NETWORKS)}")
    if cache is None:
        return entry.build()
    import pandapower

    path = cache / f"{name}-pandapower{pandapower.__version__}-v{CACHE_VERSION}.pickle"
    if path.is_file():
        # our own file, written below from a network we built: not untrusted input
        network: GridNetwork = pickle.loads(path.read_bytes())
        return network
    network = entry.build()
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(pickle.dumps(network))
    partial.replace(path)
    return network
