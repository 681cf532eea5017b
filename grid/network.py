"""A distribution network ready for the grid agent: a pandapower net plus its feeders.

:func:`prepare` turns a network as pandapower ships it into the form every other module of
this package relies on:

* switches are folded into the topology (the fast power-flow engine ignores switches): a closed
  bus-bus switch fuses its two buses, an open line or transformer switch takes that branch out
  of service, the rest are dropped;
* bus indices are made contiguous (``0..n-1``), so a bus index is also its position;
* every shipped load that marks a house connection is replaced by one household load per
  connection bus (``p_mw = 0`` until a power flow sets it); other loads stay as fixed background;
* the feeders are found: a feeder is the part of an LV network behind one line leaving the
  secondary busbar of its transformer (loads on the busbar itself join the first feeder).

Feeders are the bricks of communities (:mod:`grid.layout`).
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from grid.errors import LayoutError

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Feeder:
    """The part of an LV network behind one line leaving its transformer's busbar.

    Attributes:
        id: ``<lv network>/f<k>``, unique in the network.
        lv_network: name of the LV network (one per distribution transformer).
        trafo: index of the LV network's transformer.
        load_buses: the buses where households connect, sorted.
        buses: every bus of the feeder (including the busbar), sorted.
        lines: every line of the feeder, sorted.
    """

    id: str
    lv_network: str
    trafo: int
    load_buses: tuple[int, ...]
    buses: tuple[int, ...]
    lines: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GridNetwork:
    """A prepared network (see the module docstring).

    Attributes:
        name: the catalogue name it was built from.
        net: the pandapower net (contiguous bus indices, no switches).
        feeders: its feeders, in a stable order (by LV network, then by feeder).
        household_loads: ``{bus: index in net.load}`` of the household load of each connection
            bus.
        slack_bus: the bus of the external grid.
    """

    name: str
    net: Any
    feeders: tuple[Feeder, ...]
    household_loads: dict[int, int] = field(repr=False)
    slack_bus: int

    @property
    def n_buses(self) -> int:
        """Number of buses."""
        return len(self.net.bus)

    @property
    def load_buses(self) -> tuple[int, ...]:
        """Every household connection bus, sorted."""
        return tuple(sorted(self.household_loads))

    def bus_name(self, bus: int) -> str:
        """The shipped name of ``bus`` (its index when it has none)."""
        name = self.net.bus.at[bus, "name"]
        return str(name) if isinstance(name, str) and name else f"bus {bus}"

    def path_to_slack(self, bus: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """``(buses, lines, trafos)`` on the shortest path from ``bus`` up to the external grid."""
        graph = topology(self.net)
        nodes = nx.shortest_path(graph, bus, self.slack_bus)
        lines: list[int] = []
        trafos: list[int] = []
        for a, b in itertools.pairwise(nodes):
            kind, index = min(graph[a][b])
            (lines if kind == "line" else trafos).append(index)
        return tuple(nodes), tuple(lines), tuple(trafos)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence pandapower's logger and library warnings (NaN tap columns in shipped data,
    deprecated options, lightsim2grid's notes on conversion) inside a block."""
    logger = logging.getLogger("pandapower")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def topology(net: Any) -> nx.MultiGraph:
    """Buses as nodes, in-service lines and transformers as edges keyed ``(kind, index)``."""
    graph: nx.MultiGraph = nx.MultiGraph()
    graph.add_nodes_from(int(b) for b in net.bus.index[net.bus.in_service.to_numpy(bool)])
    for kind, a, b in (("line", "from_bus", "to_bus"), ("trafo", "hv_bus", "lv_bus")):
        table = net[kind]
        on = table[table.in_service.to_numpy(bool)]
        for index, u, v in zip(on.index, on[a], on[b], strict=True):
            graph.add_edge(int(u), int(v), key=(kind, int(index)))
    return graph


def fold_switches(net: Any) -> None:
    """Fold every switch into the topology (in place; see the module docstring)."""
    from pandapower.toolbox import fuse_buses

    switches = net.switch
    for _, sw in switches.iterrows():
        if sw.et == "l" and not sw.closed:
            net.line.at[int(sw.element), "in_service"] = False
        elif sw.et == "t" and not sw.closed:
            net.trafo.at[int(sw.element), "in_service"] = False
    closed_bb = switches[(switches.et == "b") & switches.closed.astype(bool)]
    pairs = [(int(s.bus), int(s.element)) for _, s in closed_bb.iterrows()]
    net.switch = switches.iloc[0:0]
    for keep, drop in pairs:
        if drop in net.bus.index and keep in net.bus.index and keep != drop:
            fuse_buses(net, keep, drop)


def prepare(
    net: Any,
    name: str,
    household_loads: Iterable[int],
    lv_names: dict[int, str] | None = None,
) -> GridNetwork:
    """Prepare a shipped network (in place) and find its feeders.

    Args:
        net: a pandapower net as built by :mod:`pandapower.networks` (or assembled from them).
        name: the catalogue name.
        household_loads: indices of the loads in ``net.load`` that mark house connections;
            the other loads stay as fixed background.
        lv_names: ``{transformer index: LV network name}`` (default ``lv<trafo>``); only
            transformers with a 0.4 kV side count as LV networks.

    Raises:
        LayoutError: the network has no house connection behind any LV transformer.
    """
    from pandapower import create_loads
    from pandapower.toolbox import create_continuous_bus_index

    connection_loads = set(household_loads)
    marked = net.load.loc[sorted(connection_loads), "bus"]
    net.bus["_household"] = False
    net.bus.loc[marked.to_numpy(int), "_household"] = True
    net.load = net.load.drop(index=sorted(connection_loads))
    fold_switches(net)
    with quiet():
        create_continuous_bus_index(net, start=0)
    marker = net.bus["_household"].to_numpy(bool)
    net.bus = net.bus.drop(columns="_household")
    slack_bus = int(net.ext_grid.bus.iloc[0])
    buses = [int(b) for b in np.flatnonzero(marker)]
    created = create_loads(net, buses, p_mw=0.0, q_mvar=0.0, name="households")
    loads = {bus: int(index) for bus, index in zip(buses, created, strict=True)}
    feeders = _find_feeders(net, loads, lv_names or {})
    if not feeders:
        raise LayoutError(f"network {name!r} has no house connection behind an LV transformer")
    return GridNetwork(
        name=name, net=net, feeders=feeders, household_loads=loads, slack_bus=slack_bus
    )


def _find_feeders(net: Any, loads: dict[int, int], lv_names: dict[int, str]) -> tuple[Feeder, ...]:
    graph = topology(net)
    feeders: list[Feeder] = []
    lv_trafos = net.trafo[(net.trafo.vn_lv_kv < 1.0) & net.trafo.in_service.astype(bool)]
    for trafo, busbar in zip(lv_trafos.index, lv_trafos.lv_bus, strict=True):
        lv_name = lv_names.get(int(trafo), f"lv{int(trafo)}")
        busbar = int(busbar)
        below = graph.copy()
        below.remove_node(busbar)
        groups: list[tuple[set[int], list[int]]] = []
        seen: set[int] = set()
        for neighbour in sorted(graph.neighbors(busbar)):
            keys = graph[busbar][neighbour]
            if neighbour in seen or not any(kind == "line" for kind, _ in keys):
                continue
            part = set(nx.node_connected_component(below, neighbour))
            seen |= part
            lines = sorted(
                i for _, _, (kind, i) in below.subgraph(part).edges(keys=True) if kind == "line"
            )
            lines += [i for kind, i in keys if kind == "line"]
            groups.append((part, lines))
        if not groups:
            continue
        groups[0][0].add(busbar)
        for k, (part, lines) in enumerate(groups):
            load_buses = tuple(sorted(b for b in part if b in loads))
            if not load_buses:
                continue
            feeders.append(
                Feeder(
                    id=f"{lv_name}/f{k + 1}",
                    lv_network=lv_name,
                    trafo=int(trafo),
                    load_buses=load_buses,
                    buses=tuple(sorted(part | {busbar})),
                    lines=tuple(sorted(set(lines))),
                )
            )
    return tuple(feeders)


def feeders_by_id(feeders: Sequence[Feeder]) -> dict[str, Feeder]:
    """``{feeder id: feeder}``."""
    return {f.id: f for f in feeders}
